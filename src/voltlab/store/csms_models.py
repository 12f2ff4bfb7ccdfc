"""The built-in CSMS's rows: station credentials (one row per virtual-CPO charger, holding only
a hash of its OCPP security profile 1 (HTTP Basic) password), and its transactions, their
samples and id sequences (issue 14, read and written by `voltlab.store.csms_state`).

The plaintext lives on the station side only (the charger's ``security`` config, never shown
by the API). The table is created by the migrations (`voltlab.store.schema` lists this module).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, String, delete, select
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


class CsmsTransactionRow(Base):
    """A transaction of the built-in CSMS (issue 14): its record (`csms.tx_records`, JSON) and
    how many samples it has in `csms_transaction_samples`. A station's CSMS connection can be
    served by any process; the one it lands on loads the station's rows when it connects."""

    __tablename__ = "csms_transactions"
    __table_args__ = (Index("ix_csms_transactions_station", "cpo_id", "identity", "is_open"),)
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cpo_id: Mapped[str] = mapped_column(String(40))
    identity: Mapped[str] = mapped_column(String(128))
    is_open: Mapped[bool] = mapped_column(Boolean)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)


class CsmsTransactionSample(Base):
    """The samples of a transaction, appended as they arrive (a frame writes only its own)."""

    __tablename__ = "csms_transaction_samples"
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample: Mapped[dict[str, Any]] = mapped_column(JSON)


class CsmsIdBlock(Base):
    """The next free id of a CSMS id sequence (transaction ids, remote start ids), shared by
    every process: each takes a block of ids at a time."""

    __tablename__ = "csms_id_blocks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_id: Mapped[int] = mapped_column(BigInteger)
