"""The installation's processes and who hosts which charger (issue 14).

`workers`: one row per `voltlab serve` process pointed at the database, kept fresh by its
heartbeat; a row whose heartbeat is older than the lease time is a dead process. `charger_leases`:
one row per charger a fleet process hosts, with an expiry the owner's heartbeat pushes forward in
one statement for all of its chargers. Times in both tables come from the database's own clock
(`now()`), so processes on hosts whose clocks disagree still agree on who holds what.

Used on PostgreSQL (several processes); a SQLite installation is one process and never writes
them. Created by the migrations (`voltlab.store.schema` lists this module)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voltlab.store.models import Base


class Worker(Base):
    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # wrk-<hex>
    role: Mapped[str] = mapped_column(String(8))  # api | fleet | all
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Seconds a lease lasts without renewal; the others judge this worker dead after it.
    lease_seconds: Mapped[int] = mapped_column(Integer)


class ChargerLease(Base):
    """The charger is hosted by `worker_id` until `expires_at`. A row with an expiry in the past
    is free to take (its owner died or stopped renewing); a charger with no row is not hosted."""

    __tablename__ = "charger_leases"
    __table_args__ = (Index("ix_charger_leases_worker", "worker_id"),)
    # Deleting a charger ends its lease: the owner's next renewal no longer finds it and stops it.
    charger_id: Mapped[str] = mapped_column(
        ForeignKey("chargers.id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[str] = mapped_column(String(40))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
