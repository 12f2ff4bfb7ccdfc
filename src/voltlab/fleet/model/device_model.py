"""The OCPP 2.0.1 device model of a virtual station: GetVariables, SetVariables, GetBaseReport /
GetReport data and the gateway's ``Component.Variable`` names, over the station's one set of
settings (`StationConfig`), so a value written through a 1.6 key and through a 2.x variable is
the same value.

It reads and answers in neutral items (`device_model_types`); the 2.x codec puts them into
the wire's shapes. The variable catalog lives in `device_model_catalog`, the value checks in
`device_model_values`. EVSE numbering: each station connector is one EVSE with one
connector, so connector n of the station is EVSE n, connectorId 1."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from voltlab.fleet.model.device_model_catalog import (
    CONNECTOR_SCOPE,
    DATE_TIME,
    EVSE_SCOPE,
    READ_ONLY,
    REPORTING_VALUE_SIZE,
    STATION_SCOPE,
    WRITE_ONLY,
    Target,
    VariableSpec,
)
from voltlab.fleet.model.device_model_controllers import (
    CATALOG,
    COMPONENT_SCOPES,
    VARIABLES_BY_COMPONENT,
)
from voltlab.fleet.model.device_model_types import (
    ComponentRef,
    Refusal,
    ReportFilter,
    ReportItem,
    VariableCharacteristics,
    VariableGet,
    VariableRef,
    VariableResult,
    VariableSet,
)
from voltlab.fleet.model.device_model_values import DeviceModelError, check_value
from voltlab.fleet.model.station import Station

ACTUAL = "Actual"
FULL_INVENTORY, CONFIGURATION_INVENTORY, SUMMARY_INVENTORY = (
    "FullInventory",
    "ConfigurationInventory",
    "SummaryInventory",
)
REPORT_BASES = frozenset({FULL_INVENTORY, CONFIGURATION_INVENTORY, SUMMARY_INVENTORY})
COMPONENT_CRITERIA = frozenset({"Active", "Available", "Enabled", "Problem"})
SUMMARY_VARIABLES = frozenset({"AvailabilityState", "Available", "Problem"})

_SCOPES = {name.lower(): scope for name, scope in COMPONENT_SCOPES.items()}
_STATION_VARIABLES = tuple(spec for spec in CATALOG if spec.scope == STATION_SCOPE)
_EVSE_VARIABLES = tuple(spec for spec in CATALOG if spec.scope == EVSE_SCOPE)
_CONNECTOR_VARIABLES = tuple(spec for spec in CATALOG if spec.scope == CONNECTOR_SCOPE)
# Component[evse] or Component[evse:connector], then .Variable, then an optional [instance].
_DOTTED = re.compile(
    r"^(?P<component>\w+)(?:\[(?P<evse>\d+)(?::(?P<connector>\d+))?\])?"
    r"\.(?P<variable>\w+)(?:\[(?P<instance>\w+)\])?$"
)


def pages(items: Sequence[ReportItem], per_page: int) -> list[list[ReportItem]]:
    """Split report items into NotifyReport pages of at most ``per_page`` items."""
    if per_page < 1:
        raise ValueError(f"per_page must be >= 1, got {per_page}")
    return [list(items[start : start + per_page]) for start in range(0, len(items), per_page)]


class DeviceModel:
    """The station's components and variables. Holds no state of its own: every value is
    read from (and written to) the station, so any number of instances agree."""

    def __init__(self, station: Station) -> None:
        self.station = station

    # Also reachable from an instance, for callers that only hold the device model.
    pages = staticmethod(pages)

    # -- GetVariables / SetVariables ----------------------------------------------------------

    def get_variables(self, items: Sequence[VariableGet], now: float) -> list[VariableResult]:
        """One result per item, in order; `now` is what ClockCtrlr.DateTime reads."""
        return [self._get_one(item, now) for item in items]

    def _get_one(self, item: VariableGet, now: float) -> VariableResult:
        found = self._resolve_actual(item)
        if isinstance(found, VariableResult):
            return found
        spec, target = found
        if spec.mutability == WRITE_ONLY:
            return _refused(item, "Rejected", "WriteOnly", f"{spec.dotted} is write-only")
        return _result(item, "Accepted", self._read(spec, target, now)[:REPORTING_VALUE_SIZE])

    def set_variables(self, items: Sequence[VariableSet]) -> list[VariableResult]:
        """One result per item, in order; valid values are stored at once, each on its own."""
        return [self._set_one(item) for item in items]

    def _set_one(self, item: VariableSet) -> VariableResult:
        found = self._resolve_actual(item)
        if isinstance(found, VariableResult):
            return found
        spec, _ = found
        if spec.mutability == READ_ONLY:
            return _refused(item, "Rejected", "ReadOnly", f"{spec.dotted} is read-only")
        if spec.read is not None:  # writable through its own flow (NetworkConfigurationPriority)
            return _refused(item, "Rejected", "InvalidValue", f"{spec.dotted} is not set here")
        try:
            value = check_value(spec, item.value)
        except DeviceModelError as exc:
            return _refused(item, "Rejected", exc.reason_code, exc.message)
        return _result(item, self._store(spec, value, by_csms=True))

    def setting_of(self, component: ComponentRef, variable: VariableRef) -> str | None:
        """The StationConfig key a write of this variable changes (None for an unknown or
        derived one), so that what depends on the key follows (HeartbeatInterval)."""
        found = self._resolve(component, variable)
        return None if isinstance(found, str) else _setting_key(found[0])

    # -- reports ------------------------------------------------------------------------------

    def report(
        self,
        criteria: str = FULL_INVENTORY,
        component_variables: Sequence[ReportFilter] = (),
        component_criteria: Sequence[str] = (),
        *,
        now: float,
    ) -> list[ReportItem]:
        """The items of a report. ``criteria`` is the GetBaseReport reportBase; GetReport passes
        its componentVariable filters and/or componentCriteria (FullInventory base). Raises
        ValueError for an unknown report base (answer NotSupported)."""
        if criteria not in REPORT_BASES:
            raise ValueError(f"unknown report base {criteria!r}")
        items: list[ReportItem] = []
        for spec, target in self._instances():
            if criteria == CONFIGURATION_INVENTORY and spec.mutability == READ_ONLY:
                continue
            if criteria == SUMMARY_INVENTORY and spec.variable not in SUMMARY_VARIABLES:
                continue
            if component_variables and not any(
                _matches(spec, target, wanted) for wanted in component_variables
            ):
                continue
            if component_criteria and not any(
                self._meets(spec.component, target, criterion) for criterion in component_criteria
            ):
                continue
            items.append(self._report_item(spec, target, now))
        return items

    def characteristics(self, spec: VariableSpec, target: Target) -> VariableCharacteristics:
        max_limit = spec.max_limit
        if spec.max_limit_of is not None:
            max_limit = spec.max_limit_of(self.station, target)
        return VariableCharacteristics(
            spec.data_type,
            spec.unit,
            spec.min_limit,
            max_limit,
            spec.values_list,
            spec.supports_monitoring,
        )

    def _report_item(self, spec: VariableSpec, target: Target, now: float) -> ReportItem:
        value = None
        if spec.mutability != WRITE_ONLY:
            value = self._read(spec, target, now)[:REPORTING_VALUE_SIZE]
        return ReportItem(
            component=ComponentRef(spec.component, target.evse_id, target.connector_id),
            variable=VariableRef(spec.variable, spec.instance),
            value=value,
            mutability=spec.mutability,
            persistent=spec.persistent,
            constant=spec.constant,
            characteristics=self.characteristics(spec, target),
        )

    def _meets(self, component: str, target: Target, criterion: str) -> bool:
        # A component meets Active/Available/Enabled/Problem when it has that boolean
        # variable and it is true; components without the variable do not.
        spec = _find_variable(component.lower(), criterion, None)
        return isinstance(spec, VariableSpec) and self._read(spec, target, 0.0) == "true"

    # -- Component.Variable names (the gateway's configuration command) -----------------------

    def get_dotted(self, name: str, now: float | None = None) -> str | None:
        """The value behind ``Component.Variable`` (``OCPPCommCtrlr.HeartbeatInterval``,
        ``OCPPCommCtrlr.MessageTimeout[Default]``, ``EVSE[1].AvailabilityState``,
        ``Connector[1:1].ConnectorType``); None for write-only variables."""
        spec, target = self._resolve_dotted(name)
        if spec.mutability == WRITE_ONLY:
            return None
        if spec.data_type == DATE_TIME and now is None:
            raise DeviceModelError("MissingParam", f"{spec.dotted} needs the current time")
        return self._read(spec, target, now or 0.0)

    def set_dotted(self, name: str, value: str) -> str:
        """Operator-side change: like `StationConfig.set_local`, read-only settings included,
        still checked against the variable's type, limits and allowed values. Values derived
        from the station (availability, clock, catalog facts) cannot be set. Returns the value
        as stored."""
        spec, _ = self._resolve_dotted(name)
        if spec.read is not None:
            raise DeviceModelError(
                "ReadOnly", f"{spec.dotted} is derived from the station and cannot be set"
            )
        stored = check_value(spec, value)
        self._store(spec, stored, by_csms=False)
        return stored

    def config_key(self, name: str) -> str | None:
        """The StationConfig key behind a ``Component.Variable`` name (the 1.6 key or the
        custom key of a 2.x-only setting); None for values derived from the station. Lets the
        caller run the side effects of a key change (e.g. reschedule heartbeats)."""
        spec, _ = self._resolve_dotted(name)
        return _setting_key(spec)

    # -- TxCtrlr ------------------------------------------------------------------------------

    def tx_start_points(self) -> set[str]:
        return self._members("TxStartPoint")

    def tx_stop_points(self) -> set[str]:
        return self._members("TxStopPoint")

    def _members(self, variable: str) -> set[str]:
        spec = _find_variable("txctrlr", variable, None)
        assert isinstance(spec, VariableSpec)
        return set(self._read(spec, Target(), 0.0).split(","))

    # -- values -------------------------------------------------------------------------------

    def _read(self, spec: VariableSpec, target: Target, now: float) -> str:
        if spec.read is not None:
            return spec.read(self.station, target, now)
        if spec.config_key is not None:
            return self.station.config.get(spec.config_key) or ""
        default = spec.held_default or ""
        stored = self.station.config.get(spec.held_key)
        if stored is None:
            return default
        # A 1.6 ChangeConfiguration can write a custom key unchecked; never report (or act
        # on) a value the variable could not hold.
        try:
            return check_value(spec, stored)
        except DeviceModelError:
            return default

    def _store(self, spec: VariableSpec, value: str, *, by_csms: bool) -> str:
        config = self.station.config
        if spec.config_key is None:
            config.set_local(spec.held_key, value)
            return "RebootRequired" if spec.reboot_required else "Accepted"
        if not by_csms:
            config.set_local(spec.config_key, value)
            return "Accepted"
        # The 1.6 path decides RebootRequired (SecurityProfile, AuthorizationKey,
        # WebSocketPingInterval), so both protocols answer alike.
        return config.set_by_csms(spec.config_key, value)

    # -- what monitors watch (fleet/model/device_monitoring.py) ---------------------------------

    def resolve(
        self, component: ComponentRef, variable: VariableRef
    ) -> tuple[VariableSpec, Target] | str:
        """The variable and the instance a component names, or UnknownComponent /
        UnknownVariable."""
        return self._resolve(component, variable)

    def read(self, spec: VariableSpec, target: Target, now: float) -> str:
        """A variable's value as GetVariables would report it (unchecked mutability)."""
        return self._read(spec, target, now)

    def instances(self) -> Iterator[tuple[VariableSpec, Target]]:
        """Every variable of every component instance, in report order."""
        return self._instances()

    # -- addressing ---------------------------------------------------------------------------

    def _instances(self) -> Iterator[tuple[VariableSpec, Target]]:
        for spec in _STATION_VARIABLES:
            yield spec, Target()
        for evse_id in sorted(self.station.connectors):
            for spec in _EVSE_VARIABLES:
                yield spec, Target(evse_id)
            for spec in _CONNECTOR_VARIABLES:
                yield spec, Target(evse_id, 1)

    def _resolve_actual(
        self, item: VariableGet | VariableSet
    ) -> tuple[VariableSpec, Target] | VariableResult:
        """The item's (variable, target), or its result when the variable is unknown or the
        attribute is not Actual (the one attribute the station keeps)."""
        found = self._resolve(item.component, item.variable)
        if isinstance(found, str):
            return _result(item, found)
        if item.attribute_type != ACTUAL:
            return _refused(item, "NotSupportedAttributeType", "UnsupportedParam", "only Actual")
        return found

    def _resolve(
        self, component: ComponentRef, variable: VariableRef
    ) -> tuple[VariableSpec, Target] | str:
        """(variable, target), or the status for an unknown component / variable."""
        target = self._resolve_component(component)
        if target is None:
            return "UnknownComponent"
        spec = _find_variable(component.name.lower(), variable.name, variable.instance)
        if not isinstance(spec, VariableSpec):
            return "UnknownVariable"
        return spec, target

    def _resolve_component(self, component: ComponentRef) -> Target | None:
        scope = _SCOPES.get(component.name.lower())
        evse_id, connector_id = component.evse_id, component.connector_id
        if scope is None or component.instance is not None:
            return None
        if scope == STATION_SCOPE:
            return Target() if evse_id is None else None
        if evse_id is None or evse_id not in self.station.connectors:
            return None
        if scope == EVSE_SCOPE:
            return Target(evse_id) if connector_id is None else None
        # One connector per EVSE: Connector components exist as connectorId 1 only.
        return Target(evse_id, 1) if connector_id == 1 else None

    def _resolve_dotted(self, name: str) -> tuple[VariableSpec, Target]:
        match = _DOTTED.match(name.strip())
        if match is None:
            raise DeviceModelError(
                "InvalidValue",
                f"{name!r} is not a Component.Variable name "
                "(e.g. OCPPCommCtrlr.HeartbeatInterval, EVSE[1].AvailabilityState)",
            )
        component_name = match["component"]
        evse_id = connector_id = None
        if match["evse"] is not None:
            evse_id = int(match["evse"])
            if match["connector"] is not None:
                connector_id = int(match["connector"])
            elif _SCOPES.get(component_name.lower()) == CONNECTOR_SCOPE:
                connector_id = 1
        component = ComponentRef(component_name, evse_id, connector_id)
        target = self._resolve_component(component)
        if target is None:
            raise DeviceModelError("NotFound", _unknown_component_message(component))
        spec = _find_variable(component_name.lower(), match["variable"], match["instance"])
        if isinstance(spec, VariableSpec):
            return spec, target
        known = ", ".join(s.dotted for s in VARIABLES_BY_COMPONENT[component_name.lower()])
        problem = "is ambiguous" if spec == "ambiguous" else "is unknown"
        raise DeviceModelError("NotFound", f"{name.strip()} {problem}; known: {known}")


