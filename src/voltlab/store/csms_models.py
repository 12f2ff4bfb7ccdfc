"""The built-in CSMS's station credentials: one row per virtual-CPO charger, holding only a
hash of its OCPP security profile 1 (HTTP Basic) password.

The plaintext lives on the station side only (the charger's ``security`` config, never shown
by the API). The table is created by the migrations (`voltlab.store.schema` lists this module).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from voltlab.clock import wall_now
from voltlab.store.models import Base


class CsmsStationCredential(Base):
    __tablename__ = "csms_station_credentials"
    cpo_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    identity: Mapped[str] = mapped_column(String(128), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the password
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


def add_station_credential(
    session: Session, cpo_id: str, identity: str, password_hash: str
) -> None:
    """Insert or replace the credential of one station (in the caller's transaction)."""
    row = session.get(CsmsStationCredential, (cpo_id, identity))
    if row is None:
        session.add(
            CsmsStationCredential(cpo_id=cpo_id, identity=identity, password_hash=password_hash)
        )
    else:
        row.password_hash = password_hash


def station_password_hash(session: Session, cpo_id: str, identity: str) -> str | None:
    """The stored hash for a station, None when the station has no credential."""
    return session.scalar(
        select(CsmsStationCredential.password_hash).where(
            CsmsStationCredential.cpo_id == cpo_id, CsmsStationCredential.identity == identity
        )
    )


def identities_with_credentials(session: Session, cpo_id: str) -> set[str]:
    return set(
        session.scalars(
            select(CsmsStationCredential.identity).where(CsmsStationCredential.cpo_id == cpo_id)
        )
    )


def delete_station_credentials(session: Session, cpo_id: str) -> None:
    session.execute(delete(CsmsStationCredential).where(CsmsStationCredential.cpo_id == cpo_id))
