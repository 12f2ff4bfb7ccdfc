"""The dashboard's views of the fleet: `GET /ocpp/fleet/summary` (counts by state) and
`GET /ocpp/chargers/{id}/meter-series` (a session's samples, read back from the frames the
charger sent, so the chart shows what the CSMS was told)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, get_fleet, in_session, not_found
from voltlab.api.errors import SafeJSONResponse
from voltlab.api.fleet_filters import StoredCharger, hosted_views, stored_chargers, summary
from voltlab.api.responses.chargers import FleetSummary, MeterSeries
from voltlab.api.responses.declare import READ, answers
from voltlab.api.routing import GatewayRouter
from voltlab.api.shared_reads import shared_read
from voltlab.fleet.hosting.persistence import FRAMES_KEPT_PER_CHARGER
from voltlab.ocpp.meter_frames import (
    MeterSample,
    TransactionStarts,
    frame_parts,
    parse_frame,
    samples_of_call,
)
from voltlab.store import repo
from voltlab.store.models import Frame

router = GatewayRouter(tags=["chargers"], route_class=AuthenticatedRoute)

# The actions whose CALLs carry a session's meter values (1.6 and 2.x).
METER_ACTIONS = ("MeterValues", "StopTransaction", "TransactionEvent")


@router.get(
    "/ocpp/fleet/summary",
    summary="Counts of the org's chargers by state",
    **answers(FleetSummary, *READ, 404, description="Counts (404: unknown location_id)."),
)
async def fleet_summary(
    principal: CurrentPrincipal,
    request: Request,
    location_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    org_id = principal.org_id

    def read(session: Session) -> list[StoredCharger]:
        if location_id is not None and repo.get_location(session, org_id, location_id) is None:
            raise not_found("location", location_id)
        return stored_chargers(session, org_id, location_id)

    database = get_database(request)

    async def compute() -> Response:
        chargers = await in_session(database, read)
        views = hosted_views(chargers, get_fleet(request))
        # Stored snapshots only of the chargers not hosted here (none, when this process runs
        # the org's fleet).
        unhosted = [charger_id for charger_id, view in views.items() if view is None]
        states = (
            await in_session(database, lambda s: repo.charger_states(s, org_id, unhosted))
            if unhosted
            else {}
        )
        return SafeJSONResponse(summary(chargers, views, states, location_id))

    return await shared_read(request, org_id, compute)


def _sent_samples(
    session: Session, org_id: str, charger_id: str
) -> tuple[list[MeterSample], dict[str, float]]:
    """The meter samples of the charger's frame log (what is kept of it), oldest first, and
    the register at each transaction's start (`TransactionStarts`)."""
    if repo.get_charger(session, org_id, charger_id) is None:
        raise not_found("charger", charger_id)
    rows = session.execute(
        select(Frame.direction, Frame.frame)
        .where(Frame.charger_id == charger_id)
        .order_by(Frame.id.desc())
        .limit(FRAMES_KEPT_PER_CHARGER)
    ).all()
    samples: list[MeterSample] = []
    starts = TransactionStarts()
    for direction, text in reversed(rows):
        # Most frames carry neither meter values nor a start: not worth parsing.
        if starts.wants(direction, text):
            starts.feed(direction, parse_frame(text))
        if direction != "out" or not any(action in text for action in METER_ACTIONS):
            continue
        parts = frame_parts(parse_frame(text))
        if parts is not None and parts[2] is not None:
            samples.extend(samples_of_call(parts[2], parts[3]))
    return samples, starts.meter_start_wh


def session_series(
    samples: list[MeterSample], connector_id: int | None, meter_starts: dict[str, float]
) -> dict[str, Any]:
    """The samples of the newest transaction (of `connector_id`, if given). `meter_start_wh`
    is the register at the transaction's start as the CSMS was told it (None when that frame
    is no longer kept); each point's `session_energy_wh` is its register minus it."""
    # A 1.6 StopTransaction names no connector: its samples belong to the transaction's.
    connector_of = {s.transaction_id: s.connector_id for s in samples if s.connector_id}
    newest = next(
        (
            s
            for s in reversed(samples)
            if s.transaction_id is not None
            and (connector_id is None or connector_of.get(s.transaction_id) == connector_id)
        ),
        None,
    )
    if newest is None or newest.transaction_id is None:
        return {
            "connector_id": connector_id,
            "transaction_id": None,
            "meter_start_wh": None,
            "points": [],
        }
    tx_id = newest.transaction_id
    start = meter_starts.get(tx_id)
    points = [
        {
            "ts": s.ts,
            "power_w": s.power_w,
            "energy_wh": s.energy_wh,
            "session_energy_wh": None
            if start is None or s.energy_wh is None
            else round(s.energy_wh - start, 3),
            "soc": s.soc,
        }
        for s in samples
        if s.transaction_id == tx_id
    ]
    return {
        "connector_id": connector_of.get(tx_id),
        "transaction_id": tx_id,
        "meter_start_wh": start,
        "points": points,
    }


@router.get(
    "/ocpp/chargers/{charger_id}/meter-series",
    summary="The current (or last) session's meter samples, oldest first",
    **answers(MeterSeries, *READ, 404, description="The session's samples."),
)
async def meter_series(
    charger_id: str,
    principal: CurrentPrincipal,
    request: Request,
    connector_id: Annotated[int | None, Query(ge=1, le=64)] = None,
) -> dict[str, Any]:
    database = get_database(request)
    await in_session(database, lambda s: _require(s, principal.org_id, charger_id))
    await get_fleet(request).flush_log()  # frames still buffered belong to the series too
    samples, starts = await in_session(
        database, lambda s: _sent_samples(s, principal.org_id, charger_id)
    )
    return session_series(samples, connector_id, starts)


def _require(session: Session, org_id: str, charger_id: str) -> None:
    if repo.get_charger(session, org_id, charger_id) is None:
        raise not_found("charger", charger_id)