def _find_variable(component: str, name: str, instance: str | None) -> VariableSpec | str | None:
    """The variable of a component by (case-insensitive) name and instance. Without an
    instance, the instance-less variable, else the only instance there is; "ambiguous" when
    several instances could be meant."""
    candidates = [
        spec
        for spec in VARIABLES_BY_COMPONENT.get(component, ())
        if spec.variable.lower() == name.lower()
    ]
    if instance is not None:
        wanted = instance.lower()
        exact = [s for s in candidates if s.instance is not None and s.instance.lower() == wanted]
        return exact[0] if exact else None
    plain = [spec for spec in candidates if spec.instance is None]
    if plain:
        return plain[0]
    if len(candidates) == 1:
        return candidates[0]
    return "ambiguous" if candidates else None


def _setting_key(spec: VariableSpec) -> str | None:
    """Where a variable's value is stored: its 1.6 key, the custom key of a 2.x-only setting,
    or nowhere (derived from the station)."""
    if spec.read is not None:
        return None
    return spec.config_key or spec.held_key


def _matches(spec: VariableSpec, target: Target, wanted: ReportFilter) -> bool:
    """GetReport componentVariable filter: an absent evse, variable or instance matches all."""
    component = wanted.component
    if component.name.lower() != spec.component.lower() or component.instance is not None:
        return False
    if component.evse_id is not None:
        if target.evse_id is None or component.evse_id != target.evse_id:
            return False
        if component.connector_id is not None and component.connector_id != target.connector_id:
            return False
    variable = wanted.variable
    if variable is None:
        return True
    if variable.name.lower() != spec.variable.lower():
        return False
    instance = variable.instance
    return instance is None or (spec.instance or "").lower() == instance.lower()


def _result(
    item: VariableGet | VariableSet, status: str, value: str | None = None
) -> VariableResult:
    return VariableResult(item.component, item.variable, item.attribute_type, status, value)


def _refused(
    item: VariableGet | VariableSet, status: str, reason: str, info: str
) -> VariableResult:
    return VariableResult(
        item.component, item.variable, item.attribute_type, status, None, Refusal(reason, info)
    )


def _unknown_component_message(component: ComponentRef) -> str:
    name = component.name
    scope = _SCOPES.get(name.lower())
    if scope is None:
        return f"unknown component {name!r}; known: {', '.join(COMPONENT_SCOPES)}"
    if scope == STATION_SCOPE:
        return f"{name} belongs to the whole station; write it without an EVSE"
    where = "EVSE[n]" if scope == EVSE_SCOPE else "Connector[n] or Connector[n:1]"
    got = "none" if component.evse_id is None else f"EVSE {component.evse_id}"
    return f"{name} needs an existing EVSE id ({where}); got {got}"
