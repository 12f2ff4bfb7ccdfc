"""StationRunner: one virtual charging station at work, the thin asyncio driver under its
`StationMachine` (in the spirit of `websockets`' asyncio connection over its protocol). It
builds the station's parts and joins them, each taking the collaborators it calls:

- `MachineDriver` (effects.py) feeds the machine events and executes its effects: CSMS
  requests answered, calls sent, timers, the outbox of what timers start;
- `OfflineDelivery` (offline_delivery.py) delivers transaction messages in order, queues them
  while the CSMS is away and drains the queue;
- `RegistrationFollowUp` (registration.py) turns the link's connections into events and
  delivers the queue once the CSMS accepts the station;
- `StationMaintenance` (maintenance_control.py) runs transfers and keeps recent frames;
- `StationLink` (the socket), `StationTasks`, `StationWrites`, `StationFindings`.

The runner's own methods are what the hosting layer and the gateway call: start and stop,
the session commands, the live state."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any

from voltlab.clock import Clock, wall_time
from voltlab.fleet.codecs.station_codec import codec_for
from voltlab.fleet.driver.effects import MachineDriver
from voltlab.fleet.driver.findings import Record, StationFindings
from voltlab.fleet.driver.link import StationLink
from voltlab.fleet.driver.maintenance_control import FrameLog, StationMaintenance
from voltlab.fleet.driver.offline_delivery import OfflineDelivery
from voltlab.fleet.driver.offline_queue import OfflineQueue
from voltlab.fleet.driver.registration import RegistrationFollowUp
from voltlab.fleet.driver.security import security_profile
from voltlab.fleet.driver.state_view import live_state, status_view, stored_state
from voltlab.fleet.driver.station_metrics import StationMetrics
from voltlab.fleet.driver.station_tasks import StationTasks
from voltlab.fleet.driver.writes import SnapshotWrite, StationWrites, StoredMeter
from voltlab.fleet.machine.context import ConnectionSecurity
from voltlab.fleet.machine.control_messages import Reset, Unlock, UnlockAnswer
from voltlab.fleet.machine.events import Restored
from voltlab.fleet.machine.flows.cable import choose_remote_connector
from voltlab.fleet.machine.flows.network_profiles import use_slot
from voltlab.fleet.machine.flows.security_profile import KEY as PROFILE_KEY
from voltlab.fleet.machine.flows.sessions import may_start_offline
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
from voltlab.fleet.model.network_profiles import CONFIGURED_SLOT
from voltlab.fleet.model.smart_charging import ChargingProfile
from voltlab.fleet.model.station import Station, StationError, Transaction
from voltlab.fleet.model.station_state import restore_station
from voltlab.ocpp.findings import Observation


def _ignore(_observation: Observation) -> None:
    """No recorder (a runner in a test): findings go nowhere."""


class StationRunner:
    # A fleet hosts thousands: no per-instance dict.
    __slots__ = (
        "charger_id",
        "clock",
        "version",
        "station",
        "machine",
        "tasks",
        "writes",
        "findings",
        "link",
        "driver",
        "offline",
        "maintenance",
        "registration",
        "_restored",
        "_on_frame",
    )

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
        continue_transactions: bool = False,
        may_send: Callable[[], bool] | None = None,
        metrics: StationMetrics | None = None,
    ) -> None:
        """`continue_transactions`: the snapshot's running transactions run on (a cluster's
        takeover) instead of closing with PowerLoss (a restart); `may_send`: the hosting
        process's lease, checked before every frame (see `StationLink`); `metrics`: the
        fleet's counts of frames and answer times."""
        self.charger_id = charger_id
        self.clock = clock
        self.version = version
        config = (snapshot or {}).get("config")
        self.station = Station(identity, model, config=config, seed=zlib.crc32(charger_id.encode()))
        self._restored = bool(snapshot)
        if snapshot:
            restore_station(self.station, snapshot, continue_transactions=continue_transactions)
        codec = codec_for(version)
        # The station's behaviour as events in, effects out (docs/station-machine.md).
        machine = self.machine = StationMachine(self.station, settings_for(version))
        # Its tasks run in a context naming the station (log lines carry its ids).
        self.tasks = StationTasks(identity, charger_id)
        self.writes = StationWrites(charger_id, on_change, persist, stored_meter)
        # Rules about the CSMS (ocpp/findings.py); the link reads the exchange lazily.
        self.findings = StationFindings(
            on_finding or _ignore,
            lambda: self.link.last_exchange(),
            slow_answer_s,
            None if metrics is None else metrics.answer_timer(version),
        )
        self.link = link = StationLink(
            identity=identity,
            csms_url=csms_url,
            version=version,
            security=security,
            supported_actions=frozenset(codec.requests),
            clock=clock,
            on_frame=self._frame,
            on_state=self.writes.changed,
            registered=lambda: self.machine.online,
            connect_gate=connect_gate,
            observer=self.findings,
            may_send=may_send,
            tally=None if metrics is None else metrics.frame_tally(version),
        )
        self._on_frame = on_frame
        self.driver = driver = MachineDriver(
            identity=identity,
            machine=machine,
            codec=codec,
            clock=clock,
            link=link,
            tasks=self.tasks,
            writes=self.writes,
            findings=self.findings,
        )
        self.offline = OfflineDelivery(
            driver=driver,
            link=link,
            queue=queue,
            codec=codec,
            clock=clock,
            config=self.station.config,
            tasks=self.tasks,
            writes=self.writes,
        )
        self.maintenance = StationMaintenance(
            driver=driver,
            tasks=self.tasks,
            clock=clock,
            charger_id=charger_id,
            frame_log=frame_log,
            certificates=machine.context.certificates,
        )
        self.maintenance.restore((snapshot or {}).get("maintenance") or {})
        self._secure(security)
        self.registration = RegistrationFollowUp(
            driver=driver, link=link, offline=self.offline, tasks=self.tasks, station=self.station
        )
        # The two edges that point back up, closed before the station starts: the driver hands
        # effects to the collaborators built on it, the link reports to the driver.
        driver.attach(self.offline, self.maintenance, self.registration)
        link.listen(
            driver.handle_request,
            self.registration.link_connected,
            self.registration.link_disconnected,
            self.registration.link_connect_failed,
        )

    def _secure(self, security: dict[str, Any] | None) -> None:
        """The profile the station connects with: the configured one, or the higher one a CSMS
        set (1.6 ChangeConfiguration SecurityProfile), which the snapshot's configuration
        keeps."""
        configured = security or {}
        profile = max(security_profile(configured), self.station.config.get_int(PROFILE_KEY))
        if profile != self.station.config.get_int(PROFILE_KEY):
            self.station.config.set_local(PROFILE_KEY, str(profile))
        self.machine.context.security = ConnectionSecurity(
            profile,
            configured=security_profile(configured),
            has_password=bool(configured.get("password")),
            has_client_certificate=bool(configured.get("client_cert_pem")),
        )
        network = self.station.network
        store = self.machine.context.certificates
        if self.machine.settings.network_profiles and (
            network.active != CONFIGURED_SLOT or CONFIGURED_SLOT in network.slots
        ):
            # 2.x: the network profile the station last chose (B10), kept by its snapshot.
            use = use_slot(self.machine.context, network.active)
            self.link.use_profile(
                use.profile,
                store.csms_ca_pem(),
                store.client_credentials(),
                csms_url=use.csms_url,
                password=use.password,
            )
        elif profile != security_profile(configured):
            self.link.use_profile(profile, store.csms_ca_pem(), store.client_credentials())

    def _frame(self, direction: str, text: str) -> None:
        self.maintenance.frame(direction, text)
        self._on_frame(self.charger_id, direction, text)

    @property
    def identity(self) -> str:
        return self.station.identity

    def now(self) -> float:
        return self.clock.now()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._restored:
            # What ran on the machine's timers before the restart runs again (`Restored`).
            driver = self.driver
            self.tasks.spawn(driver.execute(driver.feed(Restored())))
        self.tasks.enter(self.link.start)

    async def stop(self, close_code: int = 1000) -> None:
        self.driver.stop()  # timers, and the outbox its sender (a station task) leaves
        self.tasks.cancel_all()
        await self.link.stop(close_code)
        self.station.registration = None
        self.writes.changed()

    # -- status -------------------------------------------------------------------------------

    async def publish_status(self) -> None:
        """Send a StatusNotification for every connector whose status changed."""
        await self.driver.run_command(ReportStatuses())

    def require_online(self) -> None:
        if not self.link.online:
            registration = self.machine.registration.status
            raise StationError(
                "not_connected",
                f"{self.identity} is not connected and accepted by its CSMS "
                f"(connection {self.link.connection}, registration {registration})",
            )

    def may_start_offline(self, id_tag: str) -> bool:
        return may_start_offline(self.machine.context, id_tag)

    # -- authorization ------------------------------------------------------------------------

    async def authorize(self, id_tag: str) -> AuthorizationDecision:
        """Local list, then cache, then Authorize at the CSMS, as the configuration allows."""
        decision = await self.driver.run_command(AuthorizeIdTag(id_tag))
        assert isinstance(decision, AuthorizationDecision)
        return decision

    # -- sessions: machine flows (machine/flows/sessions.py, cable.py, metering.py) ------------

    async def _session(self, command: SessionCommand) -> Transaction | None:
        result = await self.driver.run_command(command)
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
        await self._session(PlugIn(connector_id, ev, wall_time()))

    async def unplug(self, connector_id: int) -> Transaction | None:
        return await self._session(Unplug(connector_id))

    def ev_power_changed(self, connector_id: int) -> None:
        self.tasks.spawn(self._session(RecheckLimits()))

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
        await self.driver.run_command(Reset(hard, boot_reason))

    async def unlock(self, connector_id: int) -> str:
        answer = await self.driver.run_command(Unlock(connector_id))
        assert isinstance(answer, UnlockAnswer)
        return answer.status

    # -- live state ---------------------------------------------------------------------------

    def live_state(self) -> dict[str, Any]:
        return live_state(self)

    def status_view(self) -> tuple[str, str | None, tuple[str, ...]]:
        return status_view(self)

    def stored_state(self) -> dict[str, Any]:
        """The part of the live state the store keeps with every snapshot (cheaper)."""
        return stored_state(self)
