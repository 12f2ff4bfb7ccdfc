"""The driver's side of registration: the link's connections as `Connected` / `Disconnected`
events, the gateway's configuration changes and resets as machine events, and the delivery
of the offline queue once the machine says the CSMS accepted the station (`Registered`), after
which the machine does the rest (`QueueDelivered`) (docs/station-machine.md, step 3)."""

from __future__ import annotations

import asyncio
from typing import Any

from voltlab.fleet.driver.effects import MachineDriver
from voltlab.fleet.driver.link import StationLink
from voltlab.fleet.driver.offline_delivery import OfflineDelivery
from voltlab.fleet.driver.station_tasks import StationTasks
from voltlab.fleet.machine.events import (
    ConfigurationChanged,
    Connected,
    ConnectFailed,
    Disconnected,
    QueueDelivered,
    Rebooting,
)
from voltlab.fleet.model.station import Station


class RegistrationFollowUp:
    """The link's connection events and what follows a registration (the driver's
    `RegistrationEffects`)."""

    __slots__ = ("_driver", "_link", "_offline", "_tasks", "_station", "_after_registration")

    def __init__(
        self,
        *,
        driver: MachineDriver,
        link: StationLink,
        offline: OfflineDelivery,
        tasks: StationTasks,
        station: Station,
    ) -> None:
        self._driver = driver
        self._link = link
        self._offline = offline
        self._tasks = tasks
        self._station = station
        self._after_registration: asyncio.Task[Any] | None = None

    def link_connected(self) -> None:
        """A new connection: the machine boots on it (its calls need the reading loop the
        link runs next, so they run as the station's own task)."""
        driver = self._driver
        self._tasks.spawn(driver.execute(driver.feed(Connected())))

    def link_disconnected(self) -> None:
        # What followed the registration on the lost connection stops with it, as the
        # CALLs it would make can no longer be answered there.
        if self._after_registration is not None:
            self._after_registration.cancel()
            self._after_registration = None
        driver = self._driver
        for effect in driver.feed(Disconnected()):
            driver.execute_at_once(effect)  # timers and write-behind only

    def link_connect_failed(self) -> None:
        """An attempt to connect failed: the machine may choose another network profile for
        the next one (timers, write-behind and the link's settings only)."""
        driver = self._driver
        for effect in driver.feed(ConnectFailed()):
            driver.execute_at_once(effect)

    def registration_accepted(self) -> None:
        """The machine's `Registered`: deliver what was queued offline, then the machine does
        the rest of what follows a registration (`QueueDelivered`), as a task of its own that
        a lost connection cancels (`link_disconnected`): its CALLs could not be answered. Not
        in the task that ran the boot: a boot retried on its timer runs in the station's
        outbox, which must neither wait for the queue's slow drain nor be cancelled."""
        task = self._after_registration = self._tasks.spawn(self._deliver_queue_then_follow())
        task.add_done_callback(self._registration_work_done)

    async def _deliver_queue_then_follow(self) -> None:
        self._station.registration = "Accepted"
        await self._offline.drain_queue()
        driver = self._driver
        await driver.execute(driver.feed(QueueDelivered()))

    def _registration_work_done(self, task: asyncio.Task[Any]) -> None:
        if self._after_registration is task:
            self._after_registration = None  # a finished task is not kept per station

    def configuration_changed(self, key: str) -> None:
        """The gateway's configuration command changed `key` (the CSMS's changes are
        requests the machine handles itself)."""
        driver = self._driver
        for effect in driver.feed(ConfigurationChanged(key)):
            driver.execute_at_once(effect)  # timers only

    async def reboot(self, reason: str) -> None:
        """Reset: close the connection and connect again at once; the next BootNotification
        gives `reason`."""
        driver = self._driver
        for effect in driver.feed(Rebooting(reason)):
            driver.execute_at_once(effect)
        await self._link.restart()
