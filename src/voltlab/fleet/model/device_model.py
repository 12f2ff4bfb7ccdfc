"""The OCPP 2.0.1 device model of a virtual station: GetVariables, SetVariables, GetBaseReport /
GetReport data and the gateway's ``Component.Variable`` names, over the station's one set of
settings (`StationConfig`), so a value written through a 1.6 key and through a 2.x variable is
the same value.

Results use the OCPP 2.0.1 JSON field names (GetVariableResultType, SetVariableResultType,
ReportDataType) so an adapter can put them on the wire as they are. The variable catalog lives
in `device_model_catalog`. EVSE numbering: each station connector is one EVSE with one
connector, so connector n of the station is EVSE n, connectorId 1."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from typing import Any

from voltlab.fleet.model.config import STANDARD_KEYS, ConfigError, validate_value
from voltlab.fleet.model.device_model_catalog import (
    BOOLEAN,
    COMPONENT_SCOPES,
    CONNECTOR_SCOPE,
    DATE_TIME,
    DECIMAL,
    EVSE_SCOPE,
    INTEGER,
    ITEMS_PER_MESSAGE,
    MEMBER_LIST,
    OPTION_LIST,
    READ_ONLY,
    REPORTING_VALUE_SIZE,
    SEQUENCE_LIST,
    STATION_SCOPE,
    STRING,
    VARIABLES,
    VARIABLES_BY_COMPONENT,
    WRITE_ONLY,
    Target,
    VariableSpec,
)
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
_STATION_VARIABLES = tuple(spec for spec in VARIABLES if spec.scope == STATION_SCOPE)
_EVSE_VARIABLES = tuple(spec for spec in VARIABLES if spec.scope == EVSE_SCOPE)
_CONNECTOR_VARIABLES = tuple(spec for spec in VARIABLES if spec.scope == CONNECTOR_SCOPE)
# Component[evse] or Component[evse:connector], then .Variable, then an optional [instance].
_DOTTED = re.compile(
    r"^(?P<component>\w+)(?:\[(?P<evse>\d+)(?::(?P<connector>\d+))?\])?"
    r"\.(?P<variable>\w+)(?:\[(?P<instance>\w+)\])?$"
)


class DeviceModelError(ValueError):
    """An unknown name or a value that does not fit the variable. ``reason_code`` is the
    2.0.1 reason code (at most 20 characters) for attributeStatusInfo."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


def pages(items: list[dict[str, Any]], per_page: int) -> list[list[dict[str, Any]]]:
    """Split report items into NotifyReport pages of at most ``per_page`` items."""
    if per_page < 1:
        raise ValueError(f"per_page must be >= 1, got {per_page}")
    return [items[start : start + per_page] for start in range(0, len(items), per_page)]


def notify_report_requests(
    request_id: int,
    items: list[dict[str, Any]],
    generated_at: str,
    per_page: int = ITEMS_PER_MESSAGE,
) -> list[dict[str, Any]]:
    """NotifyReportRequest payloads for one report: seqNo from 0, tbc on all but the last.
    No items, no messages (the GetReport answer is then EmptyResultSet)."""
    chunks = pages(items, per_page)
    return [
        {
            "requestId": request_id,
            "generatedAt": generated_at,
            "seqNo": seq_no,
            "tbc": seq_no < len(chunks) - 1,
            "reportData": chunk,
        }
        for seq_no, chunk in enumerate(chunks)
    ]


def check_value(spec: VariableSpec, value: str) -> str:
    """The value in canonical form (true/false, plain integers, CSV without blanks), or
    DeviceModelError. Mapped variables also pass the 1.6 rules of their key (e.g. at most
    MeterValuesSampledDataMaxLength measurands), so both protocols accept the same values."""
    normalized = _check_type(spec, value)
    if spec.config_key is not None:
        try:
            normalized = validate_value(STANDARD_KEYS[spec.config_key], normalized)
        except ConfigError as exc:
            raise DeviceModelError("InvalidValue", f"{spec.dotted}: {exc}") from None
    return normalized


