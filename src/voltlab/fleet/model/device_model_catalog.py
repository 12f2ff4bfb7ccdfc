"""The OCPP 2.0.1 component/variable catalog of a virtual station: what each variable is
(data type, mutability, unit, limits, allowed values) and where its value lives.

A variable's value has exactly one home, so 1.6 keys and 2.x variables never drift apart:

* ``config_key``: a standard 1.6 key in `StationConfig` (HeartbeatInterval, ...);
* ``held_default``: a 2.x-only setting kept in `StationConfig` as a custom key named after
  the variable (``TxCtrlr.TxStartPoint``), so it persists with the station snapshot;
* ``read``: derived live from the station (availability, list sizes, clock) or a catalog fact.

Names and enumerations follow OCPP 2.0.1 part 2 (appendix 3, standardized components and
variables) and the OCA JSON schemas."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voltlab.fleet.model.config import MEASURANDS, STANDARD_KEYS
from voltlab.fleet.model.network_profiles import SLOTS
from voltlab.ocpp.vocabulary.connector_status import CONNECTOR_STATUS_2X
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.model.station import Station

# DataEnumType
STRING, DECIMAL, INTEGER, DATE_TIME, BOOLEAN = "string", "decimal", "integer", "dateTime", "boolean"
OPTION_LIST, SEQUENCE_LIST, MEMBER_LIST = "OptionList", "SequenceList", "MemberList"
LIST_TYPES = frozenset({OPTION_LIST, SEQUENCE_LIST, MEMBER_LIST})

# MutabilityEnumType
READ_ONLY, READ_WRITE, WRITE_ONLY = "ReadOnly", "ReadWrite", "WriteOnly"

# Where a component lives: once per station, once per EVSE, once per connector.
STATION_SCOPE, EVSE_SCOPE, CONNECTOR_SCOPE = "station", "evse", "connector"

TX_POINTS = (
    "ParkingBayOccupancy",
    "EVConnected",
    "Authorized",
    "DataSigned",
    "PowerPathClosed",
    "EnergyTransfer",
)
# The 1.6 measurand set minus what 2.0.1's MeasurandEnumType lacks (Temperature), in a
# stable order so reports are byte-identical run to run.
MEASURANDS_201 = tuple(sorted(MEASURANDS - {"Temperature"}))
CONNECTOR_STATES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")
TIME_SOURCES = ("Heartbeat", "NTP", "GPS", "RealTimeClock", "MobileNetwork", "RadioTimeTransmitter")
FILE_TRANSFER_PROTOCOLS = ("FTP", "FTPS", "HTTP", "HTTPS", "SFTP")
CACHE_POLICIES = ("LRU", "LFU", "FIFO", "CUSTOM")

# Catalog connector types (OCPI names) as 2.0.1 ConnectorEnumType values. CHAdeMO is
# JEVS G105, which 2.0.1 spells cG105 (there is no cCHAdeMO).
CONNECTOR_TYPES_201 = {
    "IEC62196Type2": "cType2",
    "IEC62196Type2Combo": "cCCS2",
    "CHAdeMO": "cG105",
    "IEC62196Type1": "cType1",
    "IEC62196Type1Combo": "cCCS1",
}

# Message limits the station declares in DeviceDataCtrlr; NotifyReport is paged by them.
ITEMS_PER_MESSAGE = 100
BYTES_PER_MESSAGE = 65_536
REPORTING_VALUE_SIZE = 2_500  # GetVariableResult.attributeValue / VariableAttribute.value
CONFIGURATION_VALUE_SIZE = 1_000  # SetVariableData.attributeValue / valuesList
# Storage budget per authorization entry (id token up to 36 chars, status, expiry, parent):
# turns an entry count into the byte figures the Storage variables are defined in.
BYTES_PER_AUTH_ENTRY = 128


@dataclass(frozen=True)
class Target:
    """Which instance of a component: the EVSE (and connector on it) for physical parts."""

    evse_id: int | None = None
    connector_id: int | None = None


Reader = Callable[["Station", Target, float], str]
LimitReader = Callable[["Station", Target], float]


@dataclass(frozen=True)
class VariableSpec:
    component: str
    variable: str
    data_type: str
    mutability: str = READ_WRITE
    instance: str | None = None
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    max_limit_of: LimitReader | None = None  # a limit that depends on the station
    values_list: tuple[str, ...] = ()
    allow_empty: bool = True  # may a list variable be set to no members at all
    config_key: str | None = None
    held_default: str | None = None
    read: Reader | None = None
    constant: bool = False  # the station never changes the value at runtime
    reboot_required: bool = False
    scope: str = STATION_SCOPE
    # Read from the station's state, which its snapshot keeps (a derived value that persists).
    stored: bool = False
    # The value as a number, for the monitors evaluated after every event (no text made).
    number: LimitReader | None = None

    @property
    def dotted(self) -> str:
        name = f"{self.component}.{self.variable}"
        return f"{name}[{self.instance}]" if self.instance else name

    @property
    def held_key(self) -> str:
        """The custom StationConfig key a 2.x-only value is stored under."""
        return self.dotted

    @property
    def persistent(self) -> bool:
        return self.read is None or self.constant or self.stored

    @property
    def supports_monitoring(self) -> bool:
        """A monitor can watch any value the station may change and report (not a constant,
        not a write-only secret, not the clock, which changes at every instant)."""
        return not self.constant and self.mutability != WRITE_ONLY and self.data_type != DATE_TIME


# -- live readers ---------------------------------------------------------------------------


def fixed(value: str) -> Reader:
    def read(station: Station, target: Target, now: float) -> str:
        return value

    return read


def _decimal(value: float) -> str:
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


def as_bool(value: bool) -> str:
    return "true" if value else "false"


def _connector_phases(station: Station, target: Target) -> int:
    power_type = station.connectors[target.evse_id or 0].spec.power_type
    return {"AC_3_PHASE": 3, "AC_1_PHASE": 1}.get(power_type, 0)


def _station_phases(station: Station, target: Target, now: float) -> str:
    # The catalog gives output phases (0 for DC); a DC charger's own supply is three-phase.
    return str(station.model.phases if station.model.current_type == "AC" else 3)


def _station_state(station: Station, target: Target, now: float) -> str:
    return CONNECTOR_STATUS_2X[station.connector_status(0).status]


def _connector_state(station: Station, target: Target, now: float) -> str:
    return CONNECTOR_STATUS_2X[station.connector_status(target.evse_id or 0).status]


def _station_watts(station: Station, target: Target) -> float:
    return round(sum(conn.power_w for conn in station.connectors.values()), 1)


def _evse_watts(station: Station, target: Target) -> float:
    return round(station.connectors[target.evse_id or 0].power_w, 1)


def _station_power(station: Station, target: Target, now: float) -> str:
    return _decimal(_station_watts(station, target))


def _evse_power(station: Station, target: Target, now: float) -> str:
    return _decimal(_evse_watts(station, target))


def _station_problem(station: Station, target: Target, now: float) -> str:
    return as_bool(station.station_fault is not None)


def _connector_problem(station: Station, target: Target, now: float) -> str:
    return as_bool(station.connectors[target.evse_id or 0].fault is not None)


def _connector_type(station: Station, target: Target, now: float) -> str:
    catalog_type = station.connectors[target.evse_id or 0].spec.connector_type
    return CONNECTOR_TYPES_201.get(catalog_type, "Unknown")


def _feature(profile: str) -> Reader:
    # Availability of an optional function follows the 1.6 SupportedFeatureProfiles key.
    def read(station: Station, target: Target, now: float) -> str:
        return as_bool(profile in station.config.get_list("SupportedFeatureProfiles"))

    return read


def _bytes_of(entries: dict[str, object]) -> int:
    return len(json.dumps(entries, separators=(",", ":"))) if entries else 0


def _list_entries(station: Station, target: Target, now: float) -> str:
    return str(len(station.local_list.entries))


def _list_storage(station: Station, target: Target, now: float) -> str:
    return str(_bytes_of(station.local_list.snapshot()["entries"]))


def _cache_storage(station: Station, target: Target, now: float) -> str:
    return str(_bytes_of(station.auth_cache.snapshot()))


def _identity(station: Station, target: Target, now: float) -> str:
    return station.identity


def _clock(station: Station, target: Target, now: float) -> str:
    return format_timestamp(now)


# -- the catalog ----------------------------------------------------------------------------


def _mapped(component: str, variable: str, key: str, data_type: str, **kw: Any) -> VariableSpec:
    spec = STANDARD_KEYS[key]
    kw.setdefault("mutability", READ_ONLY if spec.readonly else READ_WRITE)
    if data_type == INTEGER:
        kw.setdefault("min_limit", spec.minimum)
    return VariableSpec(component, variable, data_type, config_key=key, **kw)


def held(component: str, variable: str, data_type: str, default: str, **kw: Any) -> VariableSpec:
    return VariableSpec(component, variable, data_type, held_default=default, **kw)


def live(component: str, variable: str, data_type: str, read: Reader, **kw: Any) -> VariableSpec:
    kw.setdefault("mutability", READ_ONLY)
    return VariableSpec(component, variable, data_type, read=read, **kw)


def _measurands(component: str, variable: str, key: str) -> VariableSpec:
    return _mapped(component, variable, key, MEMBER_LIST, values_list=MEASURANDS_201)


COMM, TX, AUTH, CACHE, LOCAL = (
    "OCPPCommCtrlr",
    "TxCtrlr",
    "AuthCtrlr",
    "AuthCacheCtrlr",
    "LocalAuthListCtrlr",
)
SAMPLED, ALIGNED, SMART, RESERVATION, SECURITY = (
    "SampledDataCtrlr",
    "AlignedDataCtrlr",
    "SmartChargingCtrlr",
    "ReservationCtrlr",
    "SecurityCtrlr",
)
DEVICE_DATA, CLOCK, STATION, EVSE, CONNECTOR = (
    "DeviceDataCtrlr",
    "ClockCtrlr",
    "ChargingStation",
    "EVSE",
    "Connector",
)
TX_EVENT = "TransactionEvent"
TRUE, FALSE = "true", "false"

VARIABLES: tuple[VariableSpec, ...] = (
    _mapped(COMM, "HeartbeatInterval", "HeartbeatInterval", INTEGER, unit="s"),
    held(COMM, "MessageTimeout", INTEGER, "30", instance="Default", unit="s", min_limit=1),
    _mapped(
        COMM,
        "MessageAttemptInterval",
        "TransactionMessageRetryInterval",
        INTEGER,
        instance=TX_EVENT,
        unit="s",
    ),
    _mapped(COMM, "MessageAttempts", "TransactionMessageAttempts", INTEGER, instance=TX_EVENT),
    # The configuration slots in the order they are tried (slot 1: the configured connection
    # until SetNetworkProfile sets it); SetVariables of it is the network-profile flow's.
    live(
        COMM,
        "NetworkConfigurationPriority",
        SEQUENCE_LIST,
        lambda s, t, n: ",".join(str(slot) for slot in s.network.priority),
        mutability=READ_WRITE,
        values_list=tuple(str(slot) for slot in SLOTS),
        stored=True,
    ),
    held(COMM, "OfflineThreshold", INTEGER, "60", unit="s", min_limit=0),
    _mapped(COMM, "ResetRetries", "ResetRetries", INTEGER),
    _mapped(COMM, "WebSocketPingInterval", "WebSocketPingInterval", INTEGER, unit="s"),
    live(
        COMM,
        "FileTransferProtocols",
        MEMBER_LIST,
        fixed("HTTP,HTTPS"),
        values_list=FILE_TRANSFER_PROTOCOLS,
        constant=True,
    ),
    _mapped(COMM, "UnlockOnEVSideDisconnect", "UnlockConnectorOnEVSideDisconnect", BOOLEAN),
    _mapped(TX, "EVConnectionTimeOut", "ConnectionTimeOut", INTEGER, unit="s"),
    _mapped(TX, "StopTxOnEVSideDisconnect", "StopTransactionOnEVSideDisconnect", BOOLEAN),
    _mapped(TX, "StopTxOnInvalidId", "StopTransactionOnInvalidId", BOOLEAN),
    _mapped(TX, "MaxEnergyOnInvalidId", "MaxEnergyOnInvalidId", INTEGER, unit="Wh"),
    held(TX, "TxBeforeAcceptedEnabled", BOOLEAN, FALSE),
    held(
        TX, "TxStartPoint", MEMBER_LIST, "PowerPathClosed", values_list=TX_POINTS, allow_empty=False
    ),
    held(
        TX,
        "TxStopPoint",
        MEMBER_LIST,
        "EVConnected,Authorized",
        values_list=TX_POINTS,
        allow_empty=False,
    ),
    held(AUTH, "Enabled", BOOLEAN, TRUE),
    _mapped(AUTH, "AuthorizeRemoteStart", "AuthorizeRemoteTxRequests", BOOLEAN),
    _mapped(AUTH, "LocalAuthorizeOffline", "LocalAuthorizeOffline", BOOLEAN),
    _mapped(AUTH, "LocalPreAuthorize", "LocalPreAuthorize", BOOLEAN),
    _mapped(AUTH, "OfflineTxForUnknownIdEnabled", "AllowOfflineTxForUnknownId", BOOLEAN),
    _mapped(CACHE, "Enabled", "AuthorizationCacheEnabled", BOOLEAN),
    live(CACHE, "Available", BOOLEAN, fixed(TRUE), constant=True),
    held(CACHE, "LifeTime", INTEGER, "86400", unit="s", min_limit=1),
    live(
        CACHE,
        "Storage",
        INTEGER,
        _cache_storage,
        unit="B",
        max_limit_of=lambda station, target: station.auth_cache.capacity * BYTES_PER_AUTH_ENTRY,
    ),
    # The cache drops the entry learnt longest ago (lookups do not refresh it): FIFO, fixed.
    live(CACHE, "Policy", OPTION_LIST, fixed("FIFO"), values_list=CACHE_POLICIES, constant=True),
    _mapped(LOCAL, "Enabled", "LocalAuthListEnabled", BOOLEAN),
    live(LOCAL, "Available", BOOLEAN, _feature("LocalAuthListManagement")),
    live(
        LOCAL,
        "Entries",
        INTEGER,
        _list_entries,
        max_limit_of=lambda station, target: station.local_list.max_length,
    ),
    _mapped(LOCAL, "ItemsPerMessage", "SendLocalListMaxLength", INTEGER, constant=True),
    live(LOCAL, "BytesPerMessage", INTEGER, fixed(str(BYTES_PER_MESSAGE)), unit="B", constant=True),
    live(
        LOCAL,
        "Storage",
        INTEGER,
        _list_storage,
        unit="B",
        max_limit_of=lambda station, target: station.local_list.max_length * BYTES_PER_AUTH_ENTRY,
    ),
    held(SAMPLED, "Enabled", BOOLEAN, TRUE),
    held(
        SAMPLED,
        "TxStartedMeasurands",
        MEMBER_LIST,
        "Energy.Active.Import.Register",
        values_list=MEASURANDS_201,
    ),
    _measurands(SAMPLED, "TxUpdatedMeasurands", "MeterValuesSampledData"),
    _mapped(SAMPLED, "TxUpdatedInterval", "MeterValueSampleInterval", INTEGER, unit="s"),
    _measurands(SAMPLED, "TxEndedMeasurands", "StopTxnSampledData"),
    held(SAMPLED, "TxEndedInterval", INTEGER, "0", unit="s", min_limit=0),
    held(ALIGNED, "Enabled", BOOLEAN, TRUE),
    _mapped(ALIGNED, "Interval", "ClockAlignedDataInterval", INTEGER, unit="s"),
    _measurands(ALIGNED, "Measurands", "MeterValuesAlignedData"),
    _measurands(ALIGNED, "TxEndedMeasurands", "StopTxnAlignedData"),
    held(ALIGNED, "TxEndedInterval", INTEGER, "0", unit="s", min_limit=0),
    # Charging profiles cap the EV's power in the station model (fleet/model/smart_charging.py).
    held(SMART, "Enabled", BOOLEAN, TRUE),
    live(SMART, "Available", BOOLEAN, _feature("SmartCharging")),
    _mapped(SMART, "ProfileStackLevel", "ChargeProfileMaxStackLevel", INTEGER),
    _mapped(SMART, "PeriodsPerSchedule", "ChargingScheduleMaxPeriods", INTEGER),
    _mapped(SMART, "Entries", "MaxChargingProfilesInstalled", INTEGER),
    held(RESERVATION, "Enabled", BOOLEAN, TRUE),
    live(RESERVATION, "Available", BOOLEAN, _feature("Reservation")),
    _mapped(
        RESERVATION, "NonEvseSpecific", "ReserveConnectorZeroSupported", BOOLEAN, constant=True
    ),
    # 2.0.1 changes the profile through SetNetworkProfile only, so the variable is ReadOnly
    # here; 1.6 ChangeConfiguration SecurityProfile still writes the same key.
    _mapped(
        SECURITY, "SecurityProfile", "SecurityProfile", INTEGER, mutability=READ_ONLY, max_limit=3
    ),
    _mapped(
        SECURITY,
        "BasicAuthPassword",
        "AuthorizationKey",
        STRING,
        mutability=WRITE_ONLY,
        min_limit=16,
        max_limit=40,
    ),
    # The identity is the charger's address in the fleet (URL path); it does not move.
    live(SECURITY, "Identity", STRING, _identity, max_limit=48, constant=True),
    held(SECURITY, "OrganizationName", STRING, "Voltlab", max_limit=CONFIGURATION_VALUE_SIZE),
    live(
        DEVICE_DATA,
        "ItemsPerMessage",
        INTEGER,
        fixed(str(ITEMS_PER_MESSAGE)),
        instance="GetReport",
        constant=True,
    ),
    # GetVariables plays the part of 1.6 GetConfiguration: same limit, same key.
    _mapped(
        DEVICE_DATA,
        "ItemsPerMessage",
        "GetConfigurationMaxKeys",
        INTEGER,
        instance="GetVariables",
        constant=True,
    ),
    live(
        DEVICE_DATA,
        "ItemsPerMessage",
        INTEGER,
        fixed(str(ITEMS_PER_MESSAGE)),
        instance="SetVariables",
        constant=True,
    ),
    *(
        live(
            DEVICE_DATA,
            "BytesPerMessage",
            INTEGER,
            fixed(str(BYTES_PER_MESSAGE)),
            instance=instance,
            unit="B",
            constant=True,
        )
        for instance in ("GetReport", "GetVariables", "SetVariables")
    ),
    live(
        DEVICE_DATA, "ReportingValueSize", INTEGER, fixed(str(REPORTING_VALUE_SIZE)), constant=True
    ),
    live(
        DEVICE_DATA,
        "ConfigurationValueSize",
        INTEGER,
        fixed(str(CONFIGURATION_VALUE_SIZE)),
        constant=True,
    ),
    live(CLOCK, "DateTime", DATE_TIME, _clock),
    # The virtual station runs on the host's clock, hence RealTimeClock by default.
    held(
        CLOCK,
        "TimeSource",
        SEQUENCE_LIST,
        "RealTimeClock",
        values_list=TIME_SOURCES,
        allow_empty=False,
    ),
    live(STATION, "AvailabilityState", OPTION_LIST, _station_state, values_list=CONNECTOR_STATES),
    live(STATION, "Available", BOOLEAN, fixed(TRUE), constant=True),
    live(STATION, "Problem", BOOLEAN, _station_problem),
    live(STATION, "Model", STRING, lambda s, t, n: s.model.model, constant=True),
    live(STATION, "VendorName", STRING, lambda s, t, n: s.model.vendor, constant=True),
    live(STATION, "SupplyPhases", INTEGER, _station_phases, constant=True),
    live(
        STATION,
        "Power",
        DECIMAL,
        _station_power,
        number=_station_watts,
        unit="W",
        min_limit=0,
        max_limit_of=lambda station, target: station.model.max_station_power_w,
    ),
    live(
        EVSE,
        "AvailabilityState",
        OPTION_LIST,
        _connector_state,
        values_list=CONNECTOR_STATES,
        scope=EVSE_SCOPE,
    ),
    live(EVSE, "Available", BOOLEAN, fixed(TRUE), constant=True, scope=EVSE_SCOPE),
    live(EVSE, "Problem", BOOLEAN, _connector_problem, scope=EVSE_SCOPE),
    live(
        EVSE,
        "Power",
        DECIMAL,
        _evse_power,
        number=_evse_watts,
        unit="W",
        min_limit=0,
        max_limit_of=lambda station, target: (
            station.connectors[target.evse_id or 0].spec.max_power_w
        ),
        scope=EVSE_SCOPE,
    ),
    live(
        EVSE,
        "SupplyPhases",
        INTEGER,
        lambda s, t, n: str(_connector_phases(s, t)),
        constant=True,
        scope=EVSE_SCOPE,
    ),
    live(
        CONNECTOR,
        "AvailabilityState",
        OPTION_LIST,
        _connector_state,
        values_list=CONNECTOR_STATES,
        scope=CONNECTOR_SCOPE,
    ),
    live(CONNECTOR, "Available", BOOLEAN, fixed(TRUE), constant=True, scope=CONNECTOR_SCOPE),
    live(CONNECTOR, "Problem", BOOLEAN, _connector_problem, scope=CONNECTOR_SCOPE),
    live(CONNECTOR, "ConnectorType", STRING, _connector_type, constant=True, scope=CONNECTOR_SCOPE),
    live(
        CONNECTOR,
        "SupplyPhases",
        INTEGER,
        lambda s, t, n: str(_connector_phases(s, t)),
        constant=True,
        scope=CONNECTOR_SCOPE,
    ),
)
