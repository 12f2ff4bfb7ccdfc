"""The `ocpi_authorizations` rows: how the eMSP authorized a token uid at a CPO (command or
real-time authorization) and the authorization_reference it gave. Synchronous, on the
caller's Session, like repo.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from voltlab.store.ocpi_models import OcpiAuthorization


@dataclass(frozen=True)
class GivenAuthorization:
    uid: str
    auth_method: str  # COMMAND | AUTH_REQUEST (CDRs module AuthMethod)
    token: dict[str, Any] | None  # the eMSP's Token object, when it sent one
    authorization_reference: str | None


def save(session: Session, cpo_id: str, given: GivenAuthorization, at: datetime) -> None:
    row = session.scalars(
        select(OcpiAuthorization).where(
            OcpiAuthorization.cpo_id == cpo_id, OcpiAuthorization.uid == given.uid
        )
    ).first()
    if row is None:
        row = OcpiAuthorization(cpo_id=cpo_id, uid=given.uid)
        session.add(row)
    row.auth_method = given.auth_method
    row.token = given.token
    row.authorization_reference = given.authorization_reference
    row.updated_at = at


def load(session: Session, cpo_id: str, uid: str) -> GivenAuthorization | None:
    row = session.scalars(
        select(OcpiAuthorization).where(
            OcpiAuthorization.cpo_id == cpo_id, OcpiAuthorization.uid == uid
        )
    ).first()
    if row is None:
        return None
    return GivenAuthorization(row.uid, row.auth_method, row.token, row.authorization_reference)


def forget(session: Session, cpo_id: str, uid: str) -> None:
    session.execute(
        delete(OcpiAuthorization).where(
            OcpiAuthorization.cpo_id == cpo_id, OcpiAuthorization.uid == uid
        )
    )


def forget_cpo(session: Session, cpo_id: str) -> None:
    session.execute(delete(OcpiAuthorization).where(OcpiAuthorization.cpo_id == cpo_id))
