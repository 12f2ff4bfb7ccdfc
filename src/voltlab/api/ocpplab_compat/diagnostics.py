"""`GET /evcharger/deployment-runtime-ops/diagnostics`: the SDK's view of a Kubernetes
Deployment, for a station that runs inside `voltlab serve`.

What each part holds here: `verdict` from the charger's stage (stages.py) with the link's last
error as evidence; `deployment.replicas` 1 when the charger should run, `ready_replicas` 1 when
it is online; `pods` empty (there are none); `events` its BootNotifications and their answers;
`logs` its OCPP frame log in the window (`source` "history"; a CALLERROR is an `error` line,
every other frame `info`). `since` / `until` and the lines' times are on the fleet's clock,
like the frame log; the window is at most 6 hours, 15 minutes by default. `previous` has
nothing to read (no container restarts) and is noted when given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session, invalid
from voltlab.api.ocpplab_compat.frame_log import LogFrame, boot_frames, charger_frames
from voltlab.api.ocpplab_compat.lookup import QueryText, require_charger
from voltlab.api.ocpplab_compat.stages import (
    Stage,
    boot_attempts,
    current_stage,
    parse_frame,
    stage_events,
)
from voltlab.api.routing import GatewayRouter
from voltlab.api.serialize import rfc3339
from voltlab.clock import Clock, wall_now
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.store.times import as_utc

router = GatewayRouter(
    prefix="/evcharger/deployment-runtime-ops",
    route_class=AuthenticatedRoute,
    include_in_schema=False,
)

DEFAULT_WINDOW = timedelta(minutes=15)
MAX_WINDOW = timedelta(hours=6)
DEFAULT_TAIL = 500
Level = Literal["debug", "info", "warning", "error", "critical"]
LEVELS: tuple[Level, ...] = ("debug", "info", "warning", "error", "critical")

# stage (and code) -> the SDK's verdict code, severity and title
VERDICTS: dict[tuple[str, str | None], tuple[str, str, str]] = {
    ("stopped", None): ("stopped", "info", "The charger is stopped"),
    ("queued", None): ("scheduling", "info", "Waiting for a fleet process to host the charger"),
    ("connecting", None): ("starting", "info", "Connecting to the CSMS"),
    ("connecting", "csms_unreachable"): ("csms_unreachable", "error", "The CSMS does not answer"),
    ("offline", "csms_unreachable"): ("csms_unreachable", "warning", "The connection dropped"),
    ("registering", None): ("starting", "info", "Waiting for the BootNotification answer"),
    ("registering", "csms_pending"): ("starting", "warning", "The CSMS answered Pending"),
    ("registering", "csms_rejected"): ("csms_rejected", "error", "The CSMS rejected the boot"),
    ("online", None): ("connected", "ok", "Connected and accepted by the CSMS"),
}


def _fleet_now(fleet: Fleet) -> datetime:
    """Now on the fleet's clock, which stamps the frame log (wall time without a `Clock`)."""
    clock = getattr(fleet, "clock", None)
    if isinstance(clock, Clock):
        return datetime.fromtimestamp(clock.now(), UTC)
    return wall_now()


def _verdict(stage: Stage, live: dict[str, Any] | None) -> dict[str, Any]:
    code, severity, title = VERDICTS.get(
        (stage.stage, stage.code), ("unknown", "warning", f"Stage {stage.stage}")
    )
    evidence = (live or {}).get("last_error")
    return {
        "code": code,
        "severity": severity,
        "title": title,
        "hint": stage.hint or "nothing to do",
        "evidence": evidence,
    }


def _level(frame: list[Any] | None) -> Level:
    return "error" if frame is not None and frame[0] == 4 else "info"


def _lines(frames: list[LogFrame], minimum: Level) -> list[dict[str, Any]]:
    """Oldest first, at `minimum` or above."""
    lines = []
    for _, ts, direction, text in reversed(frames):
        level = _level(parse_frame(text))
        if LEVELS.index(level) >= LEVELS.index(minimum):
            lines.append({"ts": rfc3339(ts), "level": level, "text": f"{direction} {text}"})
    return lines


def _window(
    fleet: Fleet, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime]:
    end = as_utc(until) if until is not None else _fleet_now(fleet)
    try:
        start = as_utc(since) if since is not None else end - DEFAULT_WINDOW
    except OverflowError:  # `until` within 15 minutes of year 1
        raise invalid(("query", "until"), "until is too early", rfc3339(end)) from None
    if start >= end:
        raise invalid(("query", "since"), "since must be before until", rfc3339(start))
    if end - start > MAX_WINDOW:
        raise invalid(("query", "since"), "the window is at most 6 hours", rfc3339(start))
    return start, end


@router.get("/diagnostics")
async def diagnostics(
    principal: CurrentPrincipal,
    request: Request,
    deployment_id: QueryText,
    since: datetime | None = None,
    until: datetime | None = None,
    previous: bool | None = None,
    level: Level = "debug",
    tail_lines: Annotated[int, Query(ge=1, le=5000)] = DEFAULT_TAIL,
    download: bool = False,
) -> Response:
    database, fleet, org_id = get_database(request), get_fleet(request), principal.org_id
    charger = await in_session(
        database, lambda s: require_charger(s, org_id, deployment_id=deployment_id, identity=None)
    )
    start, end = _window(fleet, since, until)
    await fleet.flush_log()
    frames = await in_session(database, lambda s: charger_frames(s, charger.id, start, end))
    boots = await in_session(database, lambda s: boot_frames(s, [charger.id]))
    lines = _lines(frames, level)
    kept = lines[-tail_lines:]
    if download:
        text = "".join(f"{line['ts']} {line['level'].upper()} {line['text']}\n" for line in kept)
        return PlainTextResponse(text)
    live = fleet.live_state(charger.id)
    stage = current_stage(charger.desired_running, live)
    attempts = boot_attempts(boots.get(charger.id, []))
    events = [
        {
            "ts": rfc3339(event["at"]),
            "type": "Warning" if event["outcome"] == "failed" else "Normal",
            "reason": "BootNotification",
            "message": event["hint"] or f"{event['stage']}: {event['outcome']}",
            "count": 1,
        }
        for event in stage_events(charger.identity, attempts)
        if start <= as_utc(event["at"]) <= end
    ]
    notes = [
        "voltlab runs the station inside the `voltlab serve` process: no Deployment, pods or "
        "container logs. replicas: whether it should run; ready_replicas: whether it is online.",
        "logs are the charger's OCPP frame log (out: sent by the station), times on the "
        "fleet's clock.",
    ]
    if previous:
        notes.append("previous: a voltlab station has no previous container to read.")
    body = {
        "window": {"since": rfc3339(start), "until": rfc3339(end)},
        "verdict": _verdict(stage, live),
        "deployment": {
            "replicas": 1 if charger.desired_running else 0,
            "ready_replicas": 1 if stage.stage == "online" else 0,
        },
        "pods": [],
        "events": events,
        "logs": {"source": "history", "truncated": len(lines) > len(kept), "lines": kept},
        "notes": notes,
        "deployment_id": charger.id,
        "identity": charger.identity,
    }
    return JSONResponse(body)
