"""`/evcharger/deployment-runtime-ops`: operate (stop, restart, delete), status and events.

- operate: `stop` is `POST /ocpp/chargers/{id}/stop`, `restart` is stop then start (the
  station disconnects, connects again and boots; its stored state stays), `delete` is
  `DELETE /ocpp/chargers/{id}` (a location's chargers; the location stays). A location runs
  at once like one charger (each call is quick in voltlab): the answer is always the per-charger
  result, never the SDK's 202 `{status, detail}`.
- status and events: stages.py's reading of each charger; events are its BootNotifications
  and their answers in the frame log (voltlab keeps no other stage history)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session, invalid, not_found
from voltlab.api.ocpplab_compat.frame_log import boot_frames
from voltlab.api.ocpplab_compat.lookup import (
    OptionalQueryText,
    charger_by_identity,
    chargers_by_identities,
    org_chargers,
    require_charger,
)
from voltlab.api.ocpplab_compat.stages import (
    boot_attempts,
    current_stage,
    stage_events,
)
from voltlab.api.provisioning import remove_charger, set_desired_running
from voltlab.api.routing import GatewayRouter
from voltlab.api.schemas import PRINTABLE_PATTERN
from voltlab.api.serialize import charger_spec, rfc3339
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.models import Charger
from voltlab.store.times import as_utc

log = logging.getLogger(__name__)

router = GatewayRouter(
    prefix="/evcharger/deployment-runtime-ops",
    route_class=AuthenticatedRoute,
    include_in_schema=False,
)

# A location's chargers are operated this many at a time (stopping one closes its socket).
OPERATE_CONCURRENCY = 32
ALERTS = frozenset({"failed", "stuck", "recovered"})
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE_PATTERN)]


class OperateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["stop", "restart", "delete"]
    deployment_id: str | None = Field(default=None, min_length=1, max_length=100)
    location_id: str | None = Field(default=None, min_length=1, max_length=100)


def _targets(session: Session, org_id: str, body: OperateBody) -> list[Charger]:
    if body.deployment_id is not None:
        return [require_charger(session, org_id, deployment_id=body.deployment_id, identity=None)]
    location_id = body.location_id or ""
    if repo.get_location(session, org_id, location_id) is None:
        raise not_found("location", location_id)
    return repo.chargers_of_location(session, org_id, location_id)


async def _operate(
    database: Database, fleet: Fleet, org_id: str, action: str, charger: Charger
) -> dict[str, Any]:
    result: dict[str, Any] = {"deployment_id": charger.id, "identity": charger.identity}
    try:
        if action == "delete":
            await remove_charger(database, fleet, org_id, charger.id)
            return result | {"status": "accepted", "response": {"deleted": True}}
        running = action == "restart"
        row = await in_session(
            database, lambda s: set_desired_running(s, org_id, charger.id, running)
        )
        await fleet.stop_charger(charger.id)
        if running:
            await fleet.start_charger(charger_spec(row))
    except HTTPException as refused:  # e.g. deleted meanwhile (404)
        return result | {"status": "failed", "error": str(refused.detail)}
    except Exception as exc:  # noqa: BLE001 - one charger's failure is its own result
        log.exception("%s of charger %s failed", action, charger.id)
        return result | {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    stage = current_stage(running, fleet.live_state(charger.id))
    return result | {"status": "accepted", "response": {"stage": stage.stage}}


@router.post("")
async def operate(body: OperateBody, principal: CurrentPrincipal, request: Request) -> JSONResponse:
    if (body.deployment_id is None) == (body.location_id is None):
        raise invalid(("body", "deployment_id"), "give exactly one of deployment_id or location_id")
    database, fleet, org_id = get_database(request), get_fleet(request), principal.org_id
    chargers = await in_session(database, lambda s: _targets(s, org_id, body))
    gate = asyncio.Semaphore(OPERATE_CONCURRENCY)

    async def one(charger: Charger) -> dict[str, Any]:
        async with gate:
            return await _operate(database, fleet, org_id, body.action, charger)

    results = await asyncio.gather(*(one(charger) for charger in chargers))
    accepted = sum(1 for result in results if result["status"] == "accepted")
    answer = {
        "action": body.action,
        "target_type": "deployment" if body.deployment_id is not None else "location",
        "deployment_id": body.deployment_id,
        "location_id": body.location_id,
        "accepted_count": accepted,
        "failed_count": len(results) - accepted,
        "results": results,
    }
    return JSONResponse(answer)


def _event_json(event: dict[str, Any]) -> dict[str, Any]:
    return event | {"at": rfc3339(event["at"])}


async def _boots(request: Request, chargers: Sequence[Charger]) -> dict[str, list[Any]]:
    """Each charger's boot attempts (stages.BootAttempt), from the frame log as sent so far."""
    await get_fleet(request).flush_log()
    ids = [charger.id for charger in chargers]
    frames = await in_session(get_database(request), lambda s: boot_frames(s, ids))
    return {charger_id: boot_attempts(found) for charger_id, found in frames.items()}


