"""The driver's side of registration: the link's connections as `Connected` / `Disconnected`
events, the gateway's configuration changes and resets as machine events, and the delivery
of the offline queue once the machine says the CSMS accepted the station (`Registered`), after
which the machine does the rest (`QueueDelivered`).
`StationRunner` mixes this in (docs/station-machine.md, migration step 3)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from voltlab.fleet.machine.events import (
    ConfigurationChanged,
    Connected,
    Disconnected,
    QueueDelivered,
    Rebooting,
)

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner


class RegistrationDriver:
    _after_registration: asyncio.Task[Any] | None = None

    def link_connected(self: StationRunner) -> None:
        """A new connection: the machine boots on it (its calls need the reading loop the
        link runs next, so they run as the station's own task)."""
        self.spawn(self.execute(self.feed(Connected())))

    def link_disconnected(self: StationRunner) -> None:
        # What followed the registration on the lost connection stops with it, as the
        # CALLs it would make can no longer be answered there.
        if self._after_registration is not None:
            self._after_registration.cancel()
            self._after_registration = None
        for effect in self.feed(Disconnected()):
            self._execute_at_once(effect)  # timers and write-behind only

    def registration_accepted(self: StationRunner) -> None:
        """The machine's `Registered`: deliver what was queued offline, then the machine does
        the rest of what follows a registration (`QueueDelivered`), as a task of its own that
        a lost connection cancels (`link_disconnected`): its CALLs could not be answered. Not
        in the task that ran the boot: a boot retried on its timer runs in the station's
        outbox, which must neither wait for the queue's slow drain nor be cancelled."""
        task = self._after_registration = self.spawn(self._deliver_queue_then_follow())
        task.add_done_callback(self._registration_work_done)

    async def _deliver_queue_then_follow(self: StationRunner) -> None:
        self.station.registration = "Accepted"
        await self.drain_queue()
        await self.execute(self.feed(QueueDelivered()))

    def _registration_work_done(self: StationRunner, task: asyncio.Task[Any]) -> None:
        if self._after_registration is task:
            self._after_registration = None  # a finished task is not kept per station

    def configuration_changed(self: StationRunner, key: str) -> None:
        """The gateway's configuration command changed `key` (the CSMS's changes are
        requests the machine handles itself)."""
        for effect in self.feed(ConfigurationChanged(key)):
            self._execute_at_once(effect)  # timers only

    async def reboot(self: StationRunner, reason: str) -> None:
        """Reset: close the connection and connect again at once; the next BootNotification
        gives `reason`."""
        for effect in self.feed(Rebooting(reason)):
            self._execute_at_once(effect)
        await self.link.restart()
