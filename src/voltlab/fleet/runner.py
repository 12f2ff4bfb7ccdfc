"""StationRunner: one virtual charging station at work. It joins the station model, a version
adapter and the link, and runs the version-neutral flows (authorize, start, sample, stop, remote
start, reset, ...). Adapters call into these flows; so do the gateway commands."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from voltlab.clock import Clock, TimerHandle
from voltlab.fleet.auth import IdTagInfo
from voltlab.fleet.catalog import ChargerModel
from voltlab.fleet.charging_control import install_profile
from voltlab.fleet.ev import ElectricVehicle
from voltlab.fleet.link import NotConnected, StationLink
from voltlab.fleet.machine.machine import MachineSettings, StationMachine
from voltlab.fleet.machine.messages import AuthorizationDecision, AuthorizeIdTag
from voltlab.fleet.maintenance_control import StationMaintenance
from voltlab.fleet.offline_queue import OfflineQueue
from voltlab.fleet.runner_effects import TRANSPORT_ERRORS, MachineDriver
from voltlab.fleet.runner_offline import OfflineMessages
from voltlab.fleet.runner_registration import RegistrationDriver
from voltlab.fleet.smart_charging import ChargingProfile
from voltlab.fleet.station import MeterReading, Station, StationError, Transaction

log = logging.getLogger(__name__)

FrameLog = Callable[[str, int], Coroutine[Any, Any, list[tuple[float, str, str]]]]
# Awaitable writes of one charger's snapshot: now (`persist`) or with the next flush (`settled`).
SnapshotWrite = Callable[[str], Awaitable[None]]


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
        settled: SnapshotWrite | None = None,
    ) -> None:
        from voltlab.fleet.adapters import adapter_for  # adapters import this module's types

        self.charger_id = charger_id
        self.clock = clock
        self.version = version
        self._on_change = on_change
        self._persist = persist
        self._settled = settled
        config = (snapshot or {}).get("config")
        self.station = Station(identity, model, config=config, seed=zlib.crc32(charger_id.encode()))
        if snapshot:
            self.station.restore(snapshot)
        self.adapter = adapter_for(version, self)
        # The station's behaviour as events in, effects out (so far: reservations, the local
        # list, the authorization cache, DataTransfer).
        self.machine = StationMachine(
            self.station,
            MachineSettings(
                reports_reservation_ends=self.adapter.reports_reservation_ends,
                hides_disabled_local_list=self.adapter.hides_disabled_local_list,
                clear_cache_needs_enabled_cache=self.adapter.clear_cache_needs_enabled_cache,
            ),
        )
        self.link = StationLink(
            identity=identity,
            csms_url=csms_url,
            version=version,
            security=security,
            adapter=self.adapter,
            clock=clock,
            on_frame=self._frame,
            on_connected=self.link_connected,
            on_disconnected=self.link_disconnected,
            on_state=self.changed,
            registered=lambda: self.machine.online,
            connect_gate=connect_gate,
        )
        self._on_frame = on_frame
        # The stored frame log (newest `limit` frames, oldest first), for diagnostics uploads.
        self.frame_log = frame_log
        # Transaction messages that could not be delivered, kept in order across restarts.
        self.queue = queue
        self._draining: asyncio.Task[Any] | None = None
        self._queue_empty: bool | None = None  # None: not counted yet
        self.maintenance = StationMaintenance(self)
        self.maintenance.restore((snapshot or {}).get("maintenance") or {})
        self._timers: dict[str, TimerHandle] = {}
        self._limit_deadlines: dict[str, float] = {}  # simulated instants the limit timers fire
        self._tasks: set[asyncio.Task[Any]] = set()
        self._begin_readings: dict[int, MeterReading] = {}
        # connector -> (id_tag, parent, remote_start_id) waiting for a cable after RemoteStart
        self._awaiting_cable: dict[int, tuple[str, str | None, int | None]] = {}
        self._status_lock = asyncio.Lock()
        # 2.x Reset OnIdle during a transaction: reset once the last one ends.
        self.reset_when_idle = False
        self._pending_profiles: dict[int, ChargingProfile] = {}

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

    async def meter_settled(self) -> None:
        """Wait until the stored meter register is at least the one about to be sent (the next
        regular flush; no write of its own), so a restart never closes a transaction below a
        meter value the CSMS saw."""
        if self._settled is not None:
            await self._settled(self.charger_id)
        else:
            self.changed()

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
        self.link.start()

    async def stop(self, close_code: int = 1000) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await self.link.stop(close_code)
        self.station.registration = None
        self.changed()

    async def _registered(self) -> None:
        self.station.registration = "Accepted"
        self.station.forget_reported_status()
        self.adapter.forget_statuses()
        await self.drain_queue()
        await self._close_interrupted()
        await self.publish_status()
        for tx in self.station.transactions():
            self._schedule_sampling(tx.connector_id)
            self._schedule_limit(tx)

    async def _close_interrupted(self) -> None:
        """Close the transactions a crash or restart left open with PowerLoss at the stored
        register (never below a meter value sent: see `meter_settled`). A StartTransaction
        whose answer was not stored (1.6 learns the id from it) is announced again first, as
        a transaction message is delivered at least once."""
        while self.station.interrupted:
            tx = self.station.interrupted[0]
            if tx.transaction_id is None:
                begin = self.station.reading(tx.connector_id, tx.started_at)
                begin.timestamp, begin.register_wh = tx.started_at, tx.meter_start_wh
                try:
                    await self.adapter.start_transaction(tx, begin)
                except TRANSPORT_ERRORS as exc:
                    log.warning("%s: interrupted transaction not announced: %s", self.identity, exc)
                    return
            now = self.now()
            tx.stopped_at, tx.stop_reason = now, "PowerLoss"
            reading = self.station.reading(tx.connector_id, now)
            tx.meter_stop_wh = reading.register_wh
            # Off the list before the stop is written ahead and sent: sent once, never again.
            self.station.interrupted.pop(0)
            try:
                await self.adapter.stop_transaction(tx, reading, None)
            except NotConnected as exc:  # certainly not sent: keep it for the next connection
                self.station.interrupted.insert(0, tx)
                self.changed()
                log.warning("%s: interrupted transaction not closed yet: %s", self.identity, exc)
                return
            except TRANSPORT_ERRORS as exc:
                log.warning("%s: PowerLoss stop not delivered: %s", self.identity, exc)
            self.changed()

    # -- timers -------------------------------------------------------------------------------

    def _set_timer(
        self, name: str, delay: float, action: Callable[[], Coroutine[Any, Any, Any]]
    ) -> None:
        self._cancel_timer(name)

        def fire() -> None:
            self._timers.pop(name, None)
            self.spawn(action())

        self._timers[name] = self.clock.call_later(max(0.0, delay), fire)

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    # -- status -------------------------------------------------------------------------------

    async def publish_status(self) -> None:
        """Send a StatusNotification for every connector whose status changed."""
        self.station.advance(self.now())
        self.changed()
        if not self.link.online:
            return
        async with self._status_lock:
            for change in self.station.status_changes():
                try:
                    await self.adapter.send_status(change)
                except TRANSPORT_ERRORS as exc:
                    log.debug("%s: status not sent: %s", self.identity, exc)
                    self.station.forget_reported_status()
                    return

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

    def learn(self, id_tag: str, info: IdTagInfo) -> None:
        if self.station.config.get_bool("AuthorizationCacheEnabled"):
            self.station.auth_cache.learn(id_tag, info)
            self.changed()

    # -- transactions -------------------------------------------------------------------------

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
        """Start charging for `id_tag`: a new transaction, or (2.x, TxStartPoint EVConnected)
        the one the cable already opened, which now gets its id tag. Offline, the station
        starts only for an id tag it may authorize locally; its messages are queued."""
        if not self.link.online and not self.may_start_offline(id_tag):
            self.require_online()
        station = self.station
        open_tx = station.connector(connector_id).transaction
        if open_tx is not None and open_tx.id_tag is None:
            station.authorize_transaction(open_tx, id_tag, parent_id_tag, self.now())
            open_tx.duration_limit_s = duration_limit_s
            open_tx.energy_limit_wh = energy_limit_wh
            open_tx.remote_start_id = remote_start_id
            reading = station.reading(connector_id, self.now())
            try:
                info = await self.adapter.authorize_transaction(open_tx, reading)
            except TRANSPORT_ERRORS as exc:
                open_tx.id_tag = None
                raise StationError(
                    "csms_error", f"authorizing the transaction failed: {exc}"
                ) from exc
            return await self._confirmed(open_tx, info)
        tx = station.begin_transaction(
            connector_id,
            id_tag,
            self.now(),
            parent_id_tag=parent_id_tag,
            duration_limit_s=duration_limit_s,
            energy_limit_wh=energy_limit_wh,
            remote_start_id=remote_start_id,
        )
        info = await self._announce(tx)
        return await self._confirmed(tx, info)

    async def _announce(self, tx: Transaction) -> IdTagInfo | None:
        """Tell the CSMS a transaction began; undo it on the station if the CSMS never got it."""
        station = self.station
        begin = station.reading(tx.connector_id, tx.started_at)
        self._begin_readings[tx.local_id] = begin
        try:
            return await self.adapter.start_transaction(tx, begin)
        except TRANSPORT_ERRORS as exc:
            station.connector(tx.connector_id).transaction = None
            station.recompute_power()
            self.changed()
            await self.publish_status()
            raise StationError("csms_error", f"starting the transaction failed: {exc}") from exc

    async def _confirmed(self, tx: Transaction, info: IdTagInfo | None) -> Transaction:
        """The CSMS's view of the id tag decides whether energy flows."""
        station = self.station
        if tx.id_tag is not None and info is not None:
            self.learn(tx.id_tag, info)
        if info is not None and info.status != "Accepted":
            if station.config.get_bool("StopTransactionOnInvalidId"):
                await self.stop_transaction(tx.connector_id, "DeAuthorized")
                return tx
            station.deauthorize(tx, self.now())
        station.confirm(tx, self.now())
        pending = self._pending_profiles.pop(tx.connector_id, None)
        if pending is not None:
            install_profile(self, tx.connector_id, pending)
        self._schedule_sampling(tx.connector_id)
        self._schedule_limit(tx)
        await self.publish_status()
        return tx

    async def open_on_plug(self, connector_id: int) -> Transaction:
        """2.x with TxStartPoint EVConnected: the cable opens the transaction; energy waits
        for authorization."""
        tx = self.station.begin_transaction(connector_id, None, self.now())
        await self._announce(tx)
        self._schedule_sampling(connector_id)
        await self.publish_status()
        return tx

    async def stop_transaction(
        self, connector_id: int, reason: str, id_tag: str | None = None
    ) -> Transaction:
        tx = self.station.end_transaction(connector_id, self.now(), reason)
        self._cancel_timer(f"sample:{connector_id}")
        self._cancel_timer(f"limit:{connector_id}")
        reading = self.station.reading(connector_id, tx.stopped_at or self.now())
        begin = self._begin_readings.pop(tx.local_id, None)
        if id_tag is not None:
            tx.id_tag = id_tag
        try:
            info = await self.adapter.stop_transaction(tx, reading, begin)
        except TRANSPORT_ERRORS as exc:
            log.warning("%s: StopTransaction not delivered: %s", self.identity, exc)
            info = None
        if info is not None and tx.id_tag is not None:
            self.learn(tx.id_tag, info)
        await self.publish_status()
        if self.reset_when_idle and not self.station.transactions():
            self.reset_when_idle = False
            self.spawn(self.reset(True))
        return tx

    async def end_session(self, connector_id: int, reason: str) -> Transaction | None:
        """Stop the transaction (if any) and take the cable out."""
        conn = self.station.connector(connector_id)
        tx = None
        if conn.transaction is not None:
            tx = await self.stop_transaction(connector_id, reason)
        if conn.plugged:
            self.station.unplug(connector_id, self.now())
        self._awaiting_cable.pop(connector_id, None)
        await self.publish_status()
        return tx

    # -- meter sampling and limits ------------------------------------------------------------

    def _schedule_sampling(self, connector_id: int) -> None:
        interval = self.station.config.get_int("MeterValueSampleInterval")
        if interval > 0:
            self._set_timer(f"sample:{connector_id}", interval, lambda: self._sample(connector_id))

    async def _sample(self, connector_id: int) -> None:
        conn = self.station.connector(connector_id)
        tx = conn.transaction
        if tx is None:
            return
        self._schedule_sampling(connector_id)
        now = self.now()
        self.station.advance(now)
        reading = self.station.reading(connector_id, now)
        await self.meter_settled()
        if conn.transaction is not tx:
            return  # stopped meanwhile: its StopTransaction carries a later register
        try:
            # Offline, the transaction's meter values are queued with its other messages.
            await self.adapter.meter_values(connector_id, tx, reading, "Sample.Periodic")
        except TRANSPORT_ERRORS as exc:
            log.debug("%s: MeterValues not sent: %s", self.identity, exc)
        self._schedule_limit(tx)
        await self.publish_status()

    async def send_meter_sample(self, connector_id: int, context: str) -> None:
        self.station.advance(self.now())
        reading = self.station.reading(connector_id, self.now())
        tx = self.station.connector(connector_id).transaction
        if tx is not None:
            await self.meter_settled()
            if self.station.connector(connector_id).transaction is not tx:
                return
        await self.adapter.meter_values(connector_id, tx, reading, context)

    def _schedule_limit(self, tx: Transaction) -> None:
        """Arm one timer at the instant the duration or energy limit is reached."""
        waits: list[float] = []
        now = self.now()
        if tx.duration_limit_s is not None:
            waits.append(tx.started_at + tx.duration_limit_s - now)
        to_energy = self.station.seconds_to_energy(tx)
        if to_energy is not None:
            waits.append(to_energy)
        name = f"limit:{tx.connector_id}"
        if not waits:
            self._cancel_timer(name)
            return
        wait = max(0.0, min(waits))
        # Re-checked after every sample: keep the armed timer when the instant has not moved.
        deadline = now + wait
        if name in self._timers and abs(self._limit_deadlines.get(name, -1.0) - deadline) < 1e-3:
            return
        self._limit_deadlines[name] = deadline
        self._set_timer(name, wait, lambda: self._limit_due(tx))

    async def _limit_due(self, tx: Transaction) -> None:
        conn = self.station.connector(tx.connector_id)
        if conn.transaction is not tx:
            return
        self.station.advance(self.now())
        now = self.now()
        duration_hit = (
            tx.duration_limit_s is not None and now - tx.started_at >= tx.duration_limit_s - 1e-6
        )
        left = self.station.seconds_to_energy(tx)
        energy_hit = left is not None and left <= 1e-3
        if not (duration_hit or energy_hit):
            self._schedule_limit(tx)  # power changed since the timer was armed
            return
        # Neutral reasons; the 1.6 adapter says Local, 2.x the precise limit.
        await self.end_session(
            tx.connector_id, "EnergyLimitReached" if energy_hit else "TimeLimitReached"
        )

    def ev_power_changed(self, connector_id: int) -> None:
        tx = self.station.connector(connector_id).transaction
        if tx is not None:
            self._schedule_limit(tx)

    # -- cable --------------------------------------------------------------------------------

    async def plug(self, connector_id: int, ev: ElectricVehicle | None = None) -> None:
        self.station.plug(connector_id, self.now(), ev=ev)
        self._cancel_timer(f"cable:{connector_id}")
        await self.publish_status()
        if self.link.online and self.adapter.opens_transaction_on_plug():
            await self.open_on_plug(connector_id)
        waiting = self._awaiting_cable.pop(connector_id, None)
        if waiting is not None:
            id_tag, parent, remote_start_id = waiting
            self.station.set_preparing(connector_id, False)
            await self.start_transaction(
                connector_id, id_tag, parent_id_tag=parent, remote_start_id=remote_start_id
            )

    async def unplug(self, connector_id: int) -> Transaction | None:
        conn = self.station.connector(connector_id)
        if not conn.plugged:
            raise StationError("not_plugged", f"connector {connector_id} has no cable")
        tx = None
        if conn.transaction is not None:
            if self.adapter.stops_transaction_on_unplug():
                tx = await self.stop_transaction(connector_id, "EVDisconnected")
            else:
                # The transaction stays open without an EV: the EVSE suspends.
                self.station.set_ev_demand(connector_id, self.now(), wants_energy=False)
                await self.publish_status()
                return None
        self.station.unplug(connector_id, self.now())
        await self.publish_status()
        return tx

    # -- CSMS-initiated flows (called by adapters) --------------------------------------------

    def choose_remote_connector(self, connector_id: int | None, id_tag: str) -> int | None:
        """The connector a RemoteStart would use, or None to reject it."""
        candidates = (
            [connector_id]
            if connector_id
            else sorted(
                self.station.connectors, key=lambda c: not self.station.connectors[c].plugged
            )
        )
        for candidate in candidates:
            try:
                self.station.check_can_start(candidate, id_tag, None)
            except StationError:
                continue
            if candidate in self._awaiting_cable:
                continue
            return candidate
        return None

    async def remote_start(
        self,
        connector_id: int,
        id_tag: str,
        remote_start_id: int | None,
        profile: ChargingProfile | None = None,
    ) -> None:
        parent = None
        if self.station.config.get_bool("AuthorizeRemoteTxRequests"):
            decision = await self.authorize(id_tag)
            if not decision.accepted:
                return
            parent = decision.info.parent_id_tag
        if profile is not None:
            # A TxProfile sent with the remote start applies once the transaction exists.
            self._pending_profiles[connector_id] = profile
        conn = self.station.connector(connector_id)
        if conn.plugged:
            await self.start_transaction(
                connector_id, id_tag, parent_id_tag=parent, remote_start_id=remote_start_id
            )
            return
        # No cable yet: the connector waits for one for ConnectionTimeOut seconds.
        self._awaiting_cable[connector_id] = (id_tag, parent, remote_start_id)
        self.station.set_preparing(connector_id, True)
        await self.publish_status()
        timeout = self.station.config.get_int("ConnectionTimeOut")
        self._set_timer(f"cable:{connector_id}", timeout, lambda: self._cable_timeout(connector_id))

    async def _cable_timeout(self, connector_id: int) -> None:
        if self._awaiting_cable.pop(connector_id, None) is not None:
            self.station.set_preparing(connector_id, False)
            await self.publish_status()

    async def reset(self, hard: bool) -> None:
        reason = "HardReset" if hard else "SoftReset"
        await self.maintenance.security_event("ResetOrReboot", f"{reason} requested")
        for tx in self.station.transactions():
            await self.stop_transaction(tx.connector_id, reason)
        for connector_id in list(self._awaiting_cable):
            await self._cable_timeout(connector_id)
        self.station.registration = None
        await self.reboot("RemoteReset")

    async def unlock(self, connector_id: int) -> str:
        conn = self.station.connector(connector_id)
        if conn.fault is not None and conn.fault.fault_type == "ConnectorLockFailure":
            return "UnlockFailed"
        if conn.transaction is not None:
            await self.stop_transaction(connector_id, "UnlockCommand")
        conn.locked = False
        self.changed()
        return "Unlocked"

    # -- live state ---------------------------------------------------------------------------

    def live_state(self) -> dict[str, Any]:
        from voltlab.fleet.state_view import live_state

        return live_state(self)
