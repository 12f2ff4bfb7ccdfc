"""The records a station model is made of: connectors, transactions, reservations, faults,
meter readings and status changes. Plain data; the rules live in `station.Station`."""

from __future__ import annotations

from dataclasses import dataclass, field

from voltlab.fleet.model.catalog import ConnectorSpec
from voltlab.fleet.model.ev import ElectricVehicle

# Faults that are warnings: reported with the error code, but the connector keeps working. A
# frequency excursion of the grid is one: the station rides through it unless a DER control
# (OCPP 2.1 HFMustTrip, LFMustTrip, ...) tells it to cease (fleet/model/der_controls.py).
WARNING_FAULTS = frozenset({"WeakSignal", "OverFrequency", "UnderFrequency"})


class StationError(Exception):
    """An operation whose precondition does not hold; the state is unchanged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Fault:
    fault_type: str
    vendor_error_code: str | None = None
    info: str | None = None

    @property
    def blocks_charging(self) -> bool:
        return self.fault_type not in WARNING_FAULTS


@dataclass
class Reservation:
    reservation_id: int
    connector_id: int  # 0 = any connector of the station
    id_tag: str
    parent_id_tag: str | None
    expires_at: float


@dataclass
class Transaction:
    local_id: int
    connector_id: int
    id_tag: str | None  # None: a 2.x transaction opened at EVConnected, not authorized yet
    started_at: float
    meter_start_wh: float
    transaction_id: str | int | None = None  # what the CSMS knows it by
    parent_id_tag: str | None = None
    reservation_id: int | None = None
    remote_start_id: int | None = None
    duration_limit_s: float | None = None
    energy_limit_wh: float | None = None
    deauthorized: bool = False
    # The power path closes once the CSMS confirmed the transaction (StartTransaction.conf).
    confirmed: bool = False
    seq_no: int = 0  # 2.x TransactionEvent sequence
    stopped_at: float | None = None
    stop_reason: str | None = None  # a StopReason (ocpp.vocabulary.stop_reasons)
    meter_stop_wh: float | None = None
    # The running cost the CSMS last told the station (2.x CostUpdated), in its currency.
    total_cost: float | None = None
    # The id tag's kind in 2.x words (eMAID: Plug & Charge); None: the station's reader.
    id_token_type: str | None = None

    def energy_wh(self, register_wh: float) -> float:
        return register_wh - self.meter_start_wh


@dataclass
class MeterReading:
    timestamp: float
    register_wh: float
    power_w: float
    current_a: float
    voltage_v: float
    soc_percent: float | None
    phases: int
    # Energy.Active.Export.Register: what flowed from the EV to the grid (V2X); `power_w` and
    # `current_a` are negative while the EV discharges.
    export_wh: float = 0.0


@dataclass
class Connector:
    connector_id: int
    spec: ConnectorSpec
    plugged: bool = False
    ev: ElectricVehicle | None = None
    ev_wants_energy: bool = False
    ev_power_cap_w: float | None = None
    fault: Fault | None = None
    operative: bool = True
    scheduled_operative: bool | None = None
    transaction: Transaction | None = None
    finishing: bool = False
    preparing: bool = False  # authorized, waiting for the cable
    locked: bool = False
    register_wh: float = 0.0  # Energy.Active.Import.Register: grid to EV
    export_wh: float = 0.0  # Energy.Active.Export.Register: EV to grid (V2X)
    power_w: float = 0.0  # negative while the EV discharges
    last_advance: float | None = None
    reported: tuple[str, str] | None = None
    history: list[Transaction] = field(default_factory=list)

    @property
    def dc(self) -> bool:
        return self.spec.power_type == "DC"


@dataclass(frozen=True)
class StatusChange:
    connector_id: int
    status: str
    error_code: str | None  # a FAULT_TYPES value (ocpp.vocabulary), None for no error
    info: str | None = None
    vendor_error_code: str | None = None
