"""Reads of a charger's OCPP frame log (`frames`: what `GET /ocpp/chargers/{id}/messages`
shows) for the SDK's logs, stages and diagnostics, and its entries in the SDK's shape.

A frame's `ts` is the fleet's clock (simulated time when `VOLTLAB_TIME_SCALE` is not 1), as in
the frame log itself. The log keeps a charger's newest frames (about 1 000)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from voltlab.api.ocpplab_compat.stages import parse_frame
from voltlab.api.serialize import rfc3339
from voltlab.store.models import Frame

LogFrame = tuple[int, datetime, str, str]  # id, ts, direction, text
MESSAGE_TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}


def boot_frames(
    session: Session, charger_ids: Sequence[str]
) -> dict[str, list[tuple[datetime, str, str]]]:
    """Per charger, oldest first: its BootNotification CALLs and the frames that may answer
    them (a result with an `interval`, any CALLERROR); stages.boot_attempts pairs them."""
    found: dict[str, list[tuple[datetime, str, str]]] = {}
    for start in range(0, len(charger_ids), 500):  # SQLite's bound-parameter limits
        chunk = list(charger_ids[start : start + 500])
        query = (
            select(Frame.charger_id, Frame.ts, Frame.direction, Frame.frame)
            .where(
                Frame.charger_id.in_(chunk),
                or_(
                    and_(Frame.direction == "out", Frame.frame.like('%"BootNotification"%')),
                    and_(
                        Frame.direction == "in",
                        or_(Frame.frame.like('%"interval"%'), Frame.frame.like("[4%")),
                    ),
                ),
            )
            .order_by(Frame.id)
        )
        for charger_id, ts, direction, text in session.execute(query):
            found.setdefault(charger_id, []).append((ts, direction, text))
    return found


def charger_frames(
    session: Session,
    charger_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[LogFrame]:
    """The charger's kept frames, newest first, between `since` and `until` when given."""
    query = select(Frame.id, Frame.ts, Frame.direction, Frame.frame).where(
        Frame.charger_id == charger_id
    )
    if since is not None:
        query = query.where(Frame.ts >= since)
    if until is not None:
        query = query.where(Frame.ts <= until)
    rows = session.execute(query.order_by(Frame.id.desc()))
    return [(frame_id, ts, direction, text) for frame_id, ts, direction, text in rows]


def delete_charger_frames(session: Session, charger_id: str) -> None:
    session.execute(delete(Frame).where(Frame.charger_id == charger_id))


def log_entries(frames: Sequence[LogFrame]) -> list[dict[str, Any]]:
    """`frames` (newest first) as the SDK's `ChargerLogEntry`s: a CALL's action; an answer's is
    the action of the CALL it answers when the log still has it (else its message type)."""
    parsed = [parse_frame(text) for _, _, _, text in frames]
    actions: dict[tuple[str, str], str] = {}  # (direction of the CALL, message id) -> action
    for (_, _, direction, _), frame in zip(frames, parsed, strict=True):
        if frame is not None and frame[0] == 2:
            actions[(direction, str(frame[1]))] = str(frame[2])
    entries = []
    for (frame_id, ts, direction, text), frame in zip(frames, parsed, strict=True):
        kind = MESSAGE_TYPES.get(frame[0]) if frame is not None else None
        action = kind or "UNPARSED"
        if frame is not None and frame[0] == 2:
            action = str(frame[2])
        elif frame is not None and kind is not None:
            calls_direction = "in" if direction == "out" else "out"
            action = actions.get((calls_direction, str(frame[1])), kind)
        entries.append(
            {
                "direction": direction,
                "action": action,
                "message": text,
                "timestamp": rfc3339(ts),
                "id": frame_id,
                "message_type": kind,
                "message_id": str(frame[1]) if frame is not None else None,
            }
        )
    return entries
