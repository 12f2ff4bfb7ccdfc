"""A charger's frame log (`GET /ocpp/chargers/{id}/messages`) read as OCPP-J messages: each
CALLRESULT and CALLERROR knows the action of the CALL it answers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from voltlab.client import models

Direction = Literal["in", "out"]
Kind = Literal["call", "result", "error", "other"]

_KINDS: dict[object, Kind] = {2: "call", 3: "result", 4: "error"}


@dataclass(frozen=True)
class Frame:
    """One frame as it went over the wire. `direction`: "out" station -> CSMS, "in" CSMS ->
    station. `action` is the CALL's action, also on the answer to it (when the CALL is still in
    the log); `payload` the CALL's or CALLRESULT's payload."""

    id: int
    ts: str
    direction: Direction
    kind: Kind
    message_id: str | None
    action: str | None
    payload: Any
    raw: Any

    def __str__(self) -> str:
        arrow = "->" if self.direction == "out" else "<-"
        text = (
            self.raw if isinstance(self.raw, str) else json.dumps(self.raw, separators=(",", ":"))
        )
        return f"{self.ts} {arrow} {text}"


def _shape(raw: Any) -> tuple[Kind, str | None, str | None, Any]:
    if not isinstance(raw, list) or len(raw) < 3 or raw[0] not in _KINDS:
        return "other", None, None, None
    kind = _KINDS[raw[0]]
    message_id = raw[1] if isinstance(raw[1], str) else None
    if kind == "call":
        action = raw[2] if isinstance(raw[2], str) else None
        return kind, message_id, action, raw[3] if len(raw) > 3 else None
    if kind == "result":
        return kind, message_id, None, raw[2]
    return kind, message_id, None, raw[2:]


def frames_of(views: Iterable[models.FrameView]) -> list[Frame]:
    """Oldest first, answers labelled with their CALL's action."""
    ordered = sorted(views, key=lambda view: view.id)
    calls: dict[tuple[str, str | None], str | None] = {}
    result: list[Frame] = []
    for view in ordered:
        kind, message_id, action, payload = _shape(view.frame)
        if kind == "call":
            calls[(view.direction, message_id)] = action
        elif kind in ("result", "error"):
            # The answer travels the other way from its CALL.
            caller = "out" if view.direction == "in" else "in"
            action = calls.get((caller, message_id))
        result.append(
            Frame(view.id, view.ts, view.direction, kind, message_id, action, payload, view.frame)
        )
    return result
