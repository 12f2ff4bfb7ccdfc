"""Synchronous queries over the OCPI tables. Every function takes the caller's Session, so a
unit of work (and the caller's transaction, for `register_cpo`/`publish`) stays in one place."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.ocpi.peer import CpoLink
from voltlab.store.ocpi_models import (
    OcpiAuthorization,
    OcpiCredentials,
    OcpiObject,
    OcpiReceivedToken,
)

OBJECT_KINDS: tuple[str, ...] = ("location", "tariff", "session", "cdr")


# --- credentials --------------------------------------------------------------------------------


def get_credentials(session: Session, cpo_id: str) -> OcpiCredentials | None:
    return session.get(OcpiCredentials, cpo_id)


def get_link(session: Session, cpo_id: str) -> CpoLink | None:
    row = get_credentials(session, cpo_id)
    return CpoLink.from_row(row) if row is not None else None


def find_by_token_hashes(session: Session, hashes: list[str]) -> tuple[OcpiCredentials, str] | None:
    """The credentials row a presented token belongs to and which token it is ("A" or "C")."""
    if not hashes:
        return None
    row = session.scalars(
        select(OcpiCredentials).where(OcpiCredentials.token_c_hash.in_(hashes))
    ).first()
    if row is not None:
        return row, "C"
    row = session.scalars(
        select(OcpiCredentials).where(OcpiCredentials.token_a_hash.in_(hashes))
    ).first()
    if row is not None:
        return row, "A"
    return None


def complete_registration(
    session: Session,
    cpo_id: str,
    *,
    expected_token_c_hash: str | None,
    new_token_c_hash: str,
    token_b: str,
    token_b_base64: bool,
    peer_versions_url: str,
    peer_version: str,
    peer_details_url: str,
    peer_endpoints: list[dict[str, Any]],
    peer_roles: list[dict[str, Any]],
) -> bool:
    """Store the handshake's outcome, guarded on the registration state it started from.

    The guard (`token_c_hash` still equal to what the handler saw) makes two concurrent POSTs,
    or a POST racing a PUT, resolve to exactly one winner; the loser gets False.
    """
    condition = (
        OcpiCredentials.token_c_hash.is_(None)
        if expected_token_c_hash is None
        else OcpiCredentials.token_c_hash == expected_token_c_hash
    )
    now = wall_now()
    values: dict[str, Any] = {
        "token_c_hash": new_token_c_hash,
        "token_b": token_b,
        "token_b_base64": token_b_base64,
        "peer_versions_url": peer_versions_url,
        "peer_version": peer_version,
        "peer_details_url": peer_details_url,
        "peer_endpoints": peer_endpoints,
        "peer_roles": peer_roles,
        "updated_at": now,
    }
    if expected_token_c_hash is None:
        values["registered_at"] = now
    result = session.execute(
        update(OcpiCredentials)
        .where(OcpiCredentials.cpo_id == cpo_id, OcpiCredentials.revoked.is_(False), condition)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unregister(session: Session, cpo_id: str) -> None:
    row = get_credentials(session, cpo_id)
    if row is None:
        return
    row.token_c_hash = None
    row.token_b = None
    row.peer_versions_url = None
    row.peer_version = None
    row.peer_details_url = None
    row.peer_endpoints = None
    row.peer_roles = None
    row.registered_at = None
    row.unregistered_at = wall_now()
    row.updated_at = wall_now()


# --- objects ------------------------------------------------------------------------------------


def upsert_object(
    session: Session,
    cpo_id: str,
    kind: str,
    object_id: str,
    body: dict[str, Any],
    last_updated: datetime,
) -> None:
    row = session.scalars(
        select(OcpiObject).where(
            OcpiObject.cpo_id == cpo_id, OcpiObject.kind == kind, OcpiObject.object_id == object_id
        )
    ).first()
    if row is None:
        session.add(
            OcpiObject(
                cpo_id=cpo_id,
                kind=kind,
                object_id=object_id,
                body=body,
                last_updated=last_updated,
            )
        )
        return
    row.body = body
    row.last_updated = last_updated


def get_object(session: Session, cpo_id: str, kind: str, object_id: str) -> dict[str, Any] | None:
    body = session.scalars(
        select(OcpiObject.body).where(
            OcpiObject.cpo_id == cpo_id, OcpiObject.kind == kind, OcpiObject.object_id == object_id
        )
    ).first()
    return dict(body) if body is not None else None


def get_object_for_update(
    session: Session, cpo_id: str, kind: str, object_id: str
) -> OcpiObject | None:
    """The row itself, locked on PostgreSQL (SQLite serialises writers anyway), for a
    read-modify-write such as an EVSE status change."""
    return session.scalars(
        select(OcpiObject)
        .where(
            OcpiObject.cpo_id == cpo_id, OcpiObject.kind == kind, OcpiObject.object_id == object_id
        )
        .with_for_update()
    ).first()


def get_objects(
    session: Session, cpo_id: str, kind: str, object_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(object_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(OcpiObject.object_id, OcpiObject.body).where(
            OcpiObject.cpo_id == cpo_id, OcpiObject.kind == kind, OcpiObject.object_id.in_(wanted)
        )
    ).all()
    return {object_id: dict(body) for object_id, body in rows}


def list_objects(
    session: Session,
    cpo_id: str,
    kind: str,
    *,
    date_from: datetime | None,
    date_to: datetime | None,
    offset: int,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """(total matching the filters, one page oldest first)."""
    conditions = [OcpiObject.cpo_id == cpo_id, OcpiObject.kind == kind]
    if date_from is not None:
        conditions.append(OcpiObject.last_updated >= date_from)
    if date_to is not None:
        conditions.append(OcpiObject.last_updated < date_to)
    total = session.scalar(select(func.count()).select_from(OcpiObject).where(*conditions)) or 0
    if limit <= 0 or offset >= total:
        return total, []
    bodies = session.scalars(
        select(OcpiObject.body)
        .where(*conditions)
        # object_id breaks ties so equal timestamps still page deterministically.
        .order_by(OcpiObject.last_updated, OcpiObject.object_id)
        .offset(offset)
        .limit(limit)
    ).all()
    return total, [dict(body) for body in bodies]


def delete_cpo_data(session: Session, cpo_id: str) -> None:
    for model in (OcpiObject, OcpiReceivedToken, OcpiAuthorization):
        session.execute(model.__table__.delete().where(model.cpo_id == cpo_id))  # type: ignore[attr-defined]


# --- received tokens ----------------------------------------------------------------------------


def get_received_token(
    session: Session, cpo_id: str, country_code: str, party_id: str, uid: str, token_type: str
) -> OcpiReceivedToken | None:
    return session.scalars(
        select(OcpiReceivedToken).where(
            OcpiReceivedToken.cpo_id == cpo_id,
            # CiString: country codes and party ids compare case-insensitively.
            OcpiReceivedToken.country_code == country_code.upper(),
            OcpiReceivedToken.party_id == party_id.upper(),
            OcpiReceivedToken.uid == uid,
            OcpiReceivedToken.token_type == token_type,
        )
    ).first()


def find_received_token(
    session: Session, cpo_id: str, uid: str, token_type: str
) -> dict[str, Any] | None:
    body = session.scalars(
        select(OcpiReceivedToken.body)
        .where(
            OcpiReceivedToken.cpo_id == cpo_id,
            OcpiReceivedToken.uid == uid,
            OcpiReceivedToken.token_type == token_type,
        )
        .order_by(OcpiReceivedToken.last_updated.desc())
    ).first()
    return dict(body) if body is not None else None


def save_received_token(
    session: Session,
    cpo_id: str,
    country_code: str,
    party_id: str,
    uid: str,
    token_type: str,
    body: dict[str, Any],
    last_updated: datetime,
) -> bool:
    """Insert or replace; True when the token is new."""
    row = get_received_token(session, cpo_id, country_code, party_id, uid, token_type)
    if row is None:
        session.add(
            OcpiReceivedToken(
                cpo_id=cpo_id,
                country_code=country_code.upper(),
                party_id=party_id.upper(),
                uid=uid,
                token_type=token_type,
                body=body,
                last_updated=last_updated,
            )
        )
        return True
    row.body = body
    row.last_updated = last_updated
    return False
