"""A captured OCPP-J session as the replay reads it, whatever format it came in: frames in
order, each with the station's direction, its time (if the format has one) and the line it
came from. Sans-I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from voltlab.ocpp.frames import CALL, CALLERROR, CALLRESULT

# The station's point of view, as voltlab's frame log: "out" station -> CSMS, "in" CSMS ->
# station.
Direction = Literal["out", "in"]
JsonObject = dict[str, Any]

# A line of text this long is refused rather than parsed: no OCPP-J frame needs it.
MAX_LINE_CHARS = 256 * 1024


class CaptureInvalid(ValueError):
    """The capture cannot be read: `line` (1-based) says where, `field` which request field
    is at fault (the capture itself, or the identity / version it needs)."""

    def __init__(self, message: str, line: int | None = None, field: str = "capture") -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.message = message
        self.line = line
        self.field = field


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One OCPP-J message of the capture: a CALL, CALLRESULT or CALLERROR whose shape was
    checked (`frame_problem`); `message` is the array as captured."""

    line: int
    timestamp: float | None  # POSIX seconds; None when the format carries no time
    direction: Direction
    message: list[Any]

    @property
    def kind(self) -> int:
        kind: int = self.message[0]
        return kind

    @property
    def message_id(self) -> str:
        message_id: str = self.message[1]
        return message_id

    @property
    def action(self) -> str:
        """The action of a CALL ('' for an answer)."""
        return str(self.message[2]) if self.kind == CALL else ""

    @property
    def payload(self) -> JsonObject:
        """A CALL's or CALLRESULT's payload ({} for a CALLERROR)."""
        if self.kind == CALL:
            call_payload: JsonObject = self.message[3]
            return call_payload
        if self.kind == CALLRESULT:
            result: JsonObject = self.message[2]
            return result
        return {}

    @property
    def error_code(self) -> str:
        return str(self.message[2]) if self.kind == CALLERROR else ""

    def as_json(self) -> JsonObject:
        return {
            "line": self.line,
            "direction": self.direction,
            "timestamp": self.timestamp,
            "frame": self.message,
        }


@dataclass(frozen=True, slots=True)
class SkippedFrame:
    """A line that holds a frame the replay cannot use (not a CALL, CALLRESULT or CALLERROR
    of a readable shape, e.g. a binary message a CSMS sent), and why."""

    line: int
    reason: str

    def as_json(self) -> JsonObject:
        return {"line": self.line, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Capture:
    format: str
    frames: tuple[CapturedFrame, ...]
    identity: str | None  # the station's, when the capture names it
    ocpp_version: str | None  # when the capture names it
    skipped: tuple[SkippedFrame, ...] = ()


def frame_problem(message: Any) -> str | None:
    """Why `message` is not an OCPP-J CALL, CALLRESULT or CALLERROR the replay can use; None
    when it is one. Lenient where a field charger may be (a message id longer than 36
    characters is kept: the replay sends its own ids)."""
    if not isinstance(message, list) or not message:
        return "not a non-empty JSON array"
    kind = message[0]
    if type(kind) is not int or kind not in (CALL, CALLRESULT, CALLERROR):
        return f"message type {kind!r} is not 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR)"
    expected = {CALL: 4, CALLRESULT: 3, CALLERROR: 5}[kind]
    if len(message) != expected:
        return f"message type {kind} has {expected} elements, this one {len(message)}"
    if not isinstance(message[1], str) or not message[1]:
        return "the message id is not a non-empty string"
    if kind == CALL:
        if not isinstance(message[2], str) or not message[2]:
            return "the action is not a non-empty string"
        if not isinstance(message[3], dict):
            return "the payload is not a JSON object"
    elif kind == CALLRESULT:
        if not isinstance(message[2], dict):
            return "the payload is not a JSON object"
    elif not isinstance(message[2], str) or not isinstance(message[4], dict):
        return "a CALLERROR needs a string error code and an object of details"
    return None
