"""Variable monitors of a station's device model (OCPP 2.0.1 functional block N, reused by 2.1):
which monitors exist, which are active under the monitoring base, the monitoring level, and
what evaluating them left behind (thresholds crossed, delta references, periodic due times).

Version-neutral and free of I/O; the station holds one `Monitors`. Resolving a monitor's
variable and reading its value is `device_monitoring`'s (it needs the device model, which
needs the station); the 2.x codecs say monitors and their events in a version's words.

Three kinds, as OCPP names them: hard-wired monitors (built into the station, never cleared
or changed), preconfigured monitors (the manufacturer's; some form the factory default) and
custom monitors the CSMS sets. Hard-wired and preconfigured ones come from the charger model
(`preset_monitors`), shared by every station of a model: a station stores only what the CSMS
changed. Monitor ids: the presets take 1..n, custom monitors count on from 101."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from voltlab.fleet.model.catalog import ChargerModel
from voltlab.fleet.model.device_model_types import ComponentRef, VariableRef

UPPER, LOWER, DELTA = "UpperThreshold", "LowerThreshold", "Delta"
PERIODIC, CLOCK_ALIGNED = "Periodic", "PeriodicClockAligned"
MONITOR_TYPES = (UPPER, LOWER, DELTA, PERIODIC, CLOCK_ALIGNED)
THRESHOLDS = frozenset({UPPER, LOWER})
PERIODIC_TYPES = frozenset({PERIODIC, CLOCK_ALIGNED})
# MonitoringCriterionEnumType -> the monitor types it selects (GetMonitoringReport).
CRITERIA = {
    "ThresholdMonitoring": THRESHOLDS,
    "DeltaMonitoring": frozenset({DELTA}),
    "PeriodicMonitoring": PERIODIC_TYPES,
}
# EventNotificationEnumType words for the kinds of monitor.
HARDWIRED, PRECONFIGURED, CUSTOM = "HardWiredMonitor", "PreconfiguredMonitor", "CustomMonitor"
# MonitoringBaseEnumType.
ALL, FACTORY_DEFAULT, HARDWIRED_ONLY = "All", "FactoryDefault", "HardWiredOnly"
BASES = (ALL, FACTORY_DEFAULT, HARDWIRED_ONLY)
# Severity 0 (Danger) .. 9 (Debug); the monitoring level reports events up to its number.
MIN_SEVERITY, MAX_SEVERITY = 0, 9
FIRST_CUSTOM_ID = 101
# Custom monitors a station keeps at most (SetVariableMonitoring answers Rejected beyond).
MAX_CUSTOM_MONITORS = 100
# Events kept while offline (severity up to OfflineQueuingSeverity), oldest dropped first.
MAX_PENDING_EVENTS = 200


@dataclass(frozen=True, slots=True)
class Monitor:
    """One monitor on one variable of one component instance, named as the device model
    names it (canonical component and variable names)."""

    id: int
    component: ComponentRef
    variable: VariableRef
    type: str
    value: float  # the threshold, the delta, or the period in seconds
    severity: int
    transaction: bool = False  # only active while a transaction runs on the component
    kind: str = CUSTOM
    factory_default: bool = False  # a preconfigured monitor of the FactoryDefault base
    # A Delta monitor's reference before anything was evaluated (presets: the value they were
    # built for); a custom one takes the value read when it was set.
    reference: str | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": [
                self.component.name,
                self.component.evse_id,
                self.component.connector_id,
            ],
            "variable": [self.variable.name, self.variable.instance],
            "type": self.type,
            "value": self.value,
            "severity": self.severity,
            "transaction": self.transaction,
            "kind": self.kind,
            "factory_default": self.factory_default,
            "reference": self.reference,
        }

    @classmethod
    def restore(cls, body: dict[str, Any]) -> Monitor:
        name, evse_id, connector_id = body["component"]
        variable, instance = body["variable"]
        return cls(
            id=int(body["id"]),
            component=ComponentRef(name, evse_id, connector_id),
            variable=VariableRef(variable, instance),
            type=str(body["type"]),
            value=float(body["value"]),
            severity=int(body["severity"]),
            transaction=bool(body.get("transaction", False)),
            kind=str(body.get("kind", CUSTOM)),
            factory_default=bool(body.get("factory_default", False)),
            reference=body.get("reference"),
        )


@dataclass(frozen=True, slots=True)
class MonitorEvent:
    """What a monitor reported (NotifyEvent's EventDataType, in no version's words)."""

    event_id: int
    timestamp: float
    trigger: str  # Alerting (thresholds), Delta, Periodic
    actual_value: str
    component: ComponentRef
    variable: VariableRef
    monitor_id: int
    notification_type: str  # HardWiredMonitor | PreconfiguredMonitor | CustomMonitor
    severity: int
    cleared: bool | None = None  # thresholds: back within the limit
    transaction_id: str | None = None
    tech_code: str | None = None
    tech_info: str | None = None


@functools.cache
def _presets(slug: str, evse_powers: tuple[int, ...], station_power: int) -> tuple[Monitor, ...]:
    station = ComponentRef("ChargingStation")
    found: list[Monitor] = [
        # A fault of the station reported as it comes and goes (StatusNotification has no
        # error code in 2.x: this is how a 2.x CSMS learns what went wrong).
        Monitor(
            1, station, VariableRef("Problem"), DELTA, 1.0, 1, kind=HARDWIRED, reference="false"
        )
    ]
    for index, power in enumerate(evse_powers, start=1):
        evse = ComponentRef("EVSE", index)
        found.append(
            Monitor(
                len(found) + 1,
                evse,
                VariableRef("Problem"),
                DELTA,
                1.0,
                1,
                kind=HARDWIRED,
                reference="false",
            )
        )
        # The power stage above its rating: never in normal operation.
        found.append(
            Monitor(
                len(found) + 1,
                evse,
                VariableRef("Power"),
                UPPER,
                float(power),
                4,
                kind=PRECONFIGURED,
                factory_default=True,
            )
        )
    # The station leaving or re-entering service (ChangeAvailability, a station fault).
    found.append(
        Monitor(
            len(found) + 1,
            station,
            VariableRef("AvailabilityState"),
            DELTA,
            1.0,
            7,
            kind=PRECONFIGURED,
            reference="Available",
        )
    )
    found.append(
        Monitor(
            len(found) + 1,
            station,
            VariableRef("Power"),
            UPPER,
            float(station_power),
            4,
            kind=PRECONFIGURED,
            factory_default=True,
        )
    )
    return tuple(found)


def preset_monitors(model: ChargerModel) -> tuple[Monitor, ...]:
    """The hard-wired and preconfigured monitors of every station of `model` (shared)."""
    powers = tuple(spec.max_power_w for spec in model.connectors)
    return _presets(model.slug, powers, model.max_station_power_w)


class Monitors:
    """The monitors of one station: the model's presets as the CSMS left them, its custom
    monitors, the monitoring base and level, and the evaluation's memory."""

    __slots__ = (
        "_presets",
        "_changed",
        "_removed",
        "base",
        "level",
        "next_id",
        "next_event_id",
        "version",
        "triggered",
        "references",
        "due",
        "pending",
    )

    def __init__(self, presets: tuple[Monitor, ...] = ()) -> None:
        self._presets = presets
        # Custom monitors and presets the CSMS replaced, by id (None: none, the common case).
        self._changed: dict[int, Monitor] | None = None
        self._removed: set[int] | None = None  # preconfigured monitors the CSMS cleared
        self.base = ALL
        self.level = MAX_SEVERITY
        self.next_id = FIRST_CUSTOM_ID
        self.next_event_id = 1
        self.version = 0  # counts changes, so an evaluator can cache what it resolved
        # Evaluation memory: thresholds beyond their limit, delta references, periodic dues.
        self.triggered: set[int] | None = None
        self.references: dict[int, str] | None = None
        self.due: dict[int, float] | None = None
        self.pending: list[MonitorEvent] | None = None

    # -- reading ------------------------------------------------------------------------------

    def all(self) -> Iterator[Monitor]:
        """Every monitor, presets first, in id order within each part."""
        changed = self._changed or {}
        removed = self._removed or set()
        for preset in self._presets:
            if preset.id not in removed:
                yield changed.get(preset.id, preset)
        for monitor_id in sorted(changed):
            if monitor_id >= FIRST_CUSTOM_ID:
                yield changed[monitor_id]

    def get(self, monitor_id: int) -> Monitor | None:
        changed = self._changed or {}
        if monitor_id in changed:
            return changed[monitor_id]
        if self._removed and monitor_id in self._removed:
            return None
        for preset in self._presets:
            if preset.id == monitor_id:
                return preset
        return None

    def is_active(self, monitor: Monitor) -> bool:
        """Under the monitoring base: All activates every preconfigured monitor,
        FactoryDefault its default subset, HardWiredOnly none; hard-wired and custom monitors
        are always active (the bases that end custom monitors clear them)."""
        if monitor.kind != PRECONFIGURED or self.base == ALL:
            return True
        return self.base == FACTORY_DEFAULT and monitor.factory_default

    def active(self) -> Iterator[Monitor]:
        return (monitor for monitor in self.all() if self.is_active(monitor))

    def custom_count(self) -> int:
        return sum(1 for key in self._changed or () if key >= FIRST_CUSTOM_ID)

    def duplicate_of(self, monitor: Monitor) -> Monitor | None:
        """A monitor of the same type and severity on the same variable (SetVariableMonitoring
        answers Duplicate rather than setting a second one)."""
        for other in self.all():
            if (
                other.component == monitor.component
                and other.variable == monitor.variable
                and other.type == monitor.type
                and other.severity == monitor.severity
            ):
                return other
        return None

    def select(self, types: frozenset[str] | None = None) -> list[Monitor]:
        return [m for m in self.all() if types is None or m.type in types]

    # -- changing -----------------------------------------------------------------------------

    def new_id(self) -> int:
        monitor_id = self.next_id
        self.next_id += 1
        return monitor_id

    def put(self, monitor: Monitor) -> None:
        """Set a custom monitor, or replace a monitor by its id (a preset keeps its kind)."""
        existing = self.get(monitor.id)
        if existing is not None and existing.kind != CUSTOM:
            monitor = replace(monitor, kind=existing.kind, factory_default=existing.factory_default)
        if self._changed is None:
            self._changed = {}
        self._changed[monitor.id] = monitor
        self._forget(monitor.id)
        self.version += 1

    def remove(self, monitor_id: int) -> None:
        if self._changed is not None:
            self._changed.pop(monitor_id, None)
        if any(preset.id == monitor_id for preset in self._presets):
            if self._removed is None:
                self._removed = set()
            self._removed.add(monitor_id)
        self._forget(monitor_id)
        self.version += 1

    def clear_custom(self) -> list[int]:
        """Remove every custom monitor (SetMonitoringBase FactoryDefault / HardWiredOnly);
        returns their ids."""
        doomed = [key for key in self._changed or () if key >= FIRST_CUSTOM_ID]
        for monitor_id in doomed:
            self.remove(monitor_id)
        return doomed

    def set_base(self, base: str) -> None:
        self.base = base
        self.version += 1

    def _forget(self, monitor_id: int) -> None:
        if self.triggered is not None:
            self.triggered.discard(monitor_id)
        if self.references is not None:
            self.references.pop(monitor_id, None)
        if self.due is not None:
            self.due.pop(monitor_id, None)

    # -- events -------------------------------------------------------------------------------

    def next_event(self) -> int:
        event_id = self.next_event_id
        self.next_event_id += 1
        return event_id

    def queue(self, events: Iterable[MonitorEvent]) -> None:
        """Keep events for the next connection (offline, up to OfflineQueuingSeverity)."""
        pending = self.pending if self.pending is not None else []
        pending.extend(events)
        del pending[:-MAX_PENDING_EVENTS]
        self.pending = pending or None

    def take_pending(self) -> list[MonitorEvent]:
        pending, self.pending = self.pending or [], None
        return pending

    # -- persistence --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any] | None:
        """What differs from a fresh station of the model (None: nothing)."""
        if (
            self._changed is None
            and self._removed is None
            and self.base == ALL
            and self.level == MAX_SEVERITY
            and self.next_event_id == 1
            and not self.references
        ):
            return None
        return {
            "changed": [monitor.snapshot() for monitor in (self._changed or {}).values()],
            "removed": sorted(self._removed or ()),
            "base": self.base,
            "level": self.level,
            "next_id": self.next_id,
            "next_event_id": self.next_event_id,
            "references": {str(key): value for key, value in (self.references or {}).items()},
        }

    def restore(self, body: dict[str, Any]) -> None:
        changed = [Monitor.restore(item) for item in body.get("changed", [])]
        self._changed = {monitor.id: monitor for monitor in changed} or None
        self._removed = {int(key) for key in body.get("removed", [])} or None
        base = body.get("base", ALL)
        self.base = base if base in BASES else ALL
        self.level = int(body.get("level", MAX_SEVERITY))
        self.next_id = max(int(body.get("next_id", FIRST_CUSTOM_ID)), FIRST_CUSTOM_ID)
        self.next_event_id = int(body.get("next_event_id", 1))
        references = {int(key): str(value) for key, value in body.get("references", {}).items()}
        self.references = references or None
        self.version += 1
