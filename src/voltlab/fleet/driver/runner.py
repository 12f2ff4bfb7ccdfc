"""StationRunner: one virtual charging station at work, the thin asyncio driver under its
`StationMachine`. It joins the station model, the machine, the version's codec and the link:
CSMS requests and gateway commands go into the machine as events, and the runner executes the
effects that come out (calls, answers, timers, writes)."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from voltlab.clock import Clock, TimerHandle
from voltlab.fleet.codecs.station_codec import codec_for
from voltlab.fleet.driver.findings import Record, StationFindings
from voltlab.fleet.driver.link import StationLink
from voltlab.fleet.driver.maintenance_control import StationMaintenance
from voltlab.fleet.driver.offline_queue import OfflineQueue
from voltlab.fleet.driver.runner_effects import TRANSPORT_ERRORS, MachineDriver
from voltlab.fleet.driver.runner_offline import OfflineMessages, QueuedTransactions
from voltlab.fleet.driver.runner_registration import RegistrationDriver
from voltlab.fleet.driver.state_view import live_state, stored_state
from voltlab.fleet.machine.control_messages import Reset, Unlock, UnlockAnswer
from voltlab.fleet.machine.events import Restored
from voltlab.fleet.machine.flows.cable import choose_remote_connector
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import AuthorizationDecision, AuthorizeIdTag
from voltlab.fleet.machine.session_messages import (
    EndSession,
    PlugIn,
    RecheckLimits,
    RemoteStart,
    ReportStatuses,
    SessionCommand,
    SessionResult,
    StartTransaction,
    StopTransaction,
    Unplug,
)
from voltlab.fleet.machine.settings import settings_for
from voltlab.fleet.model.catalog import ChargerModel
from voltlab.fleet.model.ev import ElectricVehicle
from voltlab.fleet.model.smart_charging import ChargingProfile
from voltlab.fleet.model.station import Station, StationError, Transaction
from voltlab.ocpp.findings import Observation

log = logging.getLogger(__name__)

FrameLog = Callable[[str, int], Coroutine[Any, Any, list[tuple[float, str, str]]]]
# An awaitable write of one charger's snapshot, now (`persist`).
SnapshotWrite = Callable[[str], Awaitable[None]]


def _ignore(_observation: Observation) -> None:
    """No recorder (a runner in a test): findings go nowhere."""


class StoredMeter(Protocol):
    """Where a meter reading becomes durable: the regular flush of the station's snapshot
    (`persistence.FleetWriter`)."""

    def settle_mark(self, charger_id: str) -> int: ...

    def stored_since(self, mark: int) -> bool: ...

    async def settled_since(self, mark: int) -> None: ...


class StationRunner(OfflineMessages, MachineDriver, RegistrationDriver):
    def __init__(
        self,
        *,
        charger_id: str,
        identity: str,
        model: ChargerModel,
        csms_url: str,
        version: str,
        security: dict[str, Any] | None,
        clock: Clock,
        on_frame: Callable[[str, str, str], None],
        on_change: Callable[[str], None],
        snapshot: dict[str, Any] | None = None,
        queue: OfflineQueue | None = None,
        frame_log: FrameLog | None = None,
        connect_gate: asyncio.Semaphore | None = None,
        persist: SnapshotWrite | None = None,
        stored_meter: StoredMeter | None = None,
        on_finding: Record | None = None,
        slow_answer_s: float = 2.0,
    ) -> None:
        self.charger_id = charger_id
        self.clock = clock
        self.version = version
        self._on_change = on_change
        self._persist = persist
        self._stored_meter = stored_meter
        config = (snapshot or {}).get("config")
        self.station = Station(identity, model, config=config, seed=zlib.crc32(charger_id.encode()))
        self._restored = bool(snapshot)
        if snapshot:
            self.station.restore(snapshot)
        self.codec = codec_for(version)
        # The station's behaviour as events in, effects out (docs/station-machine.md).
        self.machine = StationMachine(self.station, settings_for(version))
        # Rules about the CSMS (ocpp/findings.py); the link reads the exchange lazily.
        self.findings = StationFindings(
            on_finding or _ignore, lambda: self.link.last_exchange(), slow_answer_s
        )
        self.link = StationLink(
            identity=identity,
            csms_url=csms_url,
            version=version,
            security=security,
            handler=self.handle_request,
            supported_actions=frozenset(self.codec.requests),
            clock=clock,
            on_frame=self._frame,
            on_connected=self.link_connected,
            on_disconnected=self.link_disconnected,
            on_state=self.changed,
            registered=lambda: self.machine.online,
            connect_gate=connect_gate,
            observer=self.findings,
        )
        self._on_frame = on_frame
        # The stored frame log (newest `limit` frames, oldest first), for diagnostics uploads.
        self.frame_log = frame_log
        # Transaction messages that could not be delivered, kept in order across restarts.
        self.queue = queue
        self._draining: asyncio.Task[Any] | None = None
        self._queue_empty: bool | None = None  # None: not counted yet
        self.queued_transactions = QueuedTransactions()
        self.maintenance = StationMaintenance(self)
        self.maintenance.restore((snapshot or {}).get("maintenance") or {})
        self._timers: dict[str, TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _frame(self, direction: str, text: str) -> None:
        self.maintenance.frame(direction, text)
        self._on_frame(self.charger_id, direction, text)

    @property
    def identity(self) -> str:
        return self.station.identity

    def now(self) -> float:
        return self.clock.now()

    def changed(self) -> None:
        self._on_change(self.charger_id)

    async def write_ahead(self) -> None:
        """Store the station's state now, before a frame that announces a transaction's start
        or end is sent: after a crash the station neither repeats nor invents one."""
        if self._persist is not None:
            await self._persist(self.charger_id)
        else:
            self.changed()

    def meter_mark(self) -> int | None:
        """Where the store stands now, for a reading just taken (see `meter_settled`)."""
        if self._stored_meter is None:
            return None
        return self._stored_meter.settle_mark(self.charger_id)

    async def meter_settled(self, mark: int | None = None) -> None:
        """Wait until the stored meter register is at least the one about to be sent: until a
        regular flush that started after `mark` (taken when the reading was; now if None)
        ended. No write of its own, so a restart never closes a transaction below a meter
        value the CSMS saw; readings a flush covered already wait for nothing."""
        store = self._stored_meter
        if store is None:
            self.changed()
            return
        if mark is None:
            mark = store.settle_mark(self.charger_id)
        if not store.stored_since(mark):
            await store.settled_since(mark)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def defer(self, factory: Callable[[], Coroutine[Any, Any, Any]]) -> Callable[[], None]:
        """A post-reply action that runs as the station's own task, so closing the connection
        (as Reset does) cannot cancel it halfway."""

        def start() -> None:
            self.spawn(factory())

        return start

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, (StationError, *TRANSPORT_ERRORS)):
                log.error("%s: background task failed", self.identity, exc_info=exc)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._restored:
            # What ran on the machine's timers before the restart runs again (`Restored`).
            self.spawn(self.execute(self.feed(Restored())))
        self.link.start()

    async def stop(self, close_code: int = 1000) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._outbox = None  # with the sender cancelled below: what the timers left is dropped
        for task in list(self._tasks):
            task.cancel()
        await self.link.stop(close_code)
        self.station.registration = None
        self.changed()

    # -- timers -------------------------------------------------------------------------------

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    # -- status -------------------------------------------------------------------------------

    async def publish_status(self) -> None:
        """Send a StatusNotification for every connector whose status changed."""
        await self.run_command(ReportStatuses())

    def require_online(self) -> None:
        if not self.link.online:
            registration = self.machine.registration.status
            raise StationError(
                "not_connected",
                f"{self.identity} is not connected and accepted by its CSMS "
                f"(connection {self.link.connection}, registration {registration})",
            )

    # -- authorization ------------------------------------------------------------------------

    async def authorize(self, id_tag: str) -> AuthorizationDecision:
        """Local list, then cache, then Authorize at the CSMS, as the configuration allows."""
        decision = await self.run_command(AuthorizeIdTag(id_tag))
        assert isinstance(decision, AuthorizationDecision)
        return decision

    # -- sessions: machine flows (machine/flows/sessions.py, cable.py, metering.py) ------------

    async def _session(self, command: SessionCommand) -> Transaction | None:
        result = await self.run_command(command)
        assert isinstance(result, SessionResult)
        return result.transaction

    async def start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        *,
        parent_id_tag: str | None = None,
        duration_limit_s: float | None = None,
        energy_limit_wh: float | None = None,
        remote_start_id: int | None = None,
    ) -> Transaction:
        command = StartTransaction(
            connector_id,
            id_tag,
            parent_id_tag=parent_id_tag,
            duration_limit_s=duration_limit_s,
            energy_limit_wh=energy_limit_wh,
            remote_start_id=remote_start_id,
        )
        tx = await self._session(command)
        assert tx is not None
        return tx

    async def stop_transaction(
        self, connector_id: int, reason: str, id_tag: str | None = None
    ) -> Transaction:
        tx = await self._session(StopTransaction(connector_id, reason, id_tag))
        assert tx is not None
        return tx

    async def end_session(self, connector_id: int, reason: str) -> Transaction | None:
        """Stop the transaction (if any) and take the cable out."""
        return await self._session(EndSession(connector_id, reason))

    async def plug(self, connector_id: int, ev: ElectricVehicle | None = None) -> None:
        await self._session(PlugIn(connector_id, ev))

    async def unplug(self, connector_id: int) -> Transaction | None:
        return await self._session(Unplug(connector_id))

    def ev_power_changed(self, connector_id: int) -> None:
        self.spawn(self._session(RecheckLimits()))

    def choose_remote_connector(self, connector_id: int | None, id_tag: str) -> int | None:
        """The connector a RemoteStart would use, or None to reject it."""
        return choose_remote_connector(self.machine.context, connector_id, id_tag)

    async def remote_start(
        self,
        connector_id: int,
        id_tag: str,
        remote_start_id: int | None,
        profile: ChargingProfile | None = None,
    ) -> None:
        await self._session(RemoteStart(connector_id, id_tag, remote_start_id, profile))

    async def reset(self, hard: bool, boot_reason: str = "RemoteReset") -> None:
        await self.run_command(Reset(hard, boot_reason))

    async def unlock(self, connector_id: int) -> str:
        answer = await self.run_command(Unlock(connector_id))
        assert isinstance(answer, UnlockAnswer)
        return answer.status

    # -- live state ---------------------------------------------------------------------------

    def live_state(self) -> dict[str, Any]:
        return live_state(self)

    def stored_state(self) -> dict[str, Any]:
        """The part of the live state the store keeps with every snapshot (cheaper)."""
        return stored_state(self)
