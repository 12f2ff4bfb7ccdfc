"""The SDK's deployment stages, read from what voltlab knows of a charger: whether it should
run, its live state (`Fleet.live_state`: connection, registration, last error) and its
BootNotifications in the frame log. Pure: no I/O, no clock.

voltlab runs stations inside the `voltlab serve` process, so of the SDK's stages `scheduling`,
`pulling` and `starting` (a container's) never occur, and `not_deployed` neither (a charger
exists from its POST on). The rest:

| voltlab | stage | outcome |
| --- | --- | --- |
| should run, not hosted by this process | queued | in_progress |
| stopped (or not hosted and should not run) | stopped | succeeded |
| connecting (a last error: `csms_unreachable`) | connecting | in_progress |
| disconnected (reconnecting) | offline | failed, `csms_unreachable` |
| connected, not yet Accepted | registering | in_progress; Rejected: failed, `csms_rejected` |
| connected and Accepted | online | succeeded |
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Stage:
    stage: str
    outcome: str
    code: str | None = None
    hint: str | None = None


def current_stage(desired_running: bool, live: Mapping[str, Any] | None) -> Stage:
    if live is None:
        if desired_running:
            return Stage("queued", "in_progress", hint="waiting for a fleet process to host it")
        return Stage("stopped", "succeeded")
    connection = live.get("connection")
    error = live.get("last_error")
    if connection == "stopped":
        return Stage("stopped", "succeeded")
    if connection == "connecting":
        return Stage("connecting", "in_progress", "csms_unreachable" if error else None, error)
    if connection == "disconnected":
        hint = error or "the connection to the CSMS dropped; the station reconnects"
        return Stage("offline", "failed", "csms_unreachable", hint)
    registration = live.get("registration")
    if registration == "Accepted":
        return Stage("online", "succeeded")
    if registration == "Rejected":
        hint = "the CSMS answered BootNotification with Rejected; the station boots again later"
        return Stage("registering", "failed", "csms_rejected", hint)
    if registration == "Pending":
        hint = "the CSMS answered BootNotification with Pending"
        return Stage("registering", "in_progress", "csms_pending", hint)
    return Stage("registering", "in_progress", hint=error)


@dataclass(frozen=True)
class BootAttempt:
    """One BootNotification the station sent and how the CSMS answered it (`status`: Accepted,
    Pending or Rejected; `error`: a CALLERROR's code; neither: no answer in the log)."""

    attempt: int
    sent_at: datetime
    answered_at: datetime | None = None
    status: str | None = None
    error: str | None = None


def parse_frame(text: str) -> list[Any] | None:
    """An OCPP-J frame (a JSON array of at least 3 items), or None."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    return frame if isinstance(frame, list) and len(frame) >= 3 else None


def boot_attempts(frames: Iterable[tuple[datetime, str, str]]) -> list[BootAttempt]:
    """The BootNotifications among `frames` ((ts, direction, text), oldest first; "out" is the
    station's), each with its answer."""
    attempts: list[BootAttempt] = []
    open_calls: dict[str, int] = {}  # message id -> index in attempts
    for ts, direction, text in frames:
        frame = parse_frame(text)
        if frame is None:
            continue
        kind, message_id = frame[0], str(frame[1])
        if direction == "out" and kind == 2 and frame[2] == "BootNotification":
            open_calls[message_id] = len(attempts)
            attempts.append(BootAttempt(len(attempts) + 1, ts))
            continue
        if direction != "in" or message_id not in open_calls or kind not in (3, 4):
            continue
        index = open_calls.pop(message_id)
        sent = attempts[index]
        if kind == 3:
            status = frame[2].get("status") if isinstance(frame[2], dict) else None
            attempts[index] = BootAttempt(sent.attempt, sent.sent_at, ts, status=str(status))
        else:
            attempts[index] = BootAttempt(sent.attempt, sent.sent_at, ts, error=str(frame[2]))
    return attempts


def _answer_event(attempt: BootAttempt, failed_before: bool) -> dict[str, Any]:
    stage, outcome = "registering", "failed"
    code: str | None = "csms_rejected"
    hint: str | None = f"BootNotification {attempt.status}"
    if attempt.error is not None:
        code, hint = "csms_error", f"BootNotification answered with CALLERROR {attempt.error}"
    elif attempt.status == "Accepted":
        stage, outcome, code, hint = "online", "succeeded", None, None
        if failed_before:
            outcome = "recovered"
    elif attempt.status == "Pending":
        outcome, code = "in_progress", "csms_pending"
    return {
        "attempt": attempt.attempt,
        "stage": stage,
        "outcome": outcome,
        "code": code,
        "hint": hint,
        "at": attempt.answered_at,
    }


def stage_events(identity: str, attempts: list[BootAttempt]) -> list[dict[str, Any]]:
    """The SDK's stage events (`DeploymentStageEvent`) of one charger, oldest first: each
    BootNotification sent (registering) and its answer (online, or registering failed)."""
    events: list[dict[str, Any]] = []
    failed_before = False
    for attempt in attempts:
        events.append(
            {
                "identity": identity,
                "attempt": attempt.attempt,
                "stage": "registering",
                "outcome": "in_progress",
                "code": None,
                "hint": "BootNotification sent",
                "at": attempt.sent_at,
            }
        )
        if attempt.answered_at is None:
            failed_before = True
            continue
        events.append({"identity": identity} | _answer_event(attempt, failed_before))
        failed_before = attempt.status != "Accepted"
    return events
