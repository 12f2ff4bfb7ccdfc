"""Variable monitoring over the device model (OCPP 2.0.1 N02-N07, reused by 2.1): setting and
clearing monitors by the CSMS's rules, the monitoring report, and evaluating the monitors
against the variables' values to produce events.

Values are read from the station through the device model at the instant the caller passes:
the machine evaluates after each event that may change the station, so a monitor sees every
value the station takes (power, availability, faults, settings). Thresholds report crossing
out (cleared False) and back (cleared True); a Delta monitor reports a change beyond its value
(any change of a non-numeric variable) against the value at its last event; periodic monitors
report on the machine's timers (`due`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from voltlab.fleet.model.device_model import DeviceModel
from voltlab.fleet.model.device_model_catalog import (
    DECIMAL,
    INTEGER,
    REPORTING_VALUE_SIZE,
    STATION_SCOPE,
    Target,
    VariableSpec,
)
from voltlab.fleet.model.device_model_types import (
    ComponentRef,
    Refusal,
    ReportFilter,
    VariableRef,
)
from voltlab.fleet.model.monitors import (
    DELTA,
    HARDWIRED,
    LOWER,
    MAX_CUSTOM_MONITORS,
    MAX_SEVERITY,
    MIN_SEVERITY,
    MONITOR_TYPES,
    PERIODIC,
    PERIODIC_TYPES,
    THRESHOLDS,
    UPPER,
    Monitor,
    MonitorEvent,
    Monitors,
)
from voltlab.fleet.model.records import Fault
from voltlab.fleet.model.station import Station

NUMERIC = frozenset({INTEGER, DECIMAL})
DAY = 86_400.0
TRIGGERS = {UPPER: "Alerting", LOWER: "Alerting", DELTA: "Delta"}


@dataclass(frozen=True)
class MonitorSetting:
    """One SetMonitoringDataType: a monitor the CSMS asks for (`id`: replace that one)."""

    component: ComponentRef
    variable: VariableRef
    type: str
    value: float
    severity: int
    transaction: bool = False
    id: int | None = None


@dataclass(frozen=True)
class MonitorResult:
    """One SetMonitoringResultType: the request's component, variable, type and severity as
    asked, the status, and the id of the monitor set (Accepted)."""

    setting: MonitorSetting
    status: str  # Accepted, UnknownComponent, UnknownVariable, UnsupportedMonitorType,
    # Rejected, Duplicate
    id: int | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class MonitoringData:
    """One MonitoringDataType of a monitoring report: a variable and its monitors."""

    component: ComponentRef
    variable: VariableRef
    monitors: tuple[Monitor, ...]


def canonical(spec: VariableSpec, target: Target) -> tuple[ComponentRef, VariableRef]:
    return (
        ComponentRef(spec.component, target.evse_id, target.connector_id),
        VariableRef(spec.variable, spec.instance),
    )


# -- SetVariableMonitoring --------------------------------------------------------------------


def set_monitors(
    model: DeviceModel, settings: Sequence[MonitorSetting], now: float
) -> list[MonitorResult]:
    """N04: each setting's result, in order; accepted monitors are set at once."""
    return [_set_one(model, setting, now) for setting in settings]


