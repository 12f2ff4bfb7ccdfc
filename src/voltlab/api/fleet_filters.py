"""The dashboard's charger filters and counts (`GET /ocpp/chargers?...`, `GET
/ocpp/fleet/summary`).

What is stored (identity, version, model, location) is filtered in SQL; what is live
(connection, registration, connector statuses) comes from the same place the charger's GET
takes it: the runtime for a charger it hosts, else the stored snapshot (connection
`stopped`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import Query
from sqlalchemy import ScalarSelect, Select, and_, func, or_, select
from sqlalchemy.orm import Session, defer

from voltlab.api.context import in_session, invalid
from voltlab.api.pagination import CursorKey
from voltlab.fleet.hosting.runtime_api import Fleet, StatusView
from voltlab.fleet.model.catalog import CATALOG
from voltlab.ocpp.vocabulary.connector_status import (
    CONNECTOR_STATUSES_16,
    EVSE_STATUS_PRIORITY,
    ConnectorStatus16,
)
from voltlab.store.db import Database
from voltlab.store.finding_models import FindingRecord
from voltlab.store.models import Charger

Connection = Literal["connecting", "connected", "disconnected", "stopped"]
Registration = Literal["Accepted", "Pending", "Rejected"]
# A connector status as either version reports it: 1.6's nine, and 2.x's Occupied (2.x's other
# four are 1.6 names too).
ConnectorStatus = Literal[ConnectorStatus16, Literal["Occupied"]]
VersionFilter = Literal["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]
# The live filters read rows in batches of this size until a page is full.
SCAN_BATCH = 500

assert set(CONNECTOR_STATUSES_16) | set(EVSE_STATUS_PRIORITY) == set(
    ConnectorStatus.__args__  # type: ignore[attr-defined]
)


@dataclass(frozen=True)
class ChargerFilter:
    q: str | None = None
    connection: str | None = None
    registration: str | None = None
    status: str | None = None
    ocpp_version: str | None = None
    model: str | None = None

    @property
    def live(self) -> bool:
        return any(v is not None for v in (self.connection, self.registration, self.status))


QText = Annotated[str | None, Query(min_length=1, max_length=128, description="identity contains")]
ConnectionQ = Annotated[Connection | None, Query(description="connection state")]
RegistrationQ = Annotated[Registration | None, Query(description="BootNotification answer")]
StatusQ = Annotated[ConnectorStatus | None, Query(description="a status any connector has")]
VersionQ = Annotated[VersionFilter | None, Query(description="OCPP version")]
ModelQ = Annotated[
    str | None,
    Query(
        max_length=64,
        description="charger model slug (GET /ocpp/models)",
        json_schema_extra={"enum": sorted(CATALOG)},
    ),
]


def check_model(model: str | None) -> None:
    """The catalog is data, not a type: an unknown slug is a 422 naming `model`."""
    if model is not None and model not in CATALOG:
        known = ", ".join(sorted(CATALOG))
        raise invalid(("query", "model"), f"unknown model {model!r} (one of {known})", model)


def stored_conditions(query: Select[Any], which: ChargerFilter) -> Select[Any]:
    if which.q is not None:
        # The identity contains q, taken literally (LIKE's wildcards escaped).
        escaped = which.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Charger.identity.like(f"%{escaped}%", escape="\\"))
    if which.ocpp_version is not None:
        query = query.where(Charger.ocpp_version == which.ocpp_version)
    if which.model is not None:
        query = query.where(Charger.model == which.model)
    return query


def live_view(
    charger_id: str, model: str, state: dict[str, Any] | None, fleet: Fleet
) -> StatusView:
    """The charger's connection, registration and connector statuses as its GET shows them
    (a charger never run: its model's connectors, status unknown)."""
    hosted = fleet.status_view(charger_id)
    return hosted if hosted is not None else stored_view(model, state)


def stored_view(model: str, state: dict[str, Any] | None) -> StatusView:
    """The view of a charger not hosted here: `stopped`, its stored snapshot's statuses."""
    stored = (state or {}).get("connectors")
    if isinstance(stored, list):
        statuses = tuple(c.get("status") for c in stored)
    else:
        spec = CATALOG.get(model)
        statuses = (None,) * (len(spec.connectors) if spec is not None else 0)
    return StatusView("stopped", None, statuses)


def matches(view: StatusView, which: ChargerFilter) -> bool:
    if which.connection is not None and view.connection != which.connection:
        return False
    if which.registration is not None and view.registration != which.registration:
        return False
    return which.status is None or which.status in view.statuses


def _after(query: Select[Any], key: CursorKey | None) -> Select[Any]:
    if key is None:
        return query
    # identity is unique per org, so (created_at, identity) is a total order.
    return query.where(
        or_(
            Charger.created_at > key.created_at,
            and_(Charger.created_at == key.created_at, Charger.identity > key.tiebreak),
        )
    )


def fetch_batch(
    session: Session, base: Select[Any], key: CursorKey | None, size: int
) -> list[Charger]:
    order = (Charger.created_at, Charger.identity)
    return list(session.scalars(_after(base, key).order_by(*order).limit(size)))


def findings_count() -> ScalarSelect[int]:
    """The charger's count of findings, as a column of a query over `Charger` (one statement
    for a page and its counts)."""
    return (
        select(func.count())
        .where(FindingRecord.charger_id == Charger.id)
        .correlate(Charger)
        .scalar_subquery()
    )


def stored_page(
    session: Session, base: Select[Any], key: CursorKey | None, limit: int
) -> tuple[list[Charger], bool, dict[str, int]]:
    """One page (and whether more follow) of `base` with no live filter, with each charger's
    count of findings: rows without their stored snapshot (`state`), which only a charger not
    hosted here shows (`charger_states`)."""
    query = _after(base.add_columns(findings_count()), key).options(defer(Charger.state))
    order = (Charger.created_at, Charger.identity)
    rows = session.execute(query.order_by(*order).limit(limit + 1)).all()
    page = [charger for charger, _ in rows[:limit]]
    counts = {charger.id: count for charger, count in rows[:limit] if count}
    return page, len(rows) > limit, counts


async def filtered_page(
    database: Database,
    base: Select[Any],
    which: ChargerFilter,
    fleet: Fleet,
    limit: int,
    key: CursorKey | None,
) -> tuple[list[Charger], bool]:
    """One page (and whether more follow) of `base` (chargers of an org, stored filters
    applied) with a live filter, oldest first. The live filters are applied here, on the event
    loop (the runtime's stations are read only there), to batches of rows read in order."""
    chosen: list[Charger] = []
    while True:
        batch = await in_session(
            database, partial(fetch_batch, base=base, key=key, size=SCAN_BATCH)
        )
        for row in batch:
            if matches(live_view(row.id, row.model, row.state, fleet), which):
                if len(chosen) == limit:
                    return chosen, True
                chosen.append(row)
        if len(batch) < SCAN_BATCH:
            return chosen, False
        key = CursorKey(batch[-1].created_at, batch[-1].identity)


@dataclass(frozen=True)
class StoredCharger:
    charger_id: str
    model: str
    ocpp_version: str


def stored_chargers(session: Session, org_id: str, location_id: str | None) -> list[StoredCharger]:
    """What the summary counts of each charger of the org (of one location), in one query."""
    where = [Charger.org_id == org_id]
    if location_id is not None:
        where.append(Charger.location_id == location_id)
    rows = session.execute(select(Charger.id, Charger.model, Charger.ocpp_version).where(*where))
    return [StoredCharger(str(i), str(m), str(v)) for i, m, v in rows]


def hosted_views(chargers: list[StoredCharger], fleet: Fleet) -> dict[str, StatusView | None]:
    """Each charger's view as the runtime has it now (None: not hosted here, its stored snapshot
    counts). On the event loop."""
    return {c.charger_id: fleet.status_view(c.charger_id) for c in chargers}


def summary(
    chargers: list[StoredCharger],
    views: dict[str, StatusView | None],
    states: dict[str, dict[str, Any] | None],
    location_id: str | None,
) -> dict[str, Any]:
    """Counts of the org's chargers (of one location): total, and per connection,
    registration (`none` before any answer), connector status (each connector counted,
    `unknown` before any report), OCPP version and model. `views` from `hosted_views`;
    `states`: the stored snapshots of the others."""
    connection: Counter[str] = Counter()
    registration: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for charger in chargers:
        view = views.get(charger.charger_id) or stored_view(
            charger.model, states.get(charger.charger_id)
        )
        connection[view.connection] += 1
        registration[view.registration or "none"] += 1
        for status in view.statuses:
            statuses[status or "unknown"] += 1
    return {
        "location_id": location_id,
        "total": len(chargers),
        "by_connection": dict(connection),
        "by_registration": dict(registration),
        "by_connector_status": dict(statuses),
        "by_ocpp_version": dict(Counter(c.ocpp_version for c in chargers)),
        "by_model": dict(Counter(c.model for c in chargers)),
    }
