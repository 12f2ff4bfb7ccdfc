"""Which format a capture is in, and reading it whatever it is (docs/replay.md). Sans-I/O."""

from __future__ import annotations

from voltlab.replay import jsonl, python_ocpp_log
from voltlab.replay.capture import Capture, CaptureInvalid

AUTO = "auto"
FORMATS: tuple[str, ...] = (AUTO, jsonl.FORMAT, python_ocpp_log.FORMAT)


def detect_format(text: str) -> str:
    """JSON lines when the first non-blank line is a JSON object, the Python ocpp library's
    log when one of the first lines is one of its entries."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if line.lstrip().startswith("{"):
                return jsonl.FORMAT
            if python_ocpp_log.looks_like_python_ocpp_log(text):
                return python_ocpp_log.FORMAT
            raise CaptureInvalid(
                "neither JSON lines ({timestamp, direction, frame} per line) nor the Python "
                "ocpp library's log ('<identity>: send <frame>'); name the format if it is "
                "one of them",
                number,
            )
    raise CaptureInvalid("the capture is empty")


def parse_capture(text: str, format: str = AUTO, identity: str | None = None) -> Capture:
    """The capture in `format` ("auto" detects it). `identity` chooses the station of a log
    that holds several (JSON lines are one station's by definition)."""
    chosen = detect_format(text) if format == AUTO else format
    if chosen == jsonl.FORMAT:
        return jsonl.parse_jsonl(text)
    if chosen == python_ocpp_log.FORMAT:
        return python_ocpp_log.parse_python_ocpp_log(text, identity)
    raise CaptureInvalid(f"unknown format {format!r}: one of {', '.join(FORMATS)}", field="format")