def _set_one(model: DeviceModel, setting: MonitorSetting, now: float) -> MonitorResult:
    monitors = model.station.monitors

    def refused(status: str, code: str | None = None, info: str = "") -> MonitorResult:
        refusal = None if code is None else Refusal(code, info)
        return MonitorResult(setting, status, setting.id, refusal)

    existing = None
    if setting.id is not None:
        existing = monitors.get(setting.id)
        if existing is None:  # an id names a monitor to replace; the station makes new ids
            return refused("Rejected", "NotFound", f"no monitor with id {setting.id}")
        if existing.kind == HARDWIRED:
            return refused("Rejected", "ReadOnly", f"monitor {setting.id} is hard-wired")
    found = model.resolve(setting.component, setting.variable)
    if isinstance(found, str):
        if existing is not None:  # the id's monitor watches another variable (N04)
            return refused("Rejected", "InvalidValue", f"monitor {setting.id} is elsewhere")
        return refused(found)
    spec, target = found
    component, variable = canonical(spec, target)
    if existing is not None and (existing.component, existing.variable) != (component, variable):
        return refused("Rejected", "InvalidValue", f"monitor {setting.id} watches another variable")
    if setting.type not in MONITOR_TYPES:
        return refused("UnsupportedMonitorType")
    if not spec.supports_monitoring:
        return refused("Rejected", "UnsupportedParam", f"{spec.dotted} cannot be monitored")
    if setting.type in THRESHOLDS and spec.data_type not in NUMERIC:
        return refused(
            "UnsupportedMonitorType", "UnsupportedParam", f"{spec.dotted} is not a number"
        )
    problem = _value_problem(model, spec, target, setting)
    if problem is not None:
        return refused("Rejected", *problem)
    monitor = Monitor(
        setting.id if setting.id is not None else 0,
        component,
        variable,
        setting.type,
        float(setting.value),
        setting.severity,
        setting.transaction,
    )
    if existing is None:
        duplicate = monitors.duplicate_of(monitor)
        if duplicate is not None:
            return refused("Duplicate", "Duplicate", f"monitor {duplicate.id} is the same")
        if monitors.custom_count() >= MAX_CUSTOM_MONITORS:
            return refused("Rejected", "TooManyElements", f"{MAX_CUSTOM_MONITORS} at most")
        monitor = Monitor(monitors.new_id(), *_fields(monitor))
    monitors.put(monitor)
    if monitor.type == DELTA:  # the reference is the value now (N07)
        references = monitors.references if monitors.references is not None else {}
        references[monitor.id] = model.read(spec, target, now)
        monitors.references = references
    return MonitorResult(setting, "Accepted", monitor.id)


def _fields(monitor: Monitor) -> tuple[ComponentRef, VariableRef, str, float, int, bool]:
    return (
        monitor.component,
        monitor.variable,
        monitor.type,
        monitor.value,
        monitor.severity,
        monitor.transaction,
    )


def _value_problem(
    model: DeviceModel, spec: VariableSpec, target: Target, setting: MonitorSetting
) -> tuple[str, str] | None:
    if not MIN_SEVERITY <= setting.severity <= MAX_SEVERITY:
        return "InvalidValue", f"severity {setting.severity} is not 0 to 9"
    value = setting.value
    if not math.isfinite(value):
        return "InvalidValue", "the monitor value must be finite"
    if setting.type in PERIODIC_TYPES:
        if value < 1:
            return "ValueTooLow", "a periodic monitor's interval is at least 1 s"
        return None
    if setting.type == DELTA:
        return ("ValuePositiveOnly", "a delta is not negative") if value < 0 else None
    limits = model.characteristics(spec, target)
    if limits.min_limit is not None and value < limits.min_limit:
        return "ValueTooLow", f"{spec.dotted} never goes below {limits.min_limit:g}"
    if limits.max_limit is not None and value > limits.max_limit:
        return "ValueTooHigh", f"{spec.dotted} never goes above {limits.max_limit:g}"
    return None


# -- ClearVariableMonitoring, SetMonitoringBase ---------------------------------------------------


def clear_monitors(monitors: Monitors, ids: Sequence[int]) -> list[tuple[int, str]]:
    """N06: Accepted, NotFound, or Rejected for a hard-wired monitor."""
    results: list[tuple[int, str]] = []
    for monitor_id in ids:
        found = monitors.get(monitor_id)
        if found is None:
            results.append((monitor_id, "NotFound"))
        elif found.kind == HARDWIRED:
            results.append((monitor_id, "Rejected"))
        else:
            monitors.remove(monitor_id)
            results.append((monitor_id, "Accepted"))
    return results


# -- GetMonitoringReport ------------------------------------------------------------------------


