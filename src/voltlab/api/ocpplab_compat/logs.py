"""`/evcharger/logs`: a charger's OCPP frame log in pages, and deleting it.

The log is the one `GET /ocpp/chargers/{id}/messages` shows, newest first; `direction` is
voltlab's (`out`: sent by the station). The SDK asks by identity and declares no 404, so an
identity the org does not have is an empty log (listing) or nothing to delete. Deleting removes
the frames for good (the SDK's "soft delete" has no voltlab equivalent); findings stay."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session
from voltlab.api.ocpplab_compat.frame_log import (
    charger_frames,
    delete_charger_frames,
    log_entries,
)
from voltlab.api.ocpplab_compat.lookup import QueryText, charger_by_identity
from voltlab.api.routing import GatewayRouter

router = GatewayRouter(
    prefix="/evcharger/logs", route_class=AuthenticatedRoute, include_in_schema=False
)


@router.get("")
async def list_logs(
    principal: CurrentPrincipal,
    request: Request,
    identity: QueryText,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JSONResponse:
    database, org_id = get_database(request), principal.org_id
    charger = await in_session(database, lambda s: charger_by_identity(s, org_id, identity))
    offset = (page - 1) * page_size
    if charger is None:
        return JSONResponse({"data": [], "total": 0, "limit": page_size, "offset": offset})
    await get_fleet(request).flush_log()
    # The whole kept log (about 1 000 frames): an answer is paired with its CALL across pages.
    frames = await in_session(database, lambda s: charger_frames(s, charger.id))
    entries = log_entries(frames)
    body = {
        "data": entries[offset : offset + page_size],
        "total": len(entries),
        "limit": page_size,
        "offset": offset,
    }
    return JSONResponse(body)


@router.delete("", status_code=204)
async def delete_logs(
    principal: CurrentPrincipal, request: Request, identity: QueryText
) -> Response:
    database, org_id = get_database(request), principal.org_id
    charger = await in_session(database, lambda s: charger_by_identity(s, org_id, identity))
    if charger is not None:
        await get_fleet(request).flush_log()
        await in_session(database, lambda s: delete_charger_frames(s, charger.id))
    return Response(status_code=204)
