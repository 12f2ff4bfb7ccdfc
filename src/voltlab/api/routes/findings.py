"""Findings about the system under test: the CSMS, per charger and per location
(`voltlab.ocpp.findings`), and the eMSP, per virtual CPO (`voltlab.ocpi.findings`); the
contract is in docs/api.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session, not_found
from voltlab.api.pagination import (
    DEFAULT_PAGE_SIZE,
    CursorKey,
    PageCursor,
    PageLimit,
    decode_cursor,
    encode_cursor,
)
from voltlab.api.responses.declare import READ, answers
from voltlab.api.responses.findings import ChargerFindings, FindingsWithCounts
from voltlab.api.routing import GatewayRouter
from voltlab.api.serialize import finding_json
from voltlab.store import repo
from voltlab.store.finding_models import FindingRecord
from voltlab.store.findings_repo import FindingFilter, counts_by_rule, finding_page
from voltlab.store.models import Cpo

router = GatewayRouter(tags=["findings"], route_class=AuthenticatedRoute)

RuleFilter = Annotated[
    str | None, Query(max_length=64, description="only findings of this rule (its slug)")
]
SeverityFilter = Annotated[
    Literal["error", "warning", "info"] | None, Query(description="only this severity")
]


def _page(
    session: Session, which: FindingFilter, limit: int, key: CursorKey | None
) -> tuple[list[FindingRecord], bool]:
    after = None if key is None else (key.created_at, key.tiebreak)
    return finding_page(session, which, limit, after)


def _body(rows: list[FindingRecord], more: bool) -> dict[str, Any]:
    next_cursor = encode_cursor(rows[-1].at, rows[-1].id) if more and rows else None
    return {"findings": [finding_json(row) for row in rows], "next_cursor": next_cursor}


@router.get(
    "/ocpp/chargers/{charger_id}/findings",
    summary="What the charger found wrong with its CSMS (oldest first)",
    **answers(ChargerFindings, *READ, 404, description="A page of findings."),
)
async def charger_findings(
    charger_id: str,
    principal: CurrentPrincipal,
    request: Request,
    rule: RuleFilter = None,
    severity: SeverityFilter = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    key = decode_cursor(cursor)
    database = get_database(request)

    def require(session: Session) -> None:
        if repo.get_charger(session, principal.org_id, charger_id) is None:
            raise not_found("charger", charger_id)

    await in_session(database, require)  # 404 before flushing: a foreign id causes no work
    fleet = get_fleet(request)
    await fleet.flush_log()  # findings still buffered belong to the list
    which = FindingFilter(charger_id=charger_id, rule=rule, severity=severity)
    rows, more = await in_session(database, lambda s: _page(s, which, limit, key))
    live = fleet.live_state(charger_id) or {}
    return _body(rows, more) | {"response_times": live.get("response_times") or {}}


@router.get(
    "/ocpp/locations/{location_id}/findings",
    summary="What the location's chargers found wrong with their CSMS, with counts per rule",
    **answers(FindingsWithCounts, *READ, 404, description="A page of findings and counts."),
)
async def location_findings(
    location_id: str,
    principal: CurrentPrincipal,
    request: Request,
    rule: RuleFilter = None,
    severity: SeverityFilter = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    key = decode_cursor(cursor)
    database = get_database(request)

    def require(session: Session) -> None:
        if repo.get_location(session, principal.org_id, location_id) is None:
            raise not_found("location", location_id)

    await in_session(database, require)
    await get_fleet(request).flush_log()
    which = FindingFilter(location_id=location_id, rule=rule, severity=severity)

    def read(session: Session) -> tuple[list[FindingRecord], bool, dict[str, int]]:
        rows, more = _page(session, which, limit, key)
        return rows, more, counts_by_rule(session, which)

    rows, more, counts = await in_session(database, read)
    return _body(rows, more) | {"counts": counts}


@router.get(
    "/ocpi/cpos/{cpo_id}/findings",
    summary="What the virtual CPO found wrong with its eMSP, with counts per rule",
    **answers(FindingsWithCounts, *READ, 404, description="A page of findings and counts."),
)
async def cpo_findings(
    cpo_id: str,
    principal: CurrentPrincipal,
    request: Request,
    rule: RuleFilter = None,
    severity: SeverityFilter = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    key = decode_cursor(cursor)
    which = FindingFilter(cpo_id=cpo_id, rule=rule, severity=severity)

    def read(session: Session) -> tuple[list[FindingRecord], bool, dict[str, int]]:
        cpo = session.get(Cpo, cpo_id) if len(cpo_id) <= 40 else None
        if cpo is None or cpo.org_id != principal.org_id:
            raise not_found("CPO", cpo_id)
        rows, more = _page(session, which, limit, key)
        return rows, more, counts_by_rule(session, which)

    # The OCPI layer writes its findings as it finds them: nothing is buffered to flush.
    rows, more, counts = await in_session(get_database(request), read)
    return _body(rows, more) | {"counts": counts}