def _check_type(spec: VariableSpec, value: str) -> str:
    name = spec.dotted
    if spec.data_type == BOOLEAN:
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise DeviceModelError("InvalidValue", f"{name} takes true or false, got {value!r}")
        return lowered
    if spec.data_type in (INTEGER, DECIMAL):
        try:
            number: float = int(value.strip()) if spec.data_type == INTEGER else float(value)
        except ValueError:
            kind = "an integer" if spec.data_type == INTEGER else "a decimal"
            raise DeviceModelError("InvalidValue", f"{name} takes {kind}, got {value!r}") from None
        if not math.isfinite(number):
            raise DeviceModelError("InvalidValue", f"{name} takes a finite number, got {value!r}")
        if spec.data_type == INTEGER and abs(number) > 2**31 - 1:  # OCPP integer: int32
            raise DeviceModelError("ValueTooHigh", f"{name} must fit a 32-bit integer")
        _check_limits(spec, number, name)
        return str(number)
    if spec.data_type == STRING:
        _check_length(spec, len(value), name)
        return value
    if spec.data_type in (OPTION_LIST, SEQUENCE_LIST, MEMBER_LIST):
        return _check_list(spec, value, name)
    # dateTime variables are all read-only clocks; nothing to write.
    raise DeviceModelError("InvalidValue", f"{name} ({spec.data_type}) cannot be set")


def _check_limits(spec: VariableSpec, number: float, name: str) -> None:
    if spec.min_limit is not None and number < spec.min_limit:
        raise DeviceModelError("ValueTooLow", f"{name} must be >= {spec.min_limit:g}")
    if spec.max_limit is not None and number > spec.max_limit:
        raise DeviceModelError("ValueTooHigh", f"{name} must be <= {spec.max_limit:g}")


def _check_length(spec: VariableSpec, length: int, name: str) -> None:
    # For strings, the limits bound the length (2.0.1: maxLimit is the maximum length).
    if spec.min_limit is not None and length < spec.min_limit:
        raise DeviceModelError("ValueTooLow", f"{name} needs at least {spec.min_limit:g} chars")
    if spec.max_limit is not None and length > spec.max_limit:
        raise DeviceModelError("TooLargeElement", f"{name} takes at most {spec.max_limit:g} chars")


def _check_list(spec: VariableSpec, value: str, name: str) -> str:
    items = [item.strip() for item in value.split(",") if item.strip()]
    allowed = {item.lower(): item for item in spec.values_list}
    unknown = [item for item in items if item.lower() not in allowed]
    if unknown:
        raise DeviceModelError(
            "InvalidValue",
            f"{name}: {', '.join(unknown)} not in {','.join(spec.values_list)}",
        )
    canonical = [allowed[item.lower()] for item in items]
    if len(set(canonical)) != len(canonical):
        raise DeviceModelError("InvalidValue", f"{name}: a value is listed twice")
    if not canonical and not spec.allow_empty:
        raise DeviceModelError("InvalidValue", f"{name} needs at least one value")
    if spec.data_type == OPTION_LIST and len(canonical) != 1:
        raise DeviceModelError("InvalidValue", f"{name} takes exactly one value")
    return ",".join(canonical)


