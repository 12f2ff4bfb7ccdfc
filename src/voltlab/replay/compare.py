"""How a frame of the CSMS is compared with the captured one (docs/replay.md, "Comparison").
Sans-I/O.

Payloads (a CALLRESULT's, or a CSMS CALL's) are compared field by field:
1. an object has the same keys (a key missing or extra is a difference), an array the same
   length, element by element;
2. where the capture has an RFC 3339 date-time (`currentTime`, `expiryDate`, ...), the CSMS's
   value must be a date-time too; its value is not compared (it is the CSMS's clock);
3. an id the CSMS assigns (`rewrite.id_fields`: 1.6 transactionId, 2.x remoteStartId,
   requestId, ...) must have the captured value's JSON type and be consistent: bound to the
   captured value the first time, the same live value for it every later time;
4. anything else must be equal as JSON (1 and 1.0 are equal, true and 1 are not).
A CALLERROR is compared by its error code only (1.6 and 2.x spellings of one code are equal);
its description and details are free text. Message ids are never compared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voltlab.ocpp.errors import canonical_code
from voltlab.replay.rewrite import IdBindings, is_date_time


@dataclass(frozen=True, slots=True)
class Difference:
    """One field where the CSMS's frame is not the captured one. `problem`: value, missing
    (captured, not sent), unexpected (sent, not captured), type, length, date-time, id."""

    path: str
    problem: str
    expected: Any = None
    actual: Any = None
    detail: str = ""

    def describe(self) -> str:
        where = self.path or "the payload"
        if self.problem == "missing":
            return f"{where}: missing (the capture has {self.expected!r})"
        if self.problem == "unexpected":
            return f"{where}: not in the capture (the CSMS sent {self.actual!r})"
        if self.detail:
            return f"{where}: {self.detail}"
        return f"{where}: expected {self.expected!r}, got {self.actual!r}"

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"path": self.path, "problem": self.problem}
        if self.problem != "unexpected":
            body["expected"] = self.expected
        if self.problem != "missing":
            body["actual"] = self.actual
        if self.detail:
            body["detail"] = self.detail
        return body


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def compare_payloads(expected: Any, actual: Any, bindings: IdBindings) -> list[Difference]:
    """The differences between a captured payload and the CSMS's, by the rules above; binds
    the CSMS's ids as it meets them."""
    differences: list[Difference] = []
    _compare(expected, actual, "", None, bindings, differences)
    return differences


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _compare(
    expected: Any,
    actual: Any,
    path: str,
    field: str | None,
    bindings: IdBindings,
    out: list[Difference],
) -> None:
    if field is not None and field in bindings.fields and type(expected) in (int, str):
        problem = bindings.check(field, expected, actual)
        if problem is not None:
            out.append(Difference(path, "id", expected, actual, problem))
        return
    if is_date_time(expected):
        if not is_date_time(actual):
            detail = f"expected a date-time (the capture has {expected!r}), got {actual!r}"
            out.append(Difference(path, "date-time", expected, actual, detail))
        return
    kind = json_type(expected)
    if kind != json_type(actual):
        out.append(Difference(path, "type", expected, actual))
        return
    if kind == "object":
        for key, value in expected.items():
            if key not in actual:
                out.append(Difference(_join(path, key), "missing", value, None))
            else:
                _compare(value, actual[key], _join(path, key), key, bindings, out)
        for key, value in actual.items():
            if key not in expected:
                out.append(Difference(_join(path, key), "unexpected", None, value))
    elif kind == "array":
        if len(expected) != len(actual):
            detail = f"{len(expected)} item(s) in the capture, {len(actual)} sent"
            out.append(Difference(path, "length", expected, actual, detail))
            return
        for number, (left, right) in enumerate(zip(expected, actual, strict=True)):
            _compare(left, right, f"{path}[{number}]", field, bindings, out)
    elif expected != actual:
        out.append(Difference(path, "value", expected, actual))


def same_error_code(expected: str, actual: str) -> bool:
    """Equal codes, reading 1.6 and 2.x spellings of one code as the same."""
    if expected == actual:
        return True
    try:
        return canonical_code(expected) == canonical_code(actual)
    except ValueError:
        return False
