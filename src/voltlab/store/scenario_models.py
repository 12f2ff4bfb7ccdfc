"""Scenario runs (issue 12): one row per run, its steps' outcomes and verdict as JSON, so a run
is readable from any process and after a restart (a run that was going on when its process
ended is marked `error` when the next process starts: `repo_scenarios.abandon_unfinished`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voltlab.clock import wall_now
from voltlab.store.models import Base


class ScenarioRun(Base):
    __tablename__ = "scenario_runs"
    __table_args__ = (Index("ix_scenario_runs_org_created", "org_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(40))
    scenario_name: Mapped[str] = mapped_column(String(100))
    # The scenario as run (a library scenario is copied, so a later library change does not
    # rewrite what an old run did).
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)
    target: Mapped[dict[str, Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|finished
    verdict: Mapped[str | None] = mapped_column(String(20), nullable=True)  # passed|failed|error
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    findings_available: Mapped[bool | None] = mapped_column(default=None, nullable=True)
    chargers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=wall_now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
