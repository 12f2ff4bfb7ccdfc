"""What the SDK names and voltlab looks up: a charger by its identity, a location by its id or
its name, the chargers an org has. Every lookup is scoped to the caller's org; another org's
charger or location is not found (a 404, never a 403)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltlab.api.context import not_found
from voltlab.api.schemas import PRINTABLE_PATTERN
from voltlab.store import repo
from voltlab.store.models import Charger, Location

# A name or id in a query: it reaches the database, and PostgreSQL's text cannot hold NUL (nor
# has a charger's identity, a location's name or an id any control character): 422 for one.
QueryText = Annotated[str, Query(min_length=1, max_length=200, pattern=PRINTABLE_PATTERN)]
OptionalQueryText = Annotated[
    str | None, Query(min_length=1, max_length=200, pattern=PRINTABLE_PATTERN)
]

# Chargers a status or events answer covers when no identity is given: the oldest first.
MAX_LISTED_CHARGERS = 1000


def charger_by_identity(session: Session, org_id: str, identity: str) -> Charger | None:
    query = select(Charger).where(Charger.org_id == org_id, Charger.identity == identity)
    return session.scalars(query).first()


def require_charger(
    session: Session, org_id: str, *, deployment_id: str | None, identity: str | None
) -> Charger:
    """The charger a `deployment_id` (voltlab's charger id) or an `identity` names."""
    if deployment_id is not None:
        charger = repo.get_charger(session, org_id, deployment_id)
        if charger is None:
            raise not_found("charger", deployment_id)
        return charger
    assert identity is not None
    found = charger_by_identity(session, org_id, identity)
    if found is None:
        raise not_found("charger with identity", identity)
    return found


def chargers_by_identities(
    session: Session, org_id: str, identities: Sequence[str]
) -> list[Charger]:
    """The chargers of `identities`, in that order; 404 naming those the org does not have."""
    wanted = list(dict.fromkeys(identities))
    query = select(Charger).where(Charger.org_id == org_id, Charger.identity.in_(wanted))
    by_identity = {charger.identity: charger for charger in session.scalars(query)}
    missing = [identity for identity in wanted if identity not in by_identity]
    if missing:
        raise HTTPException(status_code=404, detail=f"no charger with identity {missing!r}")
    return [by_identity[identity] for identity in wanted]


def org_chargers(session: Session, org_id: str) -> list[Charger]:
    query = (
        select(Charger)
        .where(Charger.org_id == org_id)
        .order_by(Charger.created_at, Charger.identity)
        .limit(MAX_LISTED_CHARGERS)
    )
    return list(session.scalars(query))


def location_by_id_or_name(session: Session, org_id: str, key: str) -> Location:
    """The SDK deletes a location by "its id, slug, or name": voltlab's locations have an id and
    a name (no slug). Several of the org's locations with that name: 409."""
    location = repo.get_location(session, org_id, key)
    if location is not None:
        return location
    query = select(Location).where(Location.org_id == org_id, Location.name == key).limit(2)
    named = list(session.scalars(query))
    if not named:
        raise not_found("location", key)
    if len(named) > 1:
        raise HTTPException(
            status_code=409,
            detail=f"several locations are named {key!r}: delete one by its location_id",
        )
    return named[0]
