"""Findings about the system under test (a CSMS seen by a virtual charger, an eMSP seen by a
virtual CPO): one row per violation of a rule (`voltlab.ocpp.findings`), written by the
fleet's write-behind writer with the frame log, read by the API.

`charger_id`, `location_id` and `cpo_id` are plain columns, not foreign keys: like the frame
log, a finding is written in a batch that must not fail because its charger was deleted
meanwhile (the API deletes a charger's findings with its frames). `charger_id` is null for a
finding about an eMSP (then `cpo_id` names the virtual CPO). `at` is simulated time (the one
clock), `created_at` wall time. `evidence` is a list of frames `{direction, action,
message_id, frame}` (OCPP) or HTTP exchanges `{method, url, status, body}` (OCPI).
The table is created by the migrations (`voltlab.store.schema` lists this module).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltlab.clock import wall_now
from voltlab.store.models import Base


class FindingRecord(Base):
    __tablename__ = "findings"
    __table_args__ = (
        # The charger's list and the location's, in (at, id) order, are index range scans.
        Index("ix_findings_charger_at", "charger_id", "at", "id"),
        Index("ix_findings_location_at", "location_id", "at", "id"),
        Index("ix_findings_cpo_at", "cpo_id", "at", "id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # fnd-…
    charger_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    location_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cpo_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))  # error | warning | info
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    spec_ref: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
