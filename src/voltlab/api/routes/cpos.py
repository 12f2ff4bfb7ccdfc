"""/ocpi/cpos: virtual CPOs — create (202 with Token A), list, get, status, report, destroy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session, invalid, not_found
from voltlab.api.cpo_schemas import CpoCreate
from voltlab.api.errors import SafeJSONResponse
from voltlab.api.openapi_examples import CPO_EXAMPLES, SEED_CPO_RESPONSE, request_examples
from voltlab.api.pagination import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageLimit,
    decode_cursor,
    encode_cursor,
    page_body,
)
from voltlab.api.responses.cpos import (
    CpoCreated,
    CpoDeletion,
    CpoPage,
    CpoReport,
    CpoStatusView,
    CpoTemplate,
    CpoTraffic,
    CpoView,
)
from voltlab.api.responses.declare import AUTHENTICATED, READ, WRITE, answers
from voltlab.api.routing import GatewayRouter
from voltlab.api.shared_reads import shared_read
from voltlab.cpo.service import CpoInputError, CpoLimitReached, CpoRequest, CpoService
from voltlab.cpo.templates import gallery_json
from voltlab.cpo.views import cpo_json, report_json, status_json
from voltlab.ocpi.traffic import REQUEST_LOG_KEEP, recent_requests, traffic_summary
from voltlab.store.models import Cpo

router = GatewayRouter(prefix="/ocpi/cpos", tags=["virtual CPOs"], route_class=AuthenticatedRoute)


def _services(request: Request) -> CpoService:
    services: CpoService | None = getattr(request.app.state, "cpo_service", None)
    if services is None:
        raise HTTPException(status_code=503, detail="the virtual CPO engine is not running")
    return services


def _own_cpo(session: Session, org_id: str, cpo_id: str) -> Cpo:
    cpo = session.get(Cpo, cpo_id) if len(cpo_id) <= 40 else None
    if cpo is None or cpo.org_id != org_id:
        raise not_found("CPO", cpo_id)
    return cpo


def _cpo_body(session: Session, services: CpoService, cpo: Cpo) -> dict[str, Any]:
    return cpo_json(session, cpo, services.ocpi, services.fingerprint(cpo))


@router.get(
    "/templates",
    summary="The template gallery",
    **answers(list[CpoTemplate], *AUTHENTICATED, description="Every template."),
)
async def templates(principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return gallery_json()


@router.post(
    "",
    summary="Create CPO (durable)",
    description="Kick off a full OCPI CPO in one call: network, locations, chargers. Answers "
    "202 at once with Token A (the eMSP may handshake immediately) and a `status_url`; "
    "provisioning runs as a durable workflow. Poll `status_url` until READY (or FAILED).",
    openapi_extra=request_examples(CPO_EXAMPLES),
    **answers(
        CpoCreated,
        *WRITE,
        409,
        status=202,
        description="Provisioning accepted; follow status_url. 503: the engine is not "
        "running, or the org has as many live CPOs as it may.",
        example=SEED_CPO_RESPONSE,
    ),
)
async def create_cpo(
    body: CpoCreate, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    services = _services(request)
    # Left out: the default TTL; an explicit null: never expires.
    ttl = body.ttl_seconds
    cpo_request = CpoRequest(
        template=body.template,
        country_code=body.country_code,
        party_id=body.party_id,
        name_prefix=body.name_prefix,
        ocpi_version=body.ocpi_version,
        seed=body.seed,
        ttl_seconds=ttl,
        overrides=dict(body.overrides or {}),
    )
    try:
        return await services.create(principal.org_id, cpo_request)
    except CpoInputError as exc:
        raise invalid(exc.loc, exc.message, None) from exc
    except CpoLimitReached as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc


@router.get(
    "",
    summary="List CPOs",
    **answers(CpoPage, *READ, description="A page, newest first."),
)
async def list_cpos(
    principal: CurrentPrincipal,
    request: Request,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> Response:
    services = _services(request)
    key = decode_cursor(cursor)

    def page(session: Session) -> dict[str, Any]:
        query = select(Cpo).where(Cpo.org_id == principal.org_id)
        if key is not None:
            query = query.where(
                or_(
                    Cpo.created_at < key.created_at,
                    and_(Cpo.created_at == key.created_at, Cpo.id < key.tiebreak),
                )
            )
        rows = session.scalars(
            query.order_by(Cpo.created_at.desc(), Cpo.id.desc()).limit(limit + 1)
        ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [cpo_json(session, cpo, services.ocpi, services.fingerprint(cpo)) for cpo in rows]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
        return page_body(items, next_cursor)

    async def compute() -> Response:
        return SafeJSONResponse(await in_session(get_database(request), page))

    return await shared_read(request, principal.org_id, compute)


@router.get("/{cpo_id}", summary="Get CPO", **answers(CpoView, *READ, 404, description="The CPO."))
async def get_cpo(cpo_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    services = _services(request)
    return await in_session(
        get_database(request),
        lambda s: _cpo_body(s, services, _own_cpo(s, principal.org_id, cpo_id)),
    )


@router.get(
    "/{cpo_id}/status",
    summary="Get CPO provisioning status",
    **answers(CpoStatusView, *READ, 404, description="Status and provisioning steps."),
)
async def get_status(cpo_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    return await in_session(
        get_database(request), lambda s: status_json(s, _own_cpo(s, principal.org_id, cpo_id))
    )


@router.get(
    "/{cpo_id}/report",
    summary="Get CPO report",
    **answers(CpoReport, *READ, 404, description="Network, sessions, CDRs, revenue."),
)
async def get_report(cpo_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    services = _services(request)
    return await in_session(
        get_database(request),
        lambda s: report_json(
            s, _own_cpo(s, principal.org_id, cpo_id), services.ocpi, get_fleet(request)
        ),
    )


@router.get(
    "/{cpo_id}/traffic",
    summary="OCPI requests in and out, newest first",
    **answers(CpoTraffic, *READ, 404, description="Requests and totals."),
)
async def get_traffic(
    cpo_id: str,
    principal: CurrentPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=REQUEST_LOG_KEEP)] = 100,
) -> dict[str, Any]:
    def read(session: Session) -> dict[str, Any]:
        _own_cpo(session, principal.org_id, cpo_id)
        return {
            "cpo_id": cpo_id,
            "items": recent_requests(session, cpo_id, limit),
            "totals": traffic_summary(session, cpo_id)["totals"],
        }

    return await in_session(get_database(request), read)


@router.delete(
    "/{cpo_id}",
    summary="Delete CPO",
    **answers(CpoDeletion, *WRITE, 404, status=202, description="Destruction under way."),
)
async def delete_cpo(cpo_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    services = _services(request)
    cpo = await in_session(get_database(request), lambda s: _own_cpo(s, principal.org_id, cpo_id))
    if cpo.status not in ("DESTROYING", "DESTROYED"):
        await services.destroy(cpo_id)
    status = await in_session(
        get_database(request), lambda s: _own_cpo(s, principal.org_id, cpo_id).status
    )
    return JSONResponse(
        status_code=202,
        content={"cpo_id": cpo_id, "status": status, "status_url": f"/ocpi/cpos/{cpo_id}/status"},
    )
