"""Chargers, their locations, the model catalog and the dashboard's views of the fleet."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from voltlab.api.responses.base import OcppVersionName, ResponseModel, Timestamp
from voltlab.ocpp.vocabulary.connector_status import ConnectorStatus16

ConnectionState = Literal["connecting", "connected", "disconnected", "stopped"]
RegistrationStatus = Literal["Accepted", "Pending", "Rejected"]
# A connector status as either version reports it: 1.6's nine, and 2.x's Occupied.
ConnectorStatusName = Literal[ConnectorStatus16, Literal["Occupied"]]
TransactionId = int | str  # 1.6: the CSMS's integer; 2.x: the station's string


class ModelConnectorView(ResponseModel):
    connector_id: int
    connector_type: str = Field(examples=["IEC62196Type2"])
    power_type: Literal["AC_1_PHASE", "AC_3_PHASE", "DC"]
    max_power_w: int
    max_voltage_v: int
    max_current_a: int


class ChargerModelView(ResponseModel):
    """One model of the catalog (`GET /ocpp/models`); its slug is a charger's `model`."""

    slug: str = Field(examples=["ac-22kw-2c"])
    vendor: str
    model: str
    firmware_version: str
    current_type: Literal["AC", "DC"]
    phases: int = Field(description="1 or 3 for AC, 0 for DC")
    max_station_power_w: int
    connectors: list[ModelConnectorView]
    default_config: dict[str, str]


class SecurityView(ResponseModel):
    """The configured security profile; secrets are never shown, only whether they are set."""

    profile: int = Field(ge=0, le=3)
    password_set: bool
    ca_set: bool
    client_certificate_set: bool
    tls_csms_url: str | None


class LocalCostView(ResponseModel):
    """The running cost a 2.1 station calculates itself with its tariff (local cost)."""

    tariff_id: str
    currency: str = Field(examples=["EUR"])
    total_excl_tax: float | None
    total_incl_tax: float | None
    energy_wh: float = Field(description="the energy priced so far")


class ConnectorView(ResponseModel):
    """A connector's live state (or, for a charger this process does not run, its last stored
    one; the optional fields only come from a state the station reported)."""

    connector_id: int
    connector_type: str
    max_power_w: int
    status: ConnectorStatusName | None = Field(description="null before the first report")
    error_code: str | None
    transaction_id: TransactionId | None
    meter_wh: float | None
    power_w: float | None
    soc_percent: float | None
    plugged: bool | None = None
    locked: bool | None = None
    operative: bool | None = None
    id_tag: str | None = None
    transaction_energy_wh: float | None = None
    ev: str | None = Field(default=None, description="the EV profile plugged in")
    total_cost: float | None = Field(
        default=None, description="the running cost a 2.x CSMS last sent (CostUpdated)"
    )
    export_wh: float | None = Field(
        default=None,
        description="Energy.Active.Export.Register: what a V2X EV gave back to the grid",
    )
    discharge_setpoint_w: float | None = Field(
        default=None, description="the external setpoint the discharge command set (negative)"
    )
    local_cost: LocalCostView | None = Field(
        default=None, description="2.1: the running cost the station calculates (its tariff)"
    )


class FaultView(ResponseModel):
    connector_id: int = Field(description="0: the whole station")
    fault_type: str
    vendor_error_code: str | None
    info: str | None


class ReservationView(ResponseModel):
    reservation_id: int
    connector_id: int | None
    id_tag: str
    expires_at: str


class ExternalLimitView(ResponseModel):
    """A limit from outside the CSMS (the set-charging-limit command)."""

    connector_id: int = Field(description="0: the whole station")
    limit_w: float
    source: Literal["EMS", "Other", "SO"]
    grid_critical: bool | None


class DerControlView(ResponseModel):
    """A DER control a 2.1 CSMS set (SetDERControl)."""

    control_id: str
    control_type: str = Field(examples=["LimitMaxDischarge"])
    is_default: bool
    priority: int = Field(description="0 is the highest")
    superseded: bool = Field(description="overridden by one of higher priority: never executed")
    in_force: bool = Field(description="the one of its type the station executes now")


class DisplayMessageView(ResponseModel):
    """A message a 2.x CSMS stored with SetDisplayMessage."""

    id: int
    priority: Literal["AlwaysFront", "InFront", "NormalCycle"]
    state: str | None = Field(description="shown only in this station state (null: any)")
    format: str
    language: str | None
    content: str
    start: str | None
    end: str | None
    transaction_id: str | None
    shown: bool = Field(description="on the screen now")


class TariffView(ResponseModel):
    """A default tariff a 2.1 CSMS installed with SetDefaultTariff."""

    tariff_id: str
    currency: str
    evse_ids: list[int] = Field(description="the EVSEs it is installed on")
    in_force_on: list[int] = Field(description="the EVSEs whose sessions it prices now")
    valid_from: str | None
    description: str | None = Field(description="its first description text")


