"""/ocpp/chargers: virtual charging stations, their connection switch and their frame log."""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, Request, Response
from sqlalchemy import Row, Select, bindparam, inspect, select
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.charger_owners import ChargerOwners
from voltlab.api.context import get_database, get_fleet, in_session, not_found
from voltlab.api.errors import SafeJSONResponse
from voltlab.api.fleet_filters import (
    ChargerFilter,
    ConnectionQ,
    ModelQ,
    QText,
    RegistrationQ,
    StatusQ,
    VersionQ,
    check_model,
    filtered_page,
    findings_count,
    stored_conditions,
    stored_page,
)
from voltlab.api.openapi_examples import CHARGER_EXAMPLES, request_examples
from voltlab.api.pagination import (
    DEFAULT_PAGE_SIZE,
    CursorKey,
    PageCursor,
    PageLimit,
    decode_cursor,
    encode_cursor,
    page_body,
)
from voltlab.api.provisioning import (
    delete_charger_row,
    delete_frames,
    insert_charger,
    set_desired_running,
    start_chargers,
)
from voltlab.api.responses.chargers import (
    ChargerConfigurationView,
    ChargerPage,
    ChargerView,
    FramePage,
)
from voltlab.api.responses.declare import READ, WRITE, answers, answers_nothing
from voltlab.api.routing import GatewayRouter
from voltlab.api.schemas import ChargerCreate
from voltlab.api.serialize import charger_body, charger_json, charger_spec, frame_json
from voltlab.api.shared_reads import shared_read
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.findings_repo import counts_by_charger
from voltlab.store.models import Charger, Frame

router = GatewayRouter(prefix="/ocpp/chargers", tags=["chargers"], route_class=AuthenticatedRoute)

DEFAULT_FRAME_PAGE = 100
MAX_FRAME_PAGE = 1000
# Above what the frame log keeps per charger (persistence.FRAMES_KEPT_PER_CHARGER, pruned
# every 200 frames): an export without `limit` is the whole kept log.
MAX_EXPORT = 10_000


