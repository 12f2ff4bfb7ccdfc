"""What the machine's flows share: the station, the instant of the event being handled, the
link's state, the timers the machine set, what the offline queue holds, the session state
that is not the station's (begin readings, remote starts waiting for a cable, TxProfiles
waiting for their transaction), and the station's certificates with the factory of its key
pairs. One per machine; flows read `now` from it, so a flow resumed later sees the instant of
the event that resumed it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from voltlab.fleet.machine.csms_rules import CsmsMemory
from voltlab.fleet.machine.effects import CancelTimer, SetTimer
from voltlab.fleet.machine.events import QueueChanged
from voltlab.fleet.machine.pnc_messages import PncOutcome
from voltlab.fleet.model.certificates import CertificateStore, CsrFactory, make_csr
from voltlab.fleet.model.records import MeterReading, StationError
from voltlab.fleet.model.smart_charging import ChargingProfile
from voltlab.fleet.model.station import Station


class TransactionPoints(Protocol):
    """Where a transaction starts and stops (1.6: configuration keys; 2.x: TxStartPoint /
    TxStopPoint of the device model)."""

    def opens_transaction_on_plug(self) -> bool: ...

    def stops_transaction_on_unplug(self) -> bool: ...


class RegistrationState(Protocol):
    """What the flows read of registration (flows/registration.Registration)."""

    @property
    def online(self) -> bool: ...


@dataclass(frozen=True)
class AwaitingCable:
    """A remote start accepted before the cable: it starts when the cable comes."""

    id_tag: str
    parent_id_tag: str | None
    remote_start_id: int | None


@dataclass
class ConnectionSecurity:
    """The security profile the station connects with and what a higher one would need
    (flows/security_profile.py); `previous`: the profile before an upgrade that no connection
    has confirmed yet (the station falls back to it)."""

    profile: int = 0
    has_password: bool = False  # HTTP Basic auth (AuthorizationKey / BasicAuthPassword)
    has_client_certificate: bool = False  # configured for profile 3
    previous: int | None = None
    # The profile configured for the charger (2.x: the network profile in slot 1 until the
    # CSMS sets that slot; the slots are the station's, `Station.network`).
    configured: int = 0


def random_transaction_id() -> str:
    return str(uuid.uuid4())


@dataclass
class FlowContext:
    station: Station
    points: TransactionPoints
    # 2.x: the station names its transactions; 1.6: the CSMS does.
    station_names_transactions: bool
    # Measurands a transaction's start and end carry when StopTxnSampledData is empty (2.x:
    # the register; 1.6: none, and no transactionData at all).
    default_transaction_measurands: tuple[str, ...]
    # The OCPP version whose charging-profile rules apply (2.x refuses more than 1.6).
    profile_rules: str
    # Connected and accepted by the CSMS: the registration flow's state says.
    registration: RegistrationState
    # 2.x: statuses folded into ConnectorStatus, per EVSE, with charging-state events.
    folds_statuses_2x: bool = False
    # 2.x: external limits and ISO 15118 EVs' needs and plans are reported (K12-K17).
    reports_charging_limits: bool = False
    # 2.x: the station connects by its network connection profiles (B09/B10).
    network_profiles: bool = False
    # 2.1: bidirectional power transfer and DER control (Q, R).
    bidirectional: bool = False
    # 2.1: the station prices its transactions with the CSMS's tariffs (flows/local_cost.py).
    local_cost: bool = False
    new_transaction_id: Callable[[], str] = random_transaction_id
    now: float = 0.0
    # 2.x Reset OnIdle during a transaction: reset once the last one ends.
    reset_when_idle: bool = False
    timers: dict[str, float] = field(default_factory=dict)
    begin_readings: dict[int, MeterReading] = field(default_factory=dict)
    awaiting_cable: dict[int, AwaitingCable] = field(default_factory=dict)
    pending_profiles: dict[int, ChargingProfile] = field(default_factory=dict)
    # Status reporting (flows/status.py): one report at a time; 2.x's folded words and
    # charging states as last reported.
    reporting_statuses: bool = False
    reported_statuses: dict[int, str] = field(default_factory=dict)
    charging_states: dict[int, str] = field(default_factory=dict)
    # 2.1: the operation mode last reported per transaction (by its local id).
    operation_modes: dict[int, str] = field(default_factory=dict)
    # The CA certificates and the station's own (flows/certificates.py); a new key pair and
    # its CSR come from `make_csr` (injected: key generation is random and takes CPU).
    certificates: CertificateStore = field(default_factory=CertificateStore)
    make_csr: CsrFactory = make_csr
    # The security profile connected with, and an upgrade not yet confirmed.
    security: ConnectionSecurity = field(default_factory=ConnectionSecurity)
    # What the rules about the CSMS remember of its answers on this connection.
    csms: CsmsMemory = field(default_factory=CsmsMemory)
    # The driver's offline queue as it last reported it (nothing queued until it does).
    offline_queue: QueueChanged = QueueChanged(0, frozenset())
    # What came of the last Plug & Charge plug per connector (flows/plug_and_charge.py).
    pnc_outcomes: dict[int, PncOutcome] = field(default_factory=dict)

    @property
    def online(self) -> bool:
        return self.registration.online

    def set_timer(self, name: str, at: float) -> SetTimer:
        self.timers[name] = at
        return SetTimer(name, at)

    def cancel_timer(self, name: str) -> CancelTimer:
        self.timers.pop(name, None)
        return CancelTimer(name)

    def not_connected(self) -> StationError:
        return StationError(
            "not_connected", f"{self.station.identity} is not connected and accepted by its CSMS"
        )
