"""What the factories hand a test: a virtual charger, a location of them, a virtual CPO. Each
method is one or two Gateway API calls through `voltlab.client`; the state properties read the
server afresh every time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from voltlab.client import Client, WaitTimeout, models
from voltlab.clock import monotonic
from voltlab.pytest_plugin.frames import Direction, Frame, Kind, frames_of

COMMAND_TIMEOUT = 60.0
POLL_SECONDS = 0.05
# The most frames one read of the log returns (the server keeps 1 000 per charger).
FRAME_PAGE = 1000


@dataclass
class VirtualCharger:
    """A virtual charging station on the lab server, connected to `csms_url`."""

    client: Client = field(repr=False)
    id: str
    identity: str
    csms_url: str
    ocpp_version: str
    model: str

    # --- state, read afresh ---------------------------------------------------------------------

    @property
    def status(self) -> models.ChargerView:
        """The charger with its live state: `connection`, `registration`, `connectors`..."""
        return self.client.chargers.get(self.id)

    @property
    def frames(self) -> list[Frame]:
        """The frame log, oldest first (the latest 1 000 frames)."""
        return frames_of(self.client.chargers.messages(self.id, limit=FRAME_PAGE).items)

    @property
    def findings(self) -> list[models.FindingView]:
        """What the charger found wrong with its CSMS (docs/api.md, Findings)."""
        found: list[models.FindingView] = []
        cursor: str | None = None
        while True:
            page = self.client.chargers.findings(self.id, limit=500, cursor=cursor)
            found.extend(page.findings)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    # --- waiting --------------------------------------------------------------------------------

    def wait_for_frame(
        self,
        action: str | None = None,
        direction: Direction | None = None,
        timeout: float = 10.0,
        *,
        kind: Kind | None = None,
        after: Frame | None = None,
        where: Callable[[Frame], bool] | None = None,
    ) -> Frame:
        """The first frame in the log (after `after`, if given) with this action and direction:
        `("BootNotification", "out")` is the station's CALL, `("BootNotification", "in")` the
        CSMS's answer to it, `("RemoteStopTransaction", "in")` a CSMS request. Raises
        WaitTimeout (with the frames read) after `timeout` real seconds."""
        deadline = monotonic() + timeout
        while True:
            frames = self.frames
            for frame in frames:
                if after is not None and frame.id <= after.id:
                    continue
                if action is not None and frame.action != action:
                    continue
                if direction is not None and frame.direction != direction:
                    continue
                if kind is not None and frame.kind != kind:
                    continue
                if where is not None and not where(frame):
                    continue
                return frame
            if monotonic() >= deadline:
                wanted = f"action={action!r} direction={direction!r} kind={kind!r}"
                raise WaitTimeout(
                    f"{self.identity}: no frame with {wanted} within {timeout:g} s", frames
                )
            time.sleep(POLL_SECONDS * 2)

    def wait_until(
        self,
        predicate: Callable[[models.ChargerView], bool],
        timeout: float = 10.0,
        what: str = "the condition",
    ) -> models.ChargerView:
        deadline = monotonic() + timeout
        while True:
            state = self.status
            if predicate(state):
                return state
            if monotonic() >= deadline:
                raise WaitTimeout(f"{self.identity}: {what} not met within {timeout:g} s", state)
            time.sleep(POLL_SECONDS * 2)

    def wait_accepted(self, timeout: float = 15.0) -> models.ChargerView:
        """Until the charger is connected and its CSMS accepted its boot."""
        return self.wait_until(
            lambda s: s.connection == "connected" and s.registration == "Accepted",
            timeout,
            "connected and Accepted",
        )

    def wait_for_status(
        self, status: str, connector_id: int = 1, timeout: float = 15.0
    ) -> models.ChargerView:
        """Until connector `connector_id` reports `status` (Charging, Faulted, Available...)."""

        def reached(state: models.ChargerView) -> bool:
            return any(
                c.connector_id == connector_id and c.status == status for c in state.connectors
            )

        return self.wait_until(reached, timeout, f"connector {connector_id} {status}")

    # --- acting (each a gateway command, waited for until it succeeded) ---------------------------

    def command(
        self, slug: str, event: models.EventModel | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> models.CommandView:
        """Any gateway command by slug; raises CommandFailed unless it succeeded."""
        batch = self.client.commands.send(slug, self.id, event)
        if batch.accepted.failed:
            failure = batch.accepted.failed[0].error
            raise AssertionError(
                f"{self.identity}: {slug} refused: {failure.code}: {failure.message}"
            )
        return batch.commands[0].wait(timeout, check=True)

    def plug(
        self,
        connector_id: int = 1,
        *,
        ev_profile: models.EvProfileName | None = None,
        soc_percent: float | None = None,
        departure_seconds: int | None = None,
        min_soc_percent: float | None = None,
        contract: models.ContractEvent | None = None,
    ) -> models.CommandView:
        """Plug an EV in (docs/api.md `plug-connector`); with a `contract` it authorizes by
        Plug & Charge (docs/plug-and-charge.md)."""
        given = {
            "ev_profile": ev_profile,
            "soc_percent": soc_percent,
            "departure_seconds": departure_seconds,
            "min_soc_percent": min_soc_percent,
            "contract": contract,
        }
        fields: dict[str, object] = {"connector_id": connector_id}
        fields |= {name: value for name, value in given.items() if value is not None}
        return self.command("plug-connector", models.PlugConnectorEvent.model_validate(fields))

    def unplug(self, connector_id: int = 1) -> models.CommandView:
        return self.command("unplug-connector", models.ConnectorEvent(connector_id=connector_id))

    def start_session(
        self,
        id_tag: str = "VOLTLAB-TAG-1",
        connector_id: int = 1,
        *,
        duration_seconds: int | None = None,
        target_energy_kwh: float | None = None,
    ) -> models.CommandView:
        """Plug, authorize, start the transaction, charge; the charger stops by itself at
        `duration_seconds` (simulated) or `target_energy_kwh`."""
        fields: dict[str, object] = {"id_tag": id_tag, "connector_id": connector_id}
        if duration_seconds is not None:
            fields["duration_seconds"] = duration_seconds
        if target_energy_kwh is not None:
            fields["target_energy_kwh"] = target_energy_kwh
        return self.command("start-session", models.StartSessionEvent.model_validate(fields))

    def stop_session(
        self, connector_id: int = 1, reason: models.StopReason | None = None
    ) -> models.CommandView:
        fields: dict[str, object] = {"connector_id": connector_id}
        if reason is not None:
            fields["reason"] = reason
        return self.command("stop-session", models.StopSessionEvent.model_validate(fields))

    def inject_fault(
        self, fault_type: models.FaultType = "GroundFault", connector_id: int = 1
    ) -> models.CommandView:
        event = models.InjectFaultEvent.model_validate(
            {"connector_id": connector_id, "fault_type": fault_type}
        )
        return self.command("inject-fault", event)

    def clear_fault(self, connector_id: int = 1) -> models.CommandView:
        return self.command("clear-fault", models.ClearFaultEvent(connector_id=connector_id))

    def connect(self) -> models.ChargerView:
        return self.client.chargers.start(self.id)

    def disconnect(self) -> models.ChargerView:
        return self.client.chargers.stop(self.id)


@dataclass
class VirtualLocation:
    client: Client = field(repr=False)
    id: str
    name: str
    chargers: list[VirtualCharger]

    @property
    def findings(self) -> list[models.FindingView]:
        return self.client.locations.findings(self.id, limit=500).findings


@dataclass
class VirtualCpo:
    """A virtual CPO: `token_a` and `versions_url` for the eMSP under test's credentials
    handshake; its chargers as `VirtualCharger`s once provisioned."""

    client: Client = field(repr=False)
    created: models.CpoCreated
    chargers: list[VirtualCharger] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.created.cpo_id

    @property
    def token_a(self) -> str:
        return self.created.token_a

    @property
    def versions_url(self) -> str:
        return self.created.ocpi_peer_url

    @property
    def info(self) -> models.CpoView:
        return self.client.cpos.get(self.id)

    @property
    def findings(self) -> list[models.FindingView]:
        """What the CPO found wrong with its eMSP."""
        return self.client.cpos.findings(self.id, limit=500).findings

    def report(self) -> models.CpoReport:
        return self.client.cpos.report(self.id)

    def wait_ready(self, timeout: float = 120.0) -> models.CpoStatusView:
        status = self.client.cpos.wait_ready(self.id, timeout)
        self.chargers = [handle(self.client, view) for view in self._charger_views()]
        return status

    def _charger_views(self) -> list[models.ChargerView]:
        return [self.client.chargers.get(charger_id) for charger_id in self.info.charger_ids]


def handle(client: Client, view: models.ChargerView) -> VirtualCharger:
    return VirtualCharger(
        client, view.charger_id, view.identity, view.csms_url, view.ocpp_version, view.model
    )