@router.post(
    "",
    summary="Create one charger",
    openapi_extra=request_examples(CHARGER_EXAMPLES),
    **answers(
        ChargerView,
        *WRITE,
        404,
        409,
        status=201,
        description="Created (and started, with auto_start). 404: unknown location_id; "
        "409: the identity is taken in this org.",
    ),
)
async def create_charger(
    body: ChargerCreate, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    fleet = get_fleet(request)
    charger = await in_session(
        get_database(request), partial(insert_charger, org_id=principal.org_id, body=body)
    )
    if body.auto_start:
        await start_chargers(fleet, [charger])
    return charger_json(charger, fleet)


def _charger_query(
    session: Session, org_id: str, location_id: str | None, which: ChargerFilter
) -> Select[Any]:
    query = select(Charger).where(Charger.org_id == org_id)
    if location_id is not None:
        if repo.get_location(session, org_id, location_id) is None:
            raise not_found("location", location_id)
        query = query.where(Charger.location_id == location_id)
    return stored_conditions(query, which)


def _first_read(
    session: Session,
    org_id: str,
    location_id: str | None,
    which: ChargerFilter,
    limit: int,
    key: CursorKey | None,
) -> tuple[Select[Any], tuple[list[Charger], bool, dict[str, int]] | None]:
    """One unit of work: the stored filters' query and, with no live filter, the page itself
    (rows without their snapshot) with each charger's count of findings."""
    query = _charger_query(session, org_id, location_id, which)
    if which.live:
        return query, None
    return query, stored_page(session, query, key, limit)


async def charger_items(
    database: Database,
    fleet: Fleet,
    org_id: str,
    chargers: list[Charger],
    counts: dict[str, int],
) -> list[dict[str, Any]]:
    """The chargers' JSON; the stored snapshots a page left unread are read for the chargers
    this process does not host (one more unit of work, none when it hosts them all)."""
    lives = [fleet.live_state(charger.id) for charger in chargers]
    unread = {
        charger.id
        for charger, live in zip(chargers, lives, strict=True)
        if live is None and "state" in inspect(charger).unloaded
    }
    states = (
        await in_session(database, lambda s: repo.charger_states(s, org_id, list(unread)))
        if unread
        else {}
    )

    def state_of(charger: Charger, live: dict[str, Any] | None) -> dict[str, Any] | None:
        if live is not None:
            return None  # hosted here: the live state is shown
        return states.get(charger.id) if charger.id in unread else charger.state

    return [
        charger_body(charger, live, state_of(charger, live), findings=counts.get(charger.id, 0))
        for charger, live in zip(chargers, lives, strict=True)
    ]


@router.get(
    "",
    summary="List chargers (oldest first), filtered",
    **answers(ChargerPage, *READ, 404, description="A page (404: unknown location_id)."),
)
async def list_chargers(
    principal: CurrentPrincipal,
    request: Request,
    location_id: Annotated[str | None, Query(max_length=100)] = None,
    q: QText = None,
    connection: ConnectionQ = None,
    registration: RegistrationQ = None,
    status: StatusQ = None,
    ocpp_version: VersionQ = None,
    model: ModelQ = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> Response:
    key = decode_cursor(cursor)
    check_model(model)
    which = ChargerFilter(q, connection, registration, status, ocpp_version, model)
    fleet = get_fleet(request)
    database = get_database(request)
    org_id = principal.org_id

    async def compute() -> Response:
        query, stored = await in_session(
            database, lambda s: _first_read(s, org_id, location_id, which, limit, key)
        )
        if stored is not None:
            page, more, counts = stored
        else:
            page, more = await filtered_page(database, query, which, fleet, limit, key)
            ids = [c.id for c in page]
            counts = await in_session(database, lambda s: counts_by_charger(s, ids)) if ids else {}
        next_cursor = encode_cursor(page[-1].created_at, page[-1].identity) if more else None
        items = await charger_items(database, fleet, org_id, page, counts)
        # Rendered here: FastAPI would first copy the page (up to 500 chargers with their
        # live state) through pydantic's generic serializer, which costs twice the encoding.
        return SafeJSONResponse(page_body(items, next_cursor))

    return await shared_read(request, org_id, compute)


def _counted(session: Session, charger: Charger) -> tuple[Charger, int]:
    return charger, counts_by_charger(session, [charger.id]).get(charger.id, 0)


def _require_charger(session: Session, org_id: str, charger_id: str) -> Charger:
    charger = repo.get_charger(session, org_id, charger_id)
    if charger is None:
        raise not_found("charger", charger_id)
    return charger


def _charger_with_findings(session: Session, org_id: str, charger_id: str) -> tuple[Charger, int]:
    """The charger and its count of findings, in one statement."""
    if not repo.looks_like_id(charger_id):
        raise not_found("charger", charger_id)
    query = select(Charger, findings_count()).where(
        Charger.id == charger_id, Charger.org_id == org_id
    )
    found = session.execute(query).first()
    if found is None:
        raise not_found("charger", charger_id)
    charger, count = found
    return charger, count


@router.get(
    "/{charger_id}",
    summary="Get a charger with its live state",
    **answers(ChargerView, *READ, 404, description="The charger."),
)
async def get_charger(charger_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    async def compute() -> Response:
        charger, count = await in_session(
            get_database(request), lambda s: _charger_with_findings(s, principal.org_id, charger_id)
        )
        return SafeJSONResponse(charger_json(charger, get_fleet(request), findings=count))

    return await shared_read(request, principal.org_id, compute)


@router.get(
    "/{charger_id}/configuration",
    summary="The charger's OCPP 1.6 configuration keys or 2.x device model",
    **answers(
        ChargerConfigurationView,
        *READ,
        404,
        409,
        description="1.6 keys or the 2.x device model (409: its model left the catalog).",
    ),
)
async def get_configuration(
    charger_id: str, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    charger = await in_session(
        get_database(request), lambda s: _require_charger(s, principal.org_id, charger_id)
    )
    configuration = get_fleet(request).configuration(charger_spec(charger))
    if configuration is None:
        # A row whose model left the catalog: no station could be built to read it from.
        raise HTTPException(
            status_code=409, detail=f"charger {charger_id!r}: unknown model {charger.model!r}"
        )
    return {"charger_id": charger.id, "identity": charger.identity, **configuration}


@router.post(
    "/{charger_id}/start",
    summary="Connect the charger to its CSMS",
    **answers(ChargerView, *WRITE, 404, description="The charger, starting."),
)
async def start_charger(
    charger_id: str, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    fleet = get_fleet(request)
    charger, count = await in_session(
        get_database(request),
        lambda s: _counted(s, set_desired_running(s, principal.org_id, charger_id, True)),
    )
    await fleet.start_charger(charger_spec(charger))
    return charger_json(charger, fleet, findings=count)


@router.post(
    "/{charger_id}/stop",
    summary="Disconnect the charger (its state is kept)",
    **answers(ChargerView, *WRITE, 404, description="The charger, stopped."),
)
async def stop_charger(
    charger_id: str, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    fleet = get_fleet(request)
    charger, count = await in_session(
        get_database(request),
        lambda s: _counted(s, set_desired_running(s, principal.org_id, charger_id, False)),
    )
    await fleet.stop_charger(charger.id)
    return charger_json(charger, fleet, findings=count)


@router.delete(
    "/{charger_id}",
    summary="Delete a charger",
    **answers_nothing(*WRITE, 404, description="Deleted, with its frame log and findings."),
)
async def delete_charger(
    charger_id: str, principal: CurrentPrincipal, request: Request
) -> Response:
    database = get_database(request)
    await in_session(database, lambda s: delete_charger_row(s, principal.org_id, charger_id))
    # The fleet forgets the charger only after its row is gone (see Fleet.remove_charger).
    await get_fleet(request).remove_charger(charger_id)
    await in_session(database, lambda s: delete_frames(s, [charger_id]))
    return Response(status_code=204)


def _require_exists(session: Session, org_id: str, charger_id: str) -> None:
    if not repo.charger_exists(session, org_id, charger_id):
        raise not_found("charger", charger_id)


_FRAME_PAGE = (
    select(Frame.id, Frame.ts, Frame.direction, Frame.frame)
    .where(Frame.charger_id == bindparam("charger_id"))
    .order_by(Frame.id.desc())
    .limit(bindparam("limit"))
)


def _frames(
    session: Session, org_id: str, charger_id: str, limit: int, before: int | None
) -> list[Row[int, datetime, str, str]]:
    _require_exists(session, org_id, charger_id)
    # Columns, not rows of the ORM: a third of the cost for the page a log view reads.
    query = _FRAME_PAGE if before is None else _FRAME_PAGE.where(Frame.id < before)
    return list(session.execute(query, {"charger_id": charger_id, "limit": limit}))


def _jsonl(charger: Charger, frames: list[Row[int, datetime, str, str]]) -> str:
    """One `{timestamp, direction, frame, identity, ocpp_version}` line per frame, oldest
    first: what `POST /ocpp/replays` reads (docs/replay.md)."""
    lines = []
    for frame_id, ts, direction, text in reversed(frames):
        item = frame_json(frame_id, ts, direction, text)
        line = {
            "timestamp": item["ts"],
            "direction": item["direction"],
            "frame": item["frame"],
            "identity": charger.identity,
            "ocpp_version": charger.ocpp_version,
        }
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(lines)


@router.get(
    "/{charger_id}/messages",
    summary="OCPP frame log, newest first (format=jsonl: a capture to replay, oldest first)",
    **answers(
        FramePage,
        *READ,
        404,
        description="Frames, newest first; with format=jsonl one JSON object per line, "
        "oldest first.",
        other_media={"application/x-ndjson": {"schema": {"type": "string"}}},
    ),
)
async def list_messages(
    charger_id: str,
    principal: CurrentPrincipal,
    request: Request,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_FRAME_PAGE,
            description=f"json: default {DEFAULT_FRAME_PAGE}; jsonl: default every kept frame",
        ),
    ] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="frame id; older frames only")
    ] = None,
    format: Annotated[
        Literal["json", "jsonl"],
        Query(description="jsonl: one {timestamp, direction, frame} per line, oldest first"),
    ] = "json",
) -> Response:
    database = get_database(request)
    org_id = principal.org_id
    if format == "jsonl":
        # 404 before flushing: a foreign caller must not even cause work.
        charger = await in_session(database, lambda s: _require_charger(s, org_id, charger_id))
        await get_fleet(request).flush_log()
        kept = await in_session(
            database, lambda s: _frames(s, org_id, charger_id, limit or MAX_EXPORT, before)
        )
        return Response(_jsonl(charger, kept), media_type="application/x-ndjson")
    owners: ChargerOwners = request.app.state.charger_owners
    if not owners.known(org_id, charger_id):
        # The same rule, checked once per (org, charger) in this process.
        await in_session(database, lambda s: _require_exists(s, org_id, charger_id))
        owners.found(org_id, charger_id)
    page_size = limit or DEFAULT_FRAME_PAGE

    async def compute() -> Response:
        # Every frame the station handed over before this read is in the page.
        await get_fleet(request).flush_log()
        frames = await in_session(
            database, lambda s: _frames(s, org_id, charger_id, page_size, before)
        )
        next_before = frames[-1][0] if len(frames) == page_size else None
        items = [
            frame_json(frame_id, ts, direction, text) for frame_id, ts, direction, text in frames
        ]
        return SafeJSONResponse({"items": items, "next_before": next_before})

    return await shared_read(request, org_id, compute)