def _status_item(
    charger: Charger, live: dict[str, Any] | None, attempts: list[Any], with_events: bool
) -> dict[str, Any]:
    stage = current_stage(charger.desired_running, live)
    last = attempts[-1] if attempts else None
    since = None
    if last is not None and stage.stage == "online":
        since = last.answered_at
    elif last is not None and stage.stage == "registering":
        since = last.answered_at or last.sent_at
    item: dict[str, Any] = {
        "identity": charger.identity,
        "attempt": len(attempts),
        "stage": stage.stage,
        "outcome": stage.outcome,
        "code": stage.code,
        "hint": stage.hint,
        "since": rfc3339(since),
        "deployment_id": charger.id,
        "location_id": charger.location_id,
        "connection": (live or {}).get("connection", "stopped"),
        "registration": (live or {}).get("registration"),
    }
    if with_events:
        item["events"] = [_event_json(e) for e in stage_events(charger.identity, attempts)]
    return item


@router.get("/status")
async def status(
    principal: CurrentPrincipal,
    request: Request,
    identity: Annotated[list[Name] | None, Query(max_length=100)] = None,
    events: bool = False,
) -> JSONResponse:
    if events and (identity is None or len(identity) != 1):
        raise invalid(("query", "events"), "events=true needs exactly one identity")
    org_id = principal.org_id
    chargers = await in_session(
        get_database(request),
        lambda s: (
            chargers_by_identities(s, org_id, identity) if identity else org_chargers(s, org_id)
        ),
    )
    boots = await _boots(request, chargers)
    fleet = get_fleet(request)
    items = [
        _status_item(charger, fleet.live_state(charger.id), boots.get(charger.id, []), events)
        for charger in chargers
    ]
    return JSONResponse({"items": items})


@router.get("/events")
async def events(
    principal: CurrentPrincipal,
    request: Request,
    since: datetime | None = None,
    outcome: Literal["failed", "stuck", "recovered", "alerts", "all"] | None = None,
    identity: OptionalQueryText = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    org_id = principal.org_id

    def chosen(session: Session) -> list[Charger]:
        if identity is None:
            return org_chargers(session, org_id)
        # A filter: an identity the org does not have has no events.
        found = charger_by_identity(session, org_id, identity)
        return [found] if found is not None else []

    chargers = await in_session(get_database(request), chosen)
    boots = await _boots(request, chargers)
    found = [
        event
        for charger in chargers
        for event in stage_events(charger.identity, boots.get(charger.id, []))
    ]
    if since is not None:
        found = [event for event in found if as_utc(event["at"]) > as_utc(since)]
    if outcome == "alerts":
        found = [event for event in found if event["outcome"] in ALERTS]
    elif outcome not in (None, "all"):
        found = [event for event in found if event["outcome"] == outcome]
    # Newest first; events of one instant keep their order (an answer after its call).
    ordered = sorted(enumerate(found), key=lambda item: (as_utc(item[1]["at"]), item[0]))
    newest = [event for _, event in reversed(ordered)][:limit]
    return JSONResponse({"events": [_event_json(event) for event in newest]})
