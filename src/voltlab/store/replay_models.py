"""Replay runs (issue 16, docs/replay.md): one row per run of a captured session against a
CSMS, its counts and divergences as JSON, so a run is readable from any process and after a
restart (a run that was going on when its process ended reads `error` after the next start)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltlab.clock import wall_now
from voltlab.store.models import Base


class ReplayRun(Base):
    __tablename__ = "replay_runs"
    __table_args__ = (Index("ix_replay_runs_org_created", "org_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # rpl-…
    org_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="running")  # |passed|diverged|error
    identity: Mapped[str] = mapped_column(String(100))
    csms_url: Mapped[str] = mapped_column(String(500))
    ocpp_version: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(40))
    speed: Mapped[float] = mapped_column(Float)
    # Timeouts and the security profile (never its secrets), as the run was asked for.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    capture_span_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The capture's lines the replay did not use (line, reason), and the ids it bound.
    unused: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    bindings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
