"""Sender interfaces of our CPO: paged GET of locations, tariffs, sessions and CDRs, and the
single-object GETs of the locations module."""

from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from voltlab.ocpi import repo
from voltlab.ocpi.core import OcpiCore
from voltlab.ocpi.envelope import OcpiError, OcpiReply, OcpiStatus, not_found
from voltlab.ocpi.paging import MAX_LIMIT, PageRequest, page_headers, parse_page_request
from voltlab.ocpi.presenter import present, present_one
from voltlab.ocpi.shapes_211 import connector_to_211, evse_to_211
from voltlab.ocpi.web import Caller, run_endpoint

KIND_OF_MODULE: dict[str, str] = {
    "locations": "location",
    "tariffs": "tariff",
    "sessions": "session",
    "cdrs": "cdr",
}


def _list_page(
    session: Session, cpo_id: str, version: str, kind: str, page: PageRequest
) -> tuple[int, list[dict[str, Any]]]:
    total, bodies = repo.list_objects(
        session,
        cpo_id,
        kind,
        date_from=page.date_from,
        date_to=page.date_to,
        offset=page.offset,
        limit=page.limit,
    )
    return total, present(session, cpo_id, version, kind, bodies)


def _unknown_location(location_id: str) -> OcpiError:
    return not_found(OcpiStatus.UNKNOWN_LOCATION, f"Unknown location {location_id!r}")


def _location_part(
    session: Session,
    cpo_id: str,
    version: str,
    location_id: str,
    evse_uid: str | None,
    connector_id: str | None,
) -> dict[str, Any]:
    location = repo.get_object(session, cpo_id, "location", location_id)
    if location is None:
        raise _unknown_location(location_id)
    if evse_uid is None:
        return present_one(session, cpo_id, version, "location", location)
    evse = next((e for e in location.get("evses") or [] if e.get("uid") == evse_uid), None)
    if evse is None:
        raise not_found(
            OcpiStatus.UNKNOWN_LOCATION, f"Unknown EVSE {evse_uid!r} at location {location_id!r}"
        )
    if connector_id is None:
        return evse_to_211(evse) if version == "2.1.1" else evse
    connector = next(
        (c for c in evse.get("connectors") or [] if str(c.get("id")) == connector_id), None
    )
    if connector is None:
        raise not_found(
            OcpiStatus.UNKNOWN_LOCATION,
            f"Unknown connector {connector_id!r} on EVSE {evse_uid!r}",
        )
    return connector_to_211(connector) if version == "2.1.1" else connector


def add_sender_routes(router: APIRouter, core: OcpiCore, version: str) -> None:
    base = f"/ocpi/{version}"
    tags: list[str | Enum] = [f"OCPI {version}"]  # FastAPI\'s type

    for module, kind in KIND_OF_MODULE.items():
        _add_list_route(router, core, version, module, kind, tags)

    async def _serve_location(
        request: Request, location_id: str, evse_uid: str | None, connector_id: str | None
    ) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            data = await core.db(
                _location_part, caller.cpo_id, version, location_id, evse_uid, connector_id
            )
            return OcpiReply(data=data)

        return await run_endpoint(
            core, request, version=version, module="locations", handler=handle
        )

    @router.get(f"{base}/locations/{{location_id}}", tags=tags, summary="One location")
    async def get_location(request: Request, location_id: str) -> Response:
        return await _serve_location(request, location_id, None, None)

    @router.get(f"{base}/locations/{{location_id}}/{{evse_uid}}", tags=tags, summary="One EVSE")
    async def get_evse(request: Request, location_id: str, evse_uid: str) -> Response:
        return await _serve_location(request, location_id, evse_uid, None)

    @router.get(
        f"{base}/locations/{{location_id}}/{{evse_uid}}/{{connector_id}}",
        tags=tags,
        summary="One connector",
    )
    async def get_connector(
        request: Request, location_id: str, evse_uid: str, connector_id: str
    ) -> Response:
        return await _serve_location(request, location_id, evse_uid, connector_id)


def _asked_limit(request: Request) -> int | None:
    """The limit the eMSP asked for (parse_page_request caps it at X-Limit)."""
    raw = request.query_params.get("limit")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _add_list_route(
    router: APIRouter, core: OcpiCore, version: str, module: str, kind: str, tags: list[str | Enum]
) -> None:
    # A function per module so each route closes over its own module/kind.
    async def list_objects(request: Request) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            page = parse_page_request(request.query_params)
            asked = _asked_limit(request)
            observations = core.paging.judge(
                caller.cpo_id, module, page.filters, page.offset, asked
            )
            total, data = await core.db(_list_page, caller.cpo_id, version, kind, page)
            headers = page_headers(
                page,
                total=total,
                returned=len(data),
                base_url=core.module_url(version, module),
            )
            next_offset = page.offset + len(data) if "Link" in headers else None
            core.paging.answered(caller.cpo_id, module, page.filters, next_offset, MAX_LIMIT)
            return OcpiReply(data=data, headers=headers, observations=observations)

        return await run_endpoint(core, request, version=version, module=module, handler=handle)

    router.add_api_route(
        f"/ocpi/{version}/{module}",
        list_objects,
        methods=["GET"],
        tags=tags,
        summary=f"Paged {module} (offset, limit, date_from, date_to)",
        name=f"ocpi_{version.replace('.', '')}_{module}_list",
    )
