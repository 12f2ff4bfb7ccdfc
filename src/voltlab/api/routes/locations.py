"""/ocpp/locations: a named group of identical chargers pointed at one CSMS."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import Request, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session, not_found
from voltlab.api.errors import SafeJSONResponse
from voltlab.api.openapi_examples import LOCATION_EXAMPLES, request_examples
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
    delete_frames,
    delete_location_rows,
    insert_location,
    remove_chargers,
    start_chargers,
)
from voltlab.api.responses.chargers import LocationDetail, LocationPage
from voltlab.api.responses.declare import READ, WRITE, answers, answers_nothing
from voltlab.api.routing import GatewayRouter
from voltlab.api.schemas import LocationCreate
from voltlab.api.serialize import charger_json, location_json
from voltlab.api.shared_reads import shared_read
from voltlab.store import repo
from voltlab.store.findings_repo import counts_by_charger
from voltlab.store.models import Charger, Location

router = GatewayRouter(prefix="/ocpp/locations", tags=["locations"], route_class=AuthenticatedRoute)


@router.post(
    "",
    summary="Create a location with its chargers",
    openapi_extra=request_examples(LOCATION_EXAMPLES),
    **answers(
        LocationDetail,
        *WRITE,
        409,
        status=201,
        description="Created with its chargers (409: an identity is taken in this org).",
    ),
)
async def create_location(
    body: LocationCreate, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    fleet = get_fleet(request)
    location, chargers = await in_session(
        get_database(request), partial(insert_location, org_id=principal.org_id, body=body)
    )
    if body.auto_start:
        await start_chargers(fleet, chargers)
    return location_json(
        location,
        charger_count=len(chargers),
        chargers=[charger_json(charger, fleet) for charger in chargers],
    )


def _location_page(
    session: Session, org_id: str, limit: int, key: CursorKey | None
) -> tuple[list[Location], dict[str, int], bool]:
    query = select(Location).where(Location.org_id == org_id)
    if key is not None:
        query = query.where(
            or_(
                Location.created_at > key.created_at,
                and_(Location.created_at == key.created_at, Location.id > key.tiebreak),
            )
        )
    rows = list(session.scalars(query.order_by(Location.created_at, Location.id).limit(limit + 1)))
    page = rows[:limit]
    counts = repo.count_chargers_by_location(session, [location.id for location in page])
    return page, counts, len(rows) > limit


@router.get("", summary="List locations", **answers(LocationPage, *READ, description="A page."))
async def list_locations(
    principal: CurrentPrincipal,
    request: Request,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> Response:
    key = decode_cursor(cursor)

    async def compute() -> Response:
        page, counts, more = await in_session(
            get_database(request), lambda s: _location_page(s, principal.org_id, limit, key)
        )
        items = [location_json(loc, charger_count=counts.get(loc.id, 0)) for loc in page]
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
        return SafeJSONResponse(page_body(items, next_cursor))

    return await shared_read(request, principal.org_id, compute)


def _location_with_chargers(
    session: Session, org_id: str, location_id: str
) -> tuple[Location, list[Charger], dict[str, int]]:
    location = repo.get_location(session, org_id, location_id)
    if location is None:
        raise not_found("location", location_id)
    chargers = repo.chargers_of_location(session, org_id, location_id)
    return location, chargers, counts_by_charger(session, [c.id for c in chargers])


@router.get(
    "/{location_id}",
    summary="Get a location and its chargers",
    **answers(LocationDetail, *READ, 404, description="The location and its chargers."),
)
async def get_location(
    location_id: str, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    fleet = get_fleet(request)
    location, chargers, counts = await in_session(
        get_database(request),
        lambda s: _location_with_chargers(s, principal.org_id, location_id),
    )
    return location_json(
        location,
        charger_count=len(chargers),
        chargers=[charger_json(c, fleet, findings=counts.get(c.id, 0)) for c in chargers],
    )


@router.delete(
    "/{location_id}",
    summary="Delete a location and its chargers",
    **answers_nothing(*WRITE, 404, description="Deleted, with its chargers."),
)
async def delete_location(
    location_id: str, principal: CurrentPrincipal, request: Request
) -> Response:
    database = get_database(request)
    charger_ids = await in_session(
        database, lambda s: delete_location_rows(s, principal.org_id, location_id)
    )
    await remove_chargers(get_fleet(request), charger_ids)
    # After the fleet let go, so frames flushed while disconnecting go too.
    await in_session(database, lambda s: delete_frames(s, charger_ids))
    return Response(status_code=204)
