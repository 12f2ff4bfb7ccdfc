"""The 2.x device model's controllers beyond the standard set of `device_model_catalog`
(OCPP 2.0.1 part 2, appendix 3): MonitoringCtrlr (functional block N), DisplayMessageCtrlr (O),
the network connection profiles of OCPPCommCtrlr (B09/B10) and the external limits of
SmartChargingCtrlr (K12), over the station's monitors, display messages, network profiles and
external limits; and the index of the whole catalog the device model resolves names in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltlab.fleet.model.device_model_catalog import (
    BOOLEAN,
    BYTES_PER_MESSAGE,
    COMM,
    DECIMAL,
    FALSE,
    INTEGER,
    MEMBER_LIST,
    OPTION_LIST,
    READ_ONLY,
    SMART,
    TRUE,
    VARIABLES,
    Target,
    VariableSpec,
    fixed,
    held,
    live,
)
from voltlab.fleet.model.device_model_iso15118 import ISO15118_VARIABLES
from voltlab.fleet.model.display_messages import FORMATS, PRIORITIES
from voltlab.fleet.model.monitors import BASES, MAX_SEVERITY, MIN_SEVERITY
from voltlab.fleet.model.tariff_variables import TARIFF_COST_VARIABLES

if TYPE_CHECKING:
    from voltlab.fleet.model.station import Station

MONITORING, DISPLAY = "MonitoringCtrlr", "DisplayMessageCtrlr"
# Items and bytes a SetVariableMonitoring / ClearVariableMonitoring may carry; beyond them the
# station answers CALLERROR OccurrenceConstraintViolation / FormatViolation (N04, N06).
MONITORING_ITEMS_PER_MESSAGE = 20
MONITORING_BYTES_PER_MESSAGE = BYTES_PER_MESSAGE
MONITORING_REQUESTS = ("SetVariableMonitoring", "ClearVariableMonitoring")


def _monitoring_base(station: Station, target: Target, now: float) -> str:
    return station.monitors.base


def _monitoring_level(station: Station, target: Target, now: float) -> str:
    return str(station.monitors.level)


def _display_count(station: Station, target: Target, now: float) -> str:
    return str(len(station.display_messages.all(now)))


def _active_slot(station: Station, target: Target, now: float) -> str:
    return str(station.network.active)


CONTROLLER_VARIABLES: tuple[VariableSpec, ...] = (
    held(MONITORING, "Enabled", BOOLEAN, TRUE),
    live(MONITORING, "Available", BOOLEAN, fixed(TRUE), constant=True),
    *(
        live(
            MONITORING,
            "ItemsPerMessage",
            INTEGER,
            fixed(str(MONITORING_ITEMS_PER_MESSAGE)),
            instance=instance,
            constant=True,
        )
        for instance in MONITORING_REQUESTS
    ),
    *(
        live(
            MONITORING,
            "BytesPerMessage",
            INTEGER,
            fixed(str(MONITORING_BYTES_PER_MESSAGE)),
            instance=instance,
            unit="B",
            constant=True,
        )
        for instance in MONITORING_REQUESTS
    ),
    # Events up to this severity wait for the next connection while the station is offline.
    held(
        MONITORING,
        "OfflineQueuingSeverity",
        INTEGER,
        "2",
        min_limit=MIN_SEVERITY,
        max_limit=MAX_SEVERITY,
    ),
    # Set by SetMonitoringBase and SetMonitoringLevel, not by SetVariables.
    live(
        MONITORING,
        "ActiveMonitoringBase",
        OPTION_LIST,
        _monitoring_base,
        values_list=BASES,
        stored=True,
    ),
    live(
        MONITORING,
        "ActiveMonitoringLevel",
        INTEGER,
        _monitoring_level,
        min_limit=MIN_SEVERITY,
        max_limit=MAX_SEVERITY,
        stored=True,
    ),
    held(DISPLAY, "Enabled", BOOLEAN, TRUE),
    live(DISPLAY, "Available", BOOLEAN, fixed(TRUE), constant=True),
    live(
        DISPLAY,
        "DisplayMessages",
        INTEGER,
        _display_count,
        max_limit_of=lambda station, target: station.display_messages.capacity,
        stored=True,
    ),
    live(
        DISPLAY,
        "SupportedFormats",
        MEMBER_LIST,
        fixed(",".join(FORMATS)),
        values_list=FORMATS,
        constant=True,
    ),
    live(
        DISPLAY,
        "SupportedPriorities",
        MEMBER_LIST,
        fixed(",".join(PRIORITIES)),
        values_list=PRIORITIES,
        constant=True,
    ),
    # Failed connection attempts on one network profile before the next one is tried (B10).
    held(COMM, "NetworkProfileConnectionAttempts", INTEGER, "3", min_limit=1, max_limit=100),
    live(COMM, "ActiveNetworkProfile", INTEGER, _active_slot, mutability=READ_ONLY),
    # An external limit is reported when it moved by more than this percentage (K12).
    held(SMART, "LimitChangeSignificance", DECIMAL, "0", unit="%", min_limit=0, max_limit=100),
    held(SMART, "NotifyChargingLimitWithSchedules", BOOLEAN, FALSE),
    held(SMART, "ExternalControlSignalsEnabled", BOOLEAN, TRUE),
)

# Every variable the device model knows, and its case-insensitive index (names are
# case-insensitive on the wire): component -> scope, component -> variables.
CATALOG: tuple[VariableSpec, ...] = (
    *VARIABLES,
    *CONTROLLER_VARIABLES,
    *TARIFF_COST_VARIABLES,
    *ISO15118_VARIABLES,
)
COMPONENT_SCOPES: dict[str, str] = {spec.component: spec.scope for spec in CATALOG}
VARIABLES_BY_COMPONENT: dict[str, tuple[VariableSpec, ...]] = {
    name.lower(): tuple(spec for spec in CATALOG if spec.component == name)
    for name in COMPONENT_SCOPES
}