def monitoring_report(
    model: DeviceModel,
    filters: Sequence[ReportFilter],
    types: frozenset[str] | None,
) -> list[MonitoringData]:
    """N02: the monitors matching the component/variable filters (an absent EVSE or variable
    matches all) and the criteria's types, grouped by variable in device-model order."""
    by_variable: dict[tuple[ComponentRef, VariableRef], list[Monitor]] = {}
    for monitor in model.station.monitors.select(types):
        if filters and not any(_matches(monitor, wanted) for wanted in filters):
            continue
        by_variable.setdefault((monitor.component, monitor.variable), []).append(monitor)
    order = {
        canonical(spec, target): index for index, (spec, target) in enumerate(model.instances())
    }
    keys = sorted(by_variable, key=lambda key: order.get(key, len(order)))
    return [MonitoringData(key[0], key[1], tuple(by_variable[key])) for key in keys]


def _matches(monitor: Monitor, wanted: ReportFilter) -> bool:
    component = wanted.component
    if component.name.lower() != monitor.component.name.lower():
        return False
    if component.evse_id is not None and component.evse_id != monitor.component.evse_id:
        return False
    connector_id = component.connector_id
    if connector_id is not None and connector_id != monitor.component.connector_id:
        return False
    variable = wanted.variable
    if variable is None:
        return True
    if variable.name.lower() != monitor.variable.name.lower():
        return False
    return variable.instance is None or (monitor.variable.instance or "").lower() == (
        variable.instance.lower()
    )


# -- evaluation ---------------------------------------------------------------------------------


def next_due(monitor: Monitor, now: float) -> float:
    """When a periodic monitor reports next: every `value` seconds from now (Periodic), or at
    the next multiple of `value` seconds after midnight UTC (PeriodicClockAligned)."""
    interval = max(1.0, monitor.value)
    if monitor.type == PERIODIC:
        return now + interval
    midnight = now - now % DAY
    return midnight + (math.floor((now - midnight) / interval) + 1) * interval


class MonitorEvaluator:
    """Evaluates one station's monitors; keeps what it resolved until the monitors change.
    Asked after nearly every event of a 2.x station, so the common path reads each watched
    variable once and builds nothing when no state changes."""

    __slots__ = ("_model", "_resolved", "_version")

    def __init__(self, model: DeviceModel) -> None:
        self._model = model
        self._resolved: list[tuple[Monitor, VariableSpec, Target]] = []
        self._version = -1

    def watched(self) -> list[tuple[Monitor, VariableSpec, Target]]:
        """The active monitors with their variable and instance (a monitor on an EVSE the
        station lacks watches nothing)."""
        monitors = self._model.station.monitors
        if monitors.version != self._version:
            resolved = []
            for monitor in monitors.active():
                found = self._model.resolve(monitor.component, monitor.variable)
                if not isinstance(found, str):
                    resolved.append((monitor, *found))
            self._resolved, self._version = resolved, monitors.version
        return self._resolved

    def evaluate(self, now: float) -> list[MonitorEvent]:
        """The events of every threshold and delta monitor whose state changed."""
        model = self._model
        station = model.station
        monitors = station.monitors
        events: list[MonitorEvent] = []
        for monitor, spec, target in self.watched():
            kind = monitor.type
            if kind in PERIODIC_TYPES:
                continue  # the timers' (`periodic`)
            if monitor.transaction and _transaction_of(station, spec, target) is None:
                continue  # only while a transaction runs on the component
            if kind in THRESHOLDS and spec.number is not None:
                value = ""  # made only for an event
                beyond = _beyond(monitors, monitor, spec.number(station, target))
            else:
                read = spec.read
                value = read(station, target, now) if read else model.read(spec, target, now)
                if kind in THRESHOLDS:
                    beyond = _beyond(monitors, monitor, _number(value))
                else:
                    beyond = _delta(monitors, monitor, spec, value)
            if beyond is None:
                continue
            value = value or model.read(spec, target, now)
            event = _event(monitors, monitor, TRIGGERS[kind], value, now)
            if kind in THRESHOLDS:
                event = replace(event, cleared=not beyond)
            tx_id = _transaction_of(station, spec, target)
            events.append(_finish(event, station, spec, target, tx_id, value))
        return events

    def periodic(self, monitor_id: int, now: float) -> MonitorEvent | None:
        """A periodic monitor's due report (None: gone, or waiting for a transaction)."""
        for monitor, spec, target in self.watched():
            if monitor.id != monitor_id:
                continue
            station = self._model.station
            tx_id = _transaction_of(station, spec, target)
            if monitor.transaction and tx_id is None:
                return None
            value = self._model.read(spec, target, now)
            event = _event(station.monitors, monitor, "Periodic", value, now)
            return _finish(event, station, spec, target, tx_id, value)
        return None


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _beyond(monitors: Monitors, monitor: Monitor, number: float | None) -> bool | None:
    """A threshold's new state when it changed (True: beyond the limit now), else None."""
    if number is None:
        return None
    beyond = number > monitor.value if monitor.type == UPPER else number < monitor.value
    triggered = monitors.triggered
    was = triggered is not None and monitor.id in triggered
    if beyond == was:
        return None
    if beyond:
        if triggered is None:
            triggered = monitors.triggered = set()
        triggered.add(monitor.id)
    else:
        assert triggered is not None
        triggered.discard(monitor.id)
        if not triggered:
            monitors.triggered = None
    return beyond


