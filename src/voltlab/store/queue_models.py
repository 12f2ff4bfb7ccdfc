"""The stations' offline queue: transaction-related OCPP messages waiting to be delivered to the
CSMS, kept in order per charger so they survive a reconnect and a process restart.

`charger_id` is a plain column, not a foreign key to `chargers`: the queue is usable (and
testable) without the gateway rows, and a worker must be able to keep a station's messages even
while its charger row is being rewritten. The table is created by the migrations
(`voltlab.store.schema` lists this module).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltlab.clock import wall_now
from voltlab.store.models import Base


class QueuedMessageRecord(Base):
    """One queued CALL. A row exists from the moment the station "sent" the message until the
    CSMS answered it with a CALLRESULT (ack) or rejected it too often (drop)."""

    __tablename__ = "queued_messages"
    __table_args__ = (
        # Serves both "this charger's queue in order" and the uniqueness of seq per charger;
        # charger_id leads, so it is also the charger_id index.
        Index("ix_queued_messages_charger_seq", "charger_id", "seq", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    charger_id: Mapped[str] = mapped_column(String(40))
    # Position in the charger's queue: strictly increasing in enqueue order.
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    # CALLERROR answers (or invalid exchanges) so far; transport failures do not count.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