class DeviceModel:
    """The station's components and variables. Holds no state of its own: every value is
    read from (and written to) the station, so any number of instances agree."""

    def __init__(self, station: Station) -> None:
        self.station = station

    # Also reachable from an instance, for adapters that only hold the device model.
    pages = staticmethod(pages)

    # -- GetVariables / SetVariables ----------------------------------------------------------

    def get_variables(self, requests: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """GetVariablesRequest.getVariableData items -> GetVariableResultType items."""
        return [self._get_one(request, now) for request in requests]

    def _get_one(self, request: dict[str, Any], now: float) -> dict[str, Any]:
        attribute_type = request.get("attributeType", ACTUAL)
        result: dict[str, Any] = {
            "attributeStatus": "Accepted",
            "attributeType": attribute_type,
            "component": copy.deepcopy(request.get("component", {})),
            "variable": copy.deepcopy(request.get("variable", {})),
        }
        found = self._resolve(request)
        if isinstance(found, str):
            result["attributeStatus"] = found
            return result
        spec, target = found
        if attribute_type != ACTUAL:
            return _refused(result, "NotSupportedAttributeType", "UnsupportedParam", "only Actual")
        if spec.mutability == WRITE_ONLY:
            return _refused(result, "Rejected", "WriteOnly", f"{spec.dotted} is write-only")
        result["attributeValue"] = self._read(spec, target, now)[:REPORTING_VALUE_SIZE]
        return result

    def set_variables(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """SetVariablesRequest.setVariableData items -> SetVariableResultType items; valid
        values are stored at once, each item on its own."""
        return [self._set_one(request) for request in requests]

    def _set_one(self, request: dict[str, Any]) -> dict[str, Any]:
        attribute_type = request.get("attributeType", ACTUAL)
        result: dict[str, Any] = {
            "attributeType": attribute_type,
            "attributeStatus": "Accepted",
            "component": copy.deepcopy(request.get("component", {})),
            "variable": copy.deepcopy(request.get("variable", {})),
        }
        found = self._resolve(request)
        if isinstance(found, str):
            result["attributeStatus"] = found
            return result
        spec, _ = found
        if attribute_type != ACTUAL:
            return _refused(result, "NotSupportedAttributeType", "UnsupportedParam", "only Actual")
        if spec.mutability == READ_ONLY:
            return _refused(result, "Rejected", "ReadOnly", f"{spec.dotted} is read-only")
        try:
            value = check_value(spec, str(request.get("attributeValue", "")))
        except DeviceModelError as exc:
            return _refused(result, "Rejected", exc.reason_code, exc.message)
        result["attributeStatus"] = self._store(spec, value, by_csms=True)
        return result

    # -- reports ------------------------------------------------------------------------------

    def report(
        self,
        criteria: str = FULL_INVENTORY,
        component_variables: list[dict[str, Any]] | None = None,
        component_criteria: list[str] | None = None,
        *,
        now: float,
    ) -> list[dict[str, Any]]:
        """ReportDataType items. ``criteria`` is the GetBaseReport reportBase; GetReport passes
        its componentVariable filters and/or componentCriteria (FullInventory base). Raises
        ValueError for an unknown report base (answer NotSupported)."""
        if criteria not in REPORT_BASES:
            raise ValueError(f"unknown report base {criteria!r}")
        items: list[dict[str, Any]] = []
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

    def _report_item(self, spec: VariableSpec, target: Target, now: float) -> dict[str, Any]:
        attribute: dict[str, Any] = {"type": ACTUAL}
        if spec.mutability != WRITE_ONLY:
            attribute["value"] = self._read(spec, target, now)[:REPORTING_VALUE_SIZE]
        attribute["mutability"] = spec.mutability
        attribute["persistent"] = spec.persistent
        attribute["constant"] = spec.constant
        variable: dict[str, Any] = {"name": spec.variable}
        if spec.instance is not None:
            variable["instance"] = spec.instance
        return {
            "component": _component_json(spec, target),
            "variable": variable,
            "variableAttribute": [attribute],
            "variableCharacteristics": self._characteristics(spec, target),
        }

    def _characteristics(self, spec: VariableSpec, target: Target) -> dict[str, Any]:
        body: dict[str, Any] = {"dataType": spec.data_type}
        if spec.unit is not None:
            body["unit"] = spec.unit
        if spec.min_limit is not None:
            body["minLimit"] = spec.min_limit
        max_limit = spec.max_limit
        if spec.max_limit_of is not None:
            max_limit = spec.max_limit_of(self.station, target)
        if max_limit is not None:
            body["maxLimit"] = max_limit
        if spec.values_list:
            body["valuesList"] = ",".join(spec.values_list)
        # No variable monitoring (SetVariableMonitoring) is simulated.
        body["supportsMonitoring"] = False
        return body

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
        if spec.read is not None:
            return None
        return spec.config_key or spec.held_key

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

    # -- addressing ---------------------------------------------------------------------------

    def _instances(self) -> Iterator[tuple[VariableSpec, Target]]:
        for spec in _STATION_VARIABLES:
            yield spec, Target()
        for evse_id in sorted(self.station.connectors):
            for spec in _EVSE_VARIABLES:
                yield spec, Target(evse_id)
            for spec in _CONNECTOR_VARIABLES:
                yield spec, Target(evse_id, 1)

    def _resolve(self, request: dict[str, Any]) -> tuple[VariableSpec, Target] | str:
        """(variable, target), or the status for an unknown component / variable."""
        component = request.get("component") or {}
        variable = request.get("variable") or {}
        target = self._resolve_component(component)
        if target is None:
            return "UnknownComponent"
        spec = _find_variable(
            str(component.get("name", "")).lower(),
            str(variable.get("name", "")),
            variable.get("instance"),
        )
        if not isinstance(spec, VariableSpec):
            return "UnknownVariable"
        return spec, target

    def _resolve_component(self, component: dict[str, Any]) -> Target | None:
        scope = _SCOPES.get(str(component.get("name", "")).lower())
        evse = component.get("evse")
        if scope is None or component.get("instance") is not None:
            return None
        if scope == STATION_SCOPE:
            return Target() if evse is None else None
        if not isinstance(evse, dict) or evse.get("id") not in self.station.connectors:
            return None
        connector_id = evse.get("connectorId")
        if scope == EVSE_SCOPE:
            return Target(evse["id"]) if connector_id is None else None
        # One connector per EVSE: Connector components exist as connectorId 1 only.
        return Target(evse["id"], 1) if connector_id == 1 else None

    def _resolve_dotted(self, name: str) -> tuple[VariableSpec, Target]:
        match = _DOTTED.match(name.strip())
        if match is None:
            raise DeviceModelError(
                "InvalidValue",
                f"{name!r} is not a Component.Variable name "
                "(e.g. OCPPCommCtrlr.HeartbeatInterval, EVSE[1].AvailabilityState)",
            )
        component_name = match["component"]
        evse: dict[str, int] | None = None
        if match["evse"] is not None:
            evse = {"id": int(match["evse"])}
            if match["connector"] is not None:
                evse["connectorId"] = int(match["connector"])
            elif _SCOPES.get(component_name.lower()) == CONNECTOR_SCOPE:
                evse["connectorId"] = 1
        component: dict[str, Any] = {"name": component_name}
        if evse is not None:
            component["evse"] = evse
        target = self._resolve_component(component)
        if target is None:
            raise DeviceModelError("NotFound", _unknown_component_message(component_name, evse))
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


def _matches(spec: VariableSpec, target: Target, wanted: dict[str, Any]) -> bool:
    """GetReport componentVariable filter: an absent evse, variable or instance matches all."""
    component = wanted.get("component") or {}
    if str(component.get("name", "")).lower() != spec.component.lower():
        return False
    if component.get("instance") is not None:
        return False
    evse = component.get("evse")
    if evse is not None:
        if target.evse_id is None or evse.get("id") != target.evse_id:
            return False
        connector_id = evse.get("connectorId")
        if connector_id is not None and connector_id != target.connector_id:
            return False
    variable = wanted.get("variable")
    if variable is None:
        return True
    if str(variable.get("name", "")).lower() != spec.variable.lower():
        return False
    instance = variable.get("instance")
    return instance is None or (spec.instance or "").lower() == str(instance).lower()


def _component_json(spec: VariableSpec, target: Target) -> dict[str, Any]:
    body: dict[str, Any] = {"name": spec.component}
    if target.evse_id is not None:
        evse: dict[str, int] = {"id": target.evse_id}
        if target.connector_id is not None:
            evse["connectorId"] = target.connector_id
        body["evse"] = evse
    return body


def _refused(result: dict[str, Any], status: str, reason: str, info: str) -> dict[str, Any]:
    result["attributeStatus"] = status
    result["attributeStatusInfo"] = {"reasonCode": reason, "additionalInfo": info[:512]}
    return result


def _unknown_component_message(name: str, evse: dict[str, int] | None) -> str:
    scope = _SCOPES.get(name.lower())
    if scope is None:
        return f"unknown component {name!r}; known: {', '.join(COMPONENT_SCOPES)}"
    if scope == STATION_SCOPE:
        return f"{name} belongs to the whole station; write it without an EVSE"
    where = "EVSE[n]" if scope == EVSE_SCOPE else "Connector[n] or Connector[n:1]"
    return f"{name} needs an existing EVSE id ({where}); got {evse or 'none'}"