class EventStreamView(ResponseModel):
    """A 2.1 periodic event stream the CSMS accepted (OpenPeriodicEventStream)."""

    id: int
    variable_monitoring_id: int
    interval: int = Field(description="seconds between frames (0: by count only)")
    values: int = Field(description="points per frame (0: by interval only)")
    waiting: int = Field(description="points not sent yet")


class ResponseTimeView(ResponseModel):
    """How fast the CSMS answered one action's CALLs (this process's count)."""

    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float


class ChargerView(ResponseModel):
    """A virtual charger: what is stored about it, and its live state. The fields from
    `security_profile` on are there while this process runs the charger."""

    charger_id: str = Field(examples=["dep-789"])
    identity: str = Field(examples=["CP-DEPOT-001"])
    location_id: str | None
    csms_url: str
    ocpp_version: OcppVersionName
    model: str = Field(description="a catalog slug (GET /ocpp/models)")
    vendor: str | None
    firmware_version: str | None
    security: SecurityView | None
    desired_running: bool
    created_at: Timestamp
    findings: int = Field(description="findings about its CSMS the charger recorded")
    connection: ConnectionState
    registration: RegistrationStatus | None
    connectors: list[ConnectorView]
    faults: list[FaultView]
    security_profile: int | None = Field(
        default=None, description="the security profile of the open connection"
    )
    last_error: str | None = None
    station_status: ConnectorStatusName | None = None
    response_times: dict[str, ResponseTimeView] | None = None
    reservations: list[ReservationView] | None = None
    local_list_version: int | None = None
    auth_cache_size: int | None = None
    heartbeat_interval: int | None = None
    simulated_time: str | None = None
    external_limits: list[ExternalLimitView] | None = None
    display_messages: list[DisplayMessageView] | None = Field(
        default=None, description="the ones on screen now first, in screen order"
    )
    der_controls: list[DerControlView] | None = None
    tariffs: list[TariffView] | None = None
    event_streams: list[EventStreamView] | None = None


class ChargerPage(ResponseModel):
    items: list[ChargerView]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class LocationView(ResponseModel):
    location_id: str = Field(examples=["loc-456"])
    name: str
    csms_url: str
    ocpp_version: OcppVersionName
    model: str
    identity_prefix: str
    security: SecurityView | None
    charger_count: int
    created_at: Timestamp


class LocationDetail(LocationView):
    """A location with its chargers (create and get)."""

    chargers: list[ChargerView]


class LocationPage(ResponseModel):
    items: list[LocationView]
    next_cursor: str | None


class FrameView(ResponseModel):
    id: int
    ts: Timestamp
    direction: Literal["in", "out"] = Field(description="out: station -> CSMS")
    frame: Any = Field(description="the OCPP-J frame (as text when it was not JSON)")


class FramePage(ResponseModel):
    items: list[FrameView]
    next_before: int | None = Field(description="pass as `before` for older frames")


class ConfigurationKeyView(ResponseModel):
    key: str
    readonly: bool
    value: str | None = Field(default=None, description="absent for a write-only key")


class DeviceModelVariableView(ResponseModel):
    component: str
    evse_id: int | None
    connector_id: int | None
    variable: str
    instance: str | None
    attribute_type: Literal["Actual"]
    mutability: Literal["ReadOnly", "ReadWrite", "WriteOnly"]
    value: str | None = Field(default=None, description="absent for a write-only variable")


class Configuration16View(ResponseModel):
    """OCPP 1.6: every key GetConfiguration without keys would report."""

    charger_id: str
    identity: str
    ocpp_version: Literal["ocpp1.6"]
    source: Literal["live", "stored"]
    keys: list[ConfigurationKeyView]


class Configuration2xView(ResponseModel):
    """OCPP 2.0.1 / 2.1: the device model as GetBaseReport FullInventory reports it."""

    charger_id: str
    identity: str
    ocpp_version: Literal["ocpp2.0.1", "ocpp2.1"]
    source: Literal["live", "stored"]
    variables: list[DeviceModelVariableView]


ChargerConfigurationView = Configuration16View | Configuration2xView


class MeterPoint(ResponseModel):
    ts: str = Field(description="the sample's timestamp as the station wrote it")
    power_w: float | None
    energy_wh: float | None
    session_energy_wh: float | None
    soc: float | None


class MeterSeries(ResponseModel):
    connector_id: int | None
    transaction_id: str | None
    meter_start_wh: float | None
    points: list[MeterPoint]


class FleetSummary(ResponseModel):
    """Counts over the org's chargers (or one location's); each `by_*` maps a value to its
    count."""

    location_id: str | None
    total: int
    by_connection: dict[str, int]
    by_registration: dict[str, int]
    by_connector_status: dict[str, int]
    by_ocpp_version: dict[str, int]
    by_model: dict[str, int]
