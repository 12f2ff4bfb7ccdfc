"""The OCPI push outbox (issue 14): every push to an eMSP is a row, written in the same database
transaction as the change that causes it (the stored Session, CDR or Location, the command's
result), and delivered from the table by whichever process claims it.

A row is `pending` until it ends `succeeded`, `failed` (retries exhausted, or refused) or
`skipped` (no endpoint); rows of one object (`cpo_id`, `object_key`) are delivered in `id` order,
one at a time. `claimed_by` is the presence token of the process delivering it
(`voltlab.store.presence`): a claim of a process that died is free again at once, because its
presence lock went with its database connection. Created by the migrations
(`voltlab.store.schema` lists this module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltlab.clock import wall_now
from voltlab.store.models import Base

PENDING = "pending"
FINAL_STATES = ("succeeded", "failed", "skipped")


class OcpiOutbox(Base):
    __tablename__ = "ocpi_outbox"
    __table_args__ = (
        Index("ix_ocpi_outbox_due", "state", "next_attempt_at"),
        Index("ix_ocpi_outbox_object", "cpo_id", "object_key", "id"),
    )
    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    cpo_id: Mapped[str] = mapped_column(String(40))
    module: Mapped[str] = mapped_column(String(32))  # eMSP endpoint identifier
    object_key: Mapped[str] = mapped_column(String(600))  # ordering key within the CPO
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)  # appended to the module endpoint ("" for itself)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The full-object request sent instead of a PATCH the eMSP may lack the object for:
    # {"method", "path", "body"}.
    fallback: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    absolute_url: Mapped[str | None] = mapped_column(Text, nullable=True)  # command results
    correlation_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    use_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # all of the row's attempts
    phase_attempts: Mapped[int] = mapped_column(Integer, default=0)  # of the current request
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    claimed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    push_log_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # ocpi_pushes row
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
