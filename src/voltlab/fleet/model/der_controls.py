"""DER controls of a bidirectional station (OCPP 2.1 functional block R): the settings a grid
operator's code reaches the station with, through its CSMS (SetDERControl), stored per control
type, reported (GetDERControl -> ReportDERControl) and cleared (ClearDERControl); and the grid
events that raise a DER alarm (NotifyDERAlarm).

Which control is in effect is a rule, not a field (R04): per control type, a scheduled control
inside its window (startTime, startTime + duration) goes before the default one; among several,
the lowest `priority` value wins. A control that a control of the same type and kind (default
or scheduled) with a higher priority covers is superseded: kept and reported, never executed.
Setting a control supersedes the ones it overrides (their ids are answered as
`supersededIds`); a control set under one of higher priority is superseded itself.

What the station acts on (the rest is stored and reported as the CSMS sent it):
- LimitMaxDischarge caps the EV's discharge at `pctMaxDischargePower` percent of its rated
  discharge power;
- a grid event (an OverVoltage / UnderVoltage / OverFrequency / UnderFrequency fault on the
  station, injected with the gateway's `inject-fault`) under a trip control of its kind raises
  a DER alarm; MustTrip and MomCess controls stop the power transfer while the event lasts
  (MayTrip rides through).

Version-neutral data; only a 2.1 station receives controls. Free of I/O."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# DERControlEnumType
DER_CONTROL_TYPES = (
    "EnterService",
    "FreqDroop",
    "FreqWatt",
    "FixedPFAbsorb",
    "FixedPFInject",
    "FixedVar",
    "Gradients",
    "HFMustTrip",
    "HFMayTrip",
    "HVMustTrip",
    "HVMomCess",
    "HVMayTrip",
    "LimitMaxDischarge",
    "LFMustTrip",
    "LVMustTrip",
    "LVMomCess",
    "LVMayTrip",
    "PowerMonitoringMustTrip",
    "VoltVar",
    "VoltWatt",
    "WattPF",
    "WattVar",
)
# Controls that exist only as defaults (R04: EnterService and Gradients have no schedule).
DEFAULT_ONLY = frozenset({"EnterService", "Gradients"})
LIMIT_MAX_DISCHARGE = "LimitMaxDischarge"
# A grid event and the trip controls that answer it, the one whose alarm is raised first.
TRIPS: dict[str, tuple[str, ...]] = {
    "OverVoltage": ("HVMustTrip", "HVMomCess", "HVMayTrip"),
    "UnderVoltage": ("LVMustTrip", "LVMomCess", "LVMayTrip"),
    "OverFrequency": ("HFMustTrip", "HFMayTrip"),
    "UnderFrequency": ("LFMustTrip", "LFMayTrip"),
}
GRID_EVENTS = frozenset(TRIPS)
# Must trip and momentary cessation stop the power transfer; may trip rides through.
CEASING = frozenset(
    {"HVMustTrip", "HVMomCess", "LVMustTrip", "LVMomCess", "HFMustTrip", "LFMustTrip"}
)
# The grid's frequency as the station measures it: nominal, and during a frequency event
# (beyond the +-0.5 Hz at which European grid codes ask for a response).
NOMINAL_HZ = 50.0
EXCURSION_HZ = 0.6


@dataclass(frozen=True)
class DerControl:
    control_id: str
    control_type: str  # a DER_CONTROL_TYPES value
    is_default: bool
    priority: int  # 0 is the highest
    # The setting's window (POSIX seconds); no start: in force from when it was set.
    start: float | None
    duration: float | None
    # The setting as the CSMS sent it (OCPP 2.1 field names: 2.1 is the only version with DER
    # controls), reported back as it came.
    setting: Mapping[str, Any]
    superseded: bool = False
    # LimitMaxDischarge: percent of the EV's rated discharge power it may give at most.
    pct_max_discharge: float | None = None

    def active_at(self, now: float) -> bool:
        if self.start is None:
            return True
        if now < self.start:
            return False
        return self.duration is None or now < self.start + self.duration

    def overlaps(self, other: DerControl) -> bool:
        """Could the two be in force at one instant? (An open window overlaps everything
        after its start.)"""
        start_a, end_a = _window(self)
        start_b, end_b = _window(other)
        return start_a < end_b and start_b < end_a


def _order(control: DerControl) -> tuple[int, bool, int, str]:
    """By type, defaults first, then by priority (the highest first)."""
    kind = DER_CONTROL_TYPES.index(control.control_type)
    return kind, not control.is_default, control.priority, control.control_id


def _window(control: DerControl) -> tuple[float, float]:
    start = float("-inf") if control.start is None else control.start
    end = float("inf") if control.duration is None else start + control.duration
    return start, end


class DerControls:
    __slots__ = ("_controls", "alarms")

    def __init__(self) -> None:
        self._controls: dict[str, DerControl] = {}
        # The alarm raised per grid event (its control type), to be ended when it clears.
        self.alarms: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self._controls)

    # -- SetDERControl ------------------------------------------------------------------------

    def set(self, control: DerControl) -> tuple[str, ...]:
        """Store a control (replacing one with its id); returns the ids it superseded. The
        control is stored superseded when one of higher priority covers it."""
        self._controls.pop(control.control_id, None)
        rivals = [
            other
            for other in self._controls.values()
            if other.control_type == control.control_type
            and other.is_default == control.is_default
            and not other.superseded
            and other.overlaps(control)
        ]
        # On equal priority the newer control goes first.
        if any(other.priority < control.priority for other in rivals):
            control = dataclasses.replace(control, superseded=True)
            self._controls[control.control_id] = control
            return ()
        superseded = tuple(other.control_id for other in rivals)
        for control_id in superseded:
            self._controls[control_id] = dataclasses.replace(
                self._controls[control_id], superseded=True
            )
        self._controls[control.control_id] = control
        return superseded

    # -- GetDERControl / ClearDERControl -------------------------------------------------------

    def find(
        self,
        *,
        is_default: bool | None = None,
        control_type: str | None = None,
        control_id: str | None = None,
    ) -> list[DerControl]:
        """The controls matching every criterion given; an id names one control and the type
        is then not a criterion (the 2.1 schema: "not used when controlId is provided")."""
        if control_id is not None:
            found = self._controls.get(control_id)
            matches = [] if found is None else [found]
            control_type = None
        else:
            matches = list(self._controls.values())
        return sorted(
            (
                control
                for control in matches
                if (is_default is None or control.is_default == is_default)
                and (control_type is None or control.control_type == control_type)
            ),
            key=_order,
        )

    def clear(
        self, *, is_default: bool, control_type: str | None = None, control_id: str | None = None
    ) -> list[DerControl]:
        """ClearDERControl: removes the matches; returns them (none: NotFound)."""
        doomed = self.find(is_default=is_default, control_type=control_type, control_id=control_id)
        for control in doomed:
            del self._controls[control.control_id]
        return doomed

    def all(self) -> list[DerControl]:
        return sorted(self._controls.values(), key=_order)

    # -- what is in force ---------------------------------------------------------------------

    def effective(self, control_type: str, now: float) -> DerControl | None:
        """The control of that type the station executes at `now`: a scheduled one in its
        window before the default, the lowest priority value first."""
        candidates = [
            control
            for control in self._controls.values()
            if control.control_type == control_type
            and not control.superseded
            and control.active_at(now)
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda c: (c.is_default, c.priority))

    def discharge_share(self, now: float) -> float | None:
        """LimitMaxDischarge in force: the share (0-1) of the EV's rated discharge power it
        may give; None: no such control."""
        control = self.effective(LIMIT_MAX_DISCHARGE, now)
        if control is None or control.pct_max_discharge is None:
            return None
        return max(0.0, min(100.0, control.pct_max_discharge)) / 100.0

    def trip(self, grid_event: str | None, now: float) -> DerControl | None:
        """The trip control that answers a grid event at `now` (None: none is set)."""
        for control_type in TRIPS.get(grid_event or "", ()):
            control = self.effective(control_type, now)
            if control is not None:
                return control
        return None

    def ceases(self, grid_event: str | None, now: float) -> bool:
        """Does a grid event stop the power transfer now (a must-trip or momentary-cessation
        control answers it)?"""
        control = self.trip(grid_event, now)
        return control is not None and control.control_type in CEASING

    def edges(self, now: float) -> list[float]:
        """The instants after `now` at which a control's window opens or closes."""
        found: list[float] = []
        for control in self._controls.values():
            if control.start is not None and control.start > now:
                found.append(control.start)
            if control.start is not None and control.duration is not None:
                end = control.start + control.duration
                if end > now:
                    found.append(end)
        return found

    # -- persistence --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any] | None:
        if not self._controls and not self.alarms:
            return None
        return {
            "controls": [dataclasses.asdict(control) for control in self.all()],
            "alarms": dict(self.alarms),
        }

    def restore(self, body: Mapping[str, Any]) -> None:
        self._controls = {}
        for item in body.get("controls", []):
            control = DerControl(**item)
            self._controls[control.control_id] = control
        self.alarms = {str(k): str(v) for k, v in (body.get("alarms") or {}).items()}


def grid_event(fault_types: Iterable[str | None]) -> str | None:
    """The grid event among a station's faults, if any."""
    for fault_type in fault_types:
        if fault_type in GRID_EVENTS:
            return fault_type
    return None


def grid_frequency_hz(event: str | None) -> float:
    """The frequency the station measures during a grid event (nominal otherwise)."""
    if event == "OverFrequency":
        return NOMINAL_HZ + EXCURSION_HZ
    if event == "UnderFrequency":
        return NOMINAL_HZ - EXCURSION_HZ
    return NOMINAL_HZ
