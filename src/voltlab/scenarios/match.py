"""Pure reading of a charger's frame log for the expectations: which CALLs went which way, what
answered them, what a payload holds at a path, meter samples. No I/O: the runner fetches the
frames and asks these functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voltlab.scenarios.gateway import Frame

MISSING: Any = object()

CALL, CALLRESULT, CALLERROR = 2, 3, 4
DIRECTION = {"station": "out", "csms": "in"}


@dataclass(frozen=True)
class Exchange:
    """A CALL and, once it came, its answer (CALLRESULT payload or CALLERROR)."""

    call: Frame
    message_id: str
    action: str
    payload: Any
    answer: Frame | None

    @property
    def answered(self) -> bool:
        return self.answer is not None

    @property
    def error(self) -> tuple[str, str] | None:
        frame = self.answer.frame if self.answer is not None else None
        if isinstance(frame, list) and len(frame) >= 4 and frame[0] == CALLERROR:
            return str(frame[2]), str(frame[3])
        return None

    @property
    def result(self) -> Any:
        frame = self.answer.frame if self.answer is not None else None
        if isinstance(frame, list) and len(frame) >= 3 and frame[0] == CALLRESULT:
            return frame[2]
        return MISSING


def exchanges(frames: Sequence[Frame], sender: str, action: str | None = None) -> list[Exchange]:
    """CALLs sent by `sender` (station | csms), in wire order, each with its answer."""
    direction = DIRECTION[sender]
    answers: dict[str, Frame] = {}
    for frame in frames:
        body = frame.frame
        if (
            frame.direction != direction
            and isinstance(body, list)
            and len(body) >= 3
            and body[0] in (CALLRESULT, CALLERROR)
        ):
            answers.setdefault(str(body[1]), frame)
    found = []
    for frame in frames:
        body = frame.frame
        if frame.direction != direction or not isinstance(body, list) or len(body) < 4:
            continue
        if body[0] != CALL or (action is not None and body[2] != action):
            continue
        message_id = str(body[1])
        found.append(Exchange(frame, message_id, str(body[2]), body[3], answers.get(message_id)))
    return found


def get_path(payload: Any, path: str) -> Any:
    """`a.b.0.c` into dicts and lists; MISSING when a step is not there."""
    value = payload
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            return MISSING
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def value_matches(value: Any, matcher: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return value is not MISSING and value == matcher
    for op, expected in matcher.items():
        if op == "exists":
            if (value is not MISSING) != bool(expected):
                return False
            continue
        if value is MISSING:
            return False
        if op == "eq" and value != expected:
            return False
        if op == "ne" and value == expected:
            return False
        if op == "in" and value not in expected:
            return False
        if op in ("le", "ge", "lt", "gt"):
            number = _number(value)
            if number is None:
                return False
            bound = float(expected)
            ok = {
                "le": number <= bound,
                "ge": number >= bound,
                "lt": number < bound,
                "gt": number > bound,
            }[op]
            if not ok:
                return False
    return True


def mismatches(payload: Any, fields: Mapping[str, Any]) -> list[str]:
    """What differs, one line per field: `idTag: expected 'A', got 'B'` (empty: all match)."""
    lines = []
    for path, matcher in fields.items():
        value = get_path(payload, path)
        if not value_matches(value, matcher):
            got = "nothing" if value is MISSING else repr(value)
            lines.append(f"{path}: expected {describe(matcher)}, got {got}")
    return lines


def describe(matcher: Any) -> str:
    if not isinstance(matcher, Mapping):
        return repr(matcher)
    words = {"eq": "=", "ne": "!=", "le": "<=", "ge": ">=", "lt": "<", "gt": ">", "in": "in"}
    parts = []
    for op, expected in matcher.items():
        if op == "exists":
            parts.append("present" if expected else "absent")
        else:
            parts.append(f"{words[op]} {expected!r}")
    return " and ".join(parts)


def answer_status(result: Any) -> str | None:
    """The status a CSMS answer carries: `status`, or idTagInfo / idTokenInfo's."""
    for path in ("status", "idTagInfo.status", "idTokenInfo.status"):
        value = get_path(result, path)
        if isinstance(value, str):
            return value
    return None


@dataclass(frozen=True)
class MeterSample:
    message_id: str
    timestamp: str
    value: float  # in the measurand's base unit (W, Wh, A)


_SCALE = {"kW": 1000.0, "kWh": 1000.0, "kvar": 1000.0, "kvarh": 1000.0}


def meter_samples(exchanges_: Iterable[Exchange], measurand: str) -> list[MeterSample]:
    """Samples of `measurand` without a phase (1.6 MeterValues and StopTransaction's
    transactionData, 2.x TransactionEvent and MeterValues): `meterValue[].sampledValue[]`."""
    samples = []
    for exchange in exchanges_:
        meter_values = get_path(exchange.payload, "meterValue")
        if not isinstance(meter_values, list):
            continue
        for meter_value in meter_values:
            if not isinstance(meter_value, Mapping):
                continue
            for sampled in meter_value.get("sampledValue") or []:
                if not isinstance(sampled, Mapping) or sampled.get("phase"):
                    continue
                if sampled.get("measurand", "Energy.Active.Import.Register") != measurand:
                    continue
                number = _number(sampled.get("value"))
                if number is None:
                    continue
                unit = get_path(sampled, "unit")
                if unit is MISSING:
                    unit = get_path(sampled, "unitOfMeasure.unit")
                scale = _SCALE.get(unit, 1.0) if isinstance(unit, str) else 1.0
                multiplier = get_path(sampled, "unitOfMeasure.multiplier")
                if isinstance(multiplier, int):
                    scale *= 10.0**multiplier
                samples.append(
                    MeterSample(
                        exchange.message_id, str(meter_value.get("timestamp")), number * scale
                    )
                )
    return samples
