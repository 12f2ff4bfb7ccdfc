"""Values of the 2.x device model's variables: each checked against its variable's data
type, limits and allowed values (and, where a 1.6 key stands behind it, that key's rules) and
put in canonical form before it is stored."""

from __future__ import annotations

import math

from voltlab.fleet.model.config import STANDARD_KEYS, ConfigError, validate_value
from voltlab.fleet.model.device_model_catalog import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    MEMBER_LIST,
    OPTION_LIST,
    SEQUENCE_LIST,
    STRING,
    VariableSpec,
)


class DeviceModelError(ValueError):
    """An unknown name or a value that does not fit the variable. ``reason_code`` is the
    2.0.1 reason code (at most 20 characters) for attributeStatusInfo."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


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
