"""Small query and write helpers over the ORM models, shared by the API and the CLI.

Every lookup that takes an id from a client also takes the caller's org id: tenancy is enforced
in the query itself, so a foreign row is indistinguishable from a missing one."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from voltlab.store.models import ApiKey, Charger, Command, Location, Org

ROLES: tuple[str, ...] = ("admin", "operator", "viewer")
API_KEY_PREFIX = "vl_"
DEFAULT_ORG = "default"

# Ids we mint are short ASCII tokens; anything else cannot name a row, and rejecting it before it
# reaches the database keeps odd bytes (NUL breaks PostgreSQL text parameters) out of queries.
_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


def looks_like_id(value: str) -> bool:
    return bool(_ID_SHAPE.match(value))


def new_id(prefix: str = "") -> str:
    """`prefix` + 12 lowercase hex characters (48 random bits)."""
    return prefix + secrets.token_hex(6)


def generate_api_key() -> str:
    # 24 random bytes -> 32 urlsafe characters.
    return API_KEY_PREFIX + secrets.token_urlsafe(24)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# --- orgs and keys -----------------------------------------------------------------------------


def get_org_by_name(session: Session, name: str) -> Org | None:
    return session.scalars(select(Org).where(Org.name == name)).first()


def get_or_create_org(session: Session, name: str) -> Org:
    org = get_org_by_name(session, name)
    if org is None:
        org = Org(id=new_id("org-"), name=name)
        session.add(org)
        session.flush()
    return org


def add_api_key(session: Session, org_id: str, role: str, key: str | None = None) -> str:
    """Store a key (hashed) and return its plaintext; the plaintext is never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    plaintext = key or generate_api_key()
    session.add(
        ApiKey(
            id=new_id("key-"),
            org_id=org_id,
            role=role,
            key_hash=hash_api_key(plaintext),
            prefix=plaintext[:10],
        )
    )
    session.flush()
    return plaintext


def find_api_key(session: Session, key: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))).first()


def count_api_keys(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def list_api_keys(session: Session) -> list[tuple[ApiKey, str]]:
    rows = session.execute(
        select(ApiKey, Org.name).join(Org, Org.id == ApiKey.org_id).order_by(ApiKey.created_at)
    )
    return [(key, org_name) for key, org_name in rows]


def get_api_key(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


# --- org-scoped lookups ------------------------------------------------------------------------


def get_charger(session: Session, org_id: str, charger_id: str) -> Charger | None:
    if not looks_like_id(charger_id):
        return None
    return session.scalars(
        select(Charger).where(Charger.id == charger_id, Charger.org_id == org_id)
    ).first()


def charger_exists(session: Session, org_id: str, charger_id: str) -> bool:
    """`get_charger` without loading the row (a 404 check before other work)."""
    if not looks_like_id(charger_id):
        return False
    found = session.scalar(
        select(Charger.id).where(Charger.id == charger_id, Charger.org_id == org_id)
    )
    return found is not None


def get_location(session: Session, org_id: str, location_id: str) -> Location | None:
    if not looks_like_id(location_id):
        return None
    return session.scalars(
        select(Location).where(Location.id == location_id, Location.org_id == org_id)
    ).first()


def get_command(session: Session, org_id: str, command_id: str) -> Command | None:
    if not looks_like_id(command_id):
        return None
    return session.scalars(
        select(Command).where(Command.id == command_id, Command.org_id == org_id)
    ).first()


def chargers_of_location(
    session: Session, org_id: str, location_id: str, *, addressing_only: bool = False
) -> list[Charger]:
    """The location's chargers by identity. `addressing_only` loads just what a command needs
    (ids, identity, version, model), not each charger's stored state."""
    query = select(Charger).where(Charger.org_id == org_id, Charger.location_id == location_id)
    if addressing_only:
        query = query.options(
            load_only(
                Charger.id,
                Charger.identity,
                Charger.location_id,
                Charger.ocpp_version,
                Charger.model,
                raiseload=True,
            )
        )
    return list(session.scalars(query.order_by(Charger.identity)))


def charger_states(
    session: Session, org_id: str, charger_ids: Sequence[str]
) -> dict[str, dict[str, Any] | None]:
    """The stored snapshot of each charger (the org's; others are left out), for the rows a
    page read without it."""
    states: dict[str, dict[str, Any] | None] = {}
    for start in range(0, len(charger_ids), 500):  # SQLite's bound-parameter limits
        chunk = list(charger_ids[start : start + 500])
        rows = session.execute(
            select(Charger.id, Charger.state).where(Charger.org_id == org_id, Charger.id.in_(chunk))
        )
        states.update({charger_id: state for charger_id, state in rows})
    return states


def count_chargers_by_location(session: Session, location_ids: Sequence[str]) -> dict[str, int]:
    if not location_ids:
        return {}
    rows = session.execute(
        select(Charger.location_id, func.count())
        .where(Charger.location_id.in_(location_ids))
        .group_by(Charger.location_id)
    )
    return {location_id: count for location_id, count in rows if location_id}


def existing_identities(session: Session, org_id: str, identities: Sequence[str]) -> list[str]:
    if not identities:
        return []
    found: list[str] = []
    # Chunked so a 1000-charger location stays under SQLite's bound-parameter limits.
    for start in range(0, len(identities), 500):
        chunk = list(identities[start : start + 500])
        found.extend(
            session.scalars(
                select(Charger.identity).where(
                    Charger.org_id == org_id, Charger.identity.in_(chunk)
                )
            )
        )
    return sorted(found)