def _delta(monitors: Monitors, monitor: Monitor, spec: VariableSpec, value: str) -> bool | None:
    """True when a delta monitor's variable moved beyond its value since its reference (which
    becomes the value now), else None."""
    references = monitors.references
    reference = references.get(monitor.id) if references is not None else None
    if reference is None:
        reference = monitor.reference
    if reference is None:  # nothing to compare with yet: the value now is the reference
        _remember(monitors, monitor.id, value)
        return None
    if spec.data_type in NUMERIC:
        now_number, then_number = _number(value), _number(reference)
        if now_number is None or then_number is None:
            changed = value != reference
        else:
            changed = abs(now_number - then_number) > monitor.value
    else:
        changed = value != reference
    if not changed:
        return None
    _remember(monitors, monitor.id, value)
    return True


def _remember(monitors: Monitors, monitor_id: int, value: str) -> None:
    references = monitors.references if monitors.references is not None else {}
    references[monitor_id] = value
    monitors.references = references


def _event(
    monitors: Monitors, monitor: Monitor, trigger: str, value: str, now: float
) -> MonitorEvent:
    return MonitorEvent(
        monitors.next_event(),
        now,
        trigger,
        value[:REPORTING_VALUE_SIZE],
        monitor.component,
        monitor.variable,
        monitor.id,
        monitor.kind,
        monitor.severity,
    )


def _finish(
    event: MonitorEvent,
    station: Station,
    spec: VariableSpec,
    target: Target,
    tx_id: str | None,
    value: str,
) -> MonitorEvent:
    """The event with its transaction and, for a fault, what the fault is."""
    fault: Fault | None = None
    if spec.variable == "Problem" and value == "true":
        if target.evse_id is None:
            fault = station.station_fault
        elif target.evse_id in station.connectors:
            fault = station.connectors[target.evse_id].fault
    if fault is None:
        return replace(event, transaction_id=tx_id)
    return replace(event, transaction_id=tx_id, tech_code=fault.fault_type, tech_info=fault.info)


def _transaction_of(station: Station, spec: VariableSpec, target: Target) -> str | None:
    """The transaction running on the component's EVSE (the station's: any running one)."""
    if spec.scope == STATION_SCOPE or target.evse_id is None:
        running = station.transactions()
        found = running[0] if running else None
    else:
        conn = station.connectors.get(target.evse_id)
        found = None if conn is None else conn.transaction
    return None if found is None or found.transaction_id is None else str(found.transaction_id)
