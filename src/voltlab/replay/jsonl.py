"""JSON lines captures: voltlab's own export (`GET /ocpp/chargers/{id}/messages?format=jsonl`)
and any file of one `{timestamp, direction, frame}` object per line (docs/replay.md). Sans-I/O.

- `frame`: the OCPP-J message, as a JSON array or as the JSON text of one (a string that is
  not JSON is what a frame log holds for a binary or broken message: skipped, listed).
- `direction`: "out" / "station->csms" (the station sent it) or "in" / "csms->station".
- `timestamp` (or voltlab's JSON page's `ts`): RFC 3339, or a number of POSIX seconds
  (milliseconds when above 1e11, as JavaScript's `Date.now()` writes them); may be absent.
- `identity`, `ocpp_version`: optional; every line that has them must agree."""

from __future__ import annotations

import json
from typing import Any

from voltlab.ocpp.versions import SUPPORTED_VERSIONS
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp
from voltlab.replay.capture import (
    MAX_LINE_CHARS,
    Capture,
    CapturedFrame,
    CaptureInvalid,
    Direction,
    SkippedFrame,
    frame_problem,
)

FORMAT = "jsonl"
DIRECTIONS: dict[str, Direction] = {
    "out": "out",
    "station->csms": "out",
    "in": "in",
    "csms->station": "in",
}
# Above this a number is read as milliseconds (1e11 seconds is the year 5138).
MILLISECONDS_FROM = 1e11


def parse_jsonl(text: str) -> Capture:
    frames: list[CapturedFrame] = []
    skipped: list[SkippedFrame] = []
    named: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise CaptureInvalid(f"longer than {MAX_LINE_CHARS} characters", number)
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise CaptureInvalid(f"not JSON: {exc}", number) from None
        if not isinstance(item, dict):
            raise CaptureInvalid("not a JSON object {timestamp, direction, frame}", number)
        direction = _direction(item.get("direction"), number)
        timestamp = _timestamp(item.get("timestamp", item.get("ts")), number)
        for field in ("identity", "ocpp_version"):
            _agree(named, field, item.get(field), number)
        if "frame" not in item:
            raise CaptureInvalid("no `frame`", number)
        message, problem = _message(item["frame"])
        if problem is not None:
            skipped.append(SkippedFrame(number, problem))
            continue
        frames.append(CapturedFrame(number, timestamp, direction, message))
    return Capture(
        FORMAT, tuple(frames), named.get("identity"), named.get("ocpp_version"), tuple(skipped)
    )


def _direction(value: Any, line: int) -> Direction:
    if isinstance(value, str) and value.lower() in DIRECTIONS:
        return DIRECTIONS[value.lower()]
    raise CaptureInvalid(
        f"`direction` {value!r} is none of {', '.join(repr(d) for d in DIRECTIONS)}", line
    )


def _timestamp(value: Any, line: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CaptureInvalid(f"`timestamp` {value!r} is not a time", line)
    if isinstance(value, int | float):
        return float(value) / 1000.0 if value > MILLISECONDS_FROM else float(value)
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            pass
    raise CaptureInvalid(
        f"`timestamp` {value!r} is neither RFC 3339 nor a number of POSIX seconds", line
    )


def _agree(named: dict[str, str], field: str, value: Any, line: int) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise CaptureInvalid(f"`{field}` {value!r} is not a non-empty string", line)
    if field == "ocpp_version" and value not in SUPPORTED_VERSIONS:
        raise CaptureInvalid(
            f"`ocpp_version` {value!r} is none of {', '.join(SUPPORTED_VERSIONS)}", line
        )
    seen = named.setdefault(field, value)
    if seen != value:
        raise CaptureInvalid(
            f"`{field}` {value!r} differs from the earlier lines' {seen!r}: a capture is one "
            "station's session",
            line,
        )


def _message(frame: Any) -> tuple[list[Any], str | None]:
    if isinstance(frame, str):
        try:
            frame = json.loads(frame)
        except ValueError:
            return [], "the frame is not JSON (a binary or broken message)"
    problem = frame_problem(frame)
    return (frame, None) if problem is None else ([], problem)
