"""Codec for what registration shares between OCPP 1.6 and 2.x: the BootNotification answer
(status, interval, currentTime) and Heartbeat, whose shapes are the same in both versions."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.machine.messages import (
    BootAnswer,
    BootRequest,
    HeartbeatAnswer,
    HeartbeatRequest,
    StationMessage,
)
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp


def csms_time(payload: dict[str, Any]) -> float | None:
    """The answer's currentTime as POSIX seconds; None when absent or unreadable (the schema
    does not check the date-time format, and the station can do without it)."""
    text = payload.get("currentTime")
    if not isinstance(text, str):
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        return None


def decode_boot_answer(payload: dict[str, Any]) -> BootAnswer:
    return BootAnswer(payload["status"], int(payload["interval"]), csms_time(payload))


def encode_heartbeat(message: HeartbeatRequest) -> tuple[str, dict[str, Any]]:
    return "Heartbeat", {}


def decode_heartbeat_answer(payload: dict[str, Any]) -> HeartbeatAnswer:
    return HeartbeatAnswer(csms_time(payload))


def decode_answer(message: StationMessage, payload: dict[str, Any]) -> BootAnswer | HeartbeatAnswer:
    """The answer to a registration message (the driver's last resort for a waited call)."""
    if isinstance(message, BootRequest):
        return decode_boot_answer(payload)
    if isinstance(message, HeartbeatRequest):
        return decode_heartbeat_answer(payload)
    raise TypeError(f"no flow waits for the answer to {message!r}")
