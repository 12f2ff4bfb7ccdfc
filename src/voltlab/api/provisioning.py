"""Creating and removing locations and chargers: the store writes (run inside one session) and
the fleet calls that follow the commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

from fastapi import HTTPException
from sqlalchemy import delete
from sqlalchemy.orm import Session

from voltlab.api.context import in_session, invalid, not_found
from voltlab.api.schemas import (
    DEFAULT_OCPP_VERSION,
    ChargerCreate,
    LocationCreate,
    identity_for,
    prefix_from_name,
)
from voltlab.api.serialize import charger_spec
from voltlab.clock import wall_now
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.fleet.model.catalog import DEFAULT_MODEL
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.findings_repo import delete_charger_findings
from voltlab.store.models import Charger, Frame, Location

log = logging.getLogger(__name__)

# Starting a charger opens a WebSocket; a 1000-charger location should not open 1000 at once.
START_CONCURRENCY = 32


def _security_dict(security: Any) -> dict[str, Any] | None:
    return None if security is None else security.model_dump(exclude_none=True)


def _refuse_taken_identities(session: Session, org_id: str, identities: Sequence[str]) -> None:
    taken = repo.existing_identities(session, org_id, identities)
    if taken:
        shown = ", ".join(taken[:10]) + (" ..." if len(taken) > 10 else "")
        raise HTTPException(status_code=409, detail=f"identity already used in this org: {shown}")


def _identities(prefix: str, count: int) -> list[str]:
    return [identity_for(prefix, index) for index in range(1, count + 1)]


def _location_prefix(
    session: Session, org_id: str, body: LocationCreate, location_id: str
) -> tuple[str, list[str]]:
    """The identity prefix and identities of a new location. A prefix the client gave is used
    as given (a collision is its 409 to resolve); a derived one that is already taken - two
    depots named alike, or names of symbols only, which all derive 'CP-' - gets a short suffix
    from the location id instead of failing."""
    if body.identity_prefix is not None:
        identities = _identities(body.identity_prefix, body.chargers)
        _refuse_taken_identities(session, org_id, identities)
        return body.identity_prefix, identities
    prefix = prefix_from_name(body.name)
    identities = _identities(prefix, body.chargers)
    if repo.existing_identities(session, org_id, identities):
        prefix = prefix_from_name(body.name, suffix=location_id.removeprefix("loc-")[-6:])
        identities = _identities(prefix, body.chargers)
        _refuse_taken_identities(session, org_id, identities)
    return prefix, identities


def insert_location_row(session: Session, location: Location) -> Location:
    """Store a location row, before any charger that references it."""
    session.add(location)
    # The models declare no relationship(), so the unit of work does not know a location must
    # be inserted before the chargers that reference it: flush it first.
    session.flush()
    return location


def insert_location(
    session: Session, org_id: str, body: LocationCreate
) -> tuple[Location, list[Charger]]:
    location_id = repo.new_id("loc-")
    prefix, identities = _location_prefix(session, org_id, body, location_id)
    now = wall_now()
    security = _security_dict(body.security)
    location = insert_location_row(
        session,
        Location(
            id=location_id,
            org_id=org_id,
            name=body.name,
            csms_url=body.csms_url,
            ocpp_version=body.ocpp_version,
            model=body.model,
            identity_prefix=prefix,
            security=security,
            created_at=now,
        ),
    )
    # One timestamp for the batch: listing orders by (created_at, identity), i.e. 001, 002, ...
    chargers = [
        Charger(
            id=repo.new_id("dep-"),
            org_id=org_id,
            location_id=location.id,
            identity=identity,
            csms_url=body.csms_url,
            ocpp_version=body.ocpp_version,
            model=body.model,
            security=security,
            desired_running=body.auto_start,
            created_at=now,
            updated_at=now,
        )
        for identity in identities
    ]
    session.add_all(chargers)
    session.flush()
    return location, chargers


def insert_charger(session: Session, org_id: str, body: ChargerCreate) -> Charger:
    location: Location | None = None
    if body.location_id is not None:
        location = repo.get_location(session, org_id, body.location_id)
        if location is None:
            raise not_found("location", body.location_id)
    csms_url = body.csms_url or (location.csms_url if location else None)
    if csms_url is None:
        raise invalid(("body", "csms_url"), "csms_url is required without a location_id")
    _refuse_taken_identities(session, org_id, [body.identity])
    if body.security is not None:
        security = _security_dict(body.security)
    else:
        security = location.security if location else None
    now = wall_now()
    charger = Charger(
        id=repo.new_id("dep-"),
        org_id=org_id,
        location_id=location.id if location else None,
        identity=body.identity,
        csms_url=csms_url,
        ocpp_version=body.ocpp_version
        or (location.ocpp_version if location else DEFAULT_OCPP_VERSION),
        model=body.model or (location.model if location else DEFAULT_MODEL),
        security=security,
        desired_running=body.auto_start,
        created_at=now,
        updated_at=now,
    )
    session.add(charger)
    session.flush()
    return charger


def set_desired_running(session: Session, org_id: str, charger_id: str, running: bool) -> Charger:
    charger = repo.get_charger(session, org_id, charger_id)
    if charger is None:
        raise not_found("charger", charger_id)
    charger.desired_running = running
    charger.updated_at = wall_now()
    return charger


def delete_charger_row(session: Session, org_id: str, charger_id: str) -> None:
    charger = repo.get_charger(session, org_id, charger_id)
    if charger is None:
        raise not_found("charger", charger_id)
    session.delete(charger)


def delete_location_rows(session: Session, org_id: str, location_id: str) -> list[str]:
    """Delete the location and its chargers; returns the charger ids for the fleet."""
    location = repo.get_location(session, org_id, location_id)
    if location is None:
        raise not_found("location", location_id)
    charger_ids = [c.id for c in repo.chargers_of_location(session, org_id, location_id)]
    for start in range(0, len(charger_ids), 500):
        chunk = charger_ids[start : start + 500]
        session.execute(delete(Charger).where(Charger.id.in_(chunk)))
    session.delete(location)
    return charger_ids


def delete_frames(session: Session, charger_ids: Sequence[str]) -> None:
    """The frame log and the findings of deleted chargers."""
    for start in range(0, len(charger_ids), 500):
        chunk = list(charger_ids[start : start + 500])
        session.execute(delete(Frame).where(Frame.charger_id.in_(chunk)))
    delete_charger_findings(session, charger_ids)


async def _bounded(calls: Iterable[Callable[[], Awaitable[None]]], what: str) -> None:
    """Run fleet calls with bounded concurrency; one charger's failure must not fail the rest
    (the API answers with each charger's live state, which shows the problem)."""
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            try:
                await call()
            except Exception:
                log.exception("fleet %s failed", what)

    await asyncio.gather(*(one(call) for call in calls))


async def start_chargers(fleet: Fleet, chargers: Sequence[Charger]) -> None:
    specs = [charger_spec(charger) for charger in chargers]
    await _bounded((partial(fleet.start_charger, spec) for spec in specs), "start_charger")


async def remove_chargers(fleet: Fleet, charger_ids: Sequence[str]) -> None:
    await _bounded((partial(fleet.remove_charger, cid) for cid in charger_ids), "remove_charger")


async def remove_charger(database: Database, fleet: Fleet, org_id: str, charger_id: str) -> None:
    """Delete a charger (404 when it is not the org's): its row, then the fleet lets go of it,
    then its frame log and findings."""
    await in_session(database, lambda s: delete_charger_row(s, org_id, charger_id))
    # The fleet forgets the charger only after its row is gone (see Fleet.remove_charger).
    await fleet.remove_charger(charger_id)
    await in_session(database, lambda s: delete_frames(s, [charger_id]))


async def remove_location(database: Database, fleet: Fleet, org_id: str, location_id: str) -> None:
    """Delete a location with its chargers (404 when it is not the org's)."""
    charger_ids = await in_session(database, lambda s: delete_location_rows(s, org_id, location_id))
    await remove_chargers(fleet, charger_ids)
    # After the fleet let go, so frames flushed while disconnecting go too.
    await in_session(database, lambda s: delete_frames(s, charger_ids))
