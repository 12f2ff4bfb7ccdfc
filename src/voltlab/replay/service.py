"""Replay runs as the server keeps them: a `replay_runs` row per run (never a module-level dict),
the replay itself a background task of the process that accepted it, which writes each
divergence to the row as it happens and the outcome at the end. Any process reads a run from
the database; a run its process did not finish reads `error` after the next start."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.replay.dialogue import Divergence
from voltlab.replay.plan import ReplayPlan
from voltlab.replay.player import ReplayOutcome, play
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.replay_models import ReplayRun
from voltlab.tasks import BackgroundTasks

log = logging.getLogger(__name__)
T = TypeVar("T")

RUNNING = "running"
# The capture's unused lines kept on the row: enough to see what was left out and why.
MAX_UNUSED_SHOWN = 100


def _rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives the stored UTC instant back without its zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_json(row: ReplayRun) -> dict[str, Any]:
    return {
        "run_id": row.id,
        "status": row.status,
        "identity": row.identity,
        "csms_url": row.csms_url,
        "ocpp_version": row.ocpp_version,
        "format": row.format,
        "speed": row.speed,
        "settings": row.settings,
        "capture_span_seconds": row.capture_span_seconds,
        "counts": row.counts,
        "findings": row.findings,
        "unused_lines": row.unused,
        "bindings": row.bindings,
        "message": row.message,
        "duration_seconds": row.duration_seconds,
        "created_at": _rfc3339(row.created_at),
        "finished_at": _rfc3339(row.finished_at),
        "status_url": f"/ocpp/replays/{row.id}",
    }


class ReplayRuns:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._tasks = BackgroundTasks("replay runs")
        self._active: set[str] = set()  # this process's runs not finished

    async def _in_session(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self._database.session() as session:
                return work(session)

        return await anyio.to_thread.run_sync(run)

    def abandon_unfinished(self, run_ids: set[str] | None = None) -> int:
        """Close the runs a previous process left running (at start, before any new run), or
        this process's `run_ids` (at shutdown)."""
        query = update(ReplayRun).where(ReplayRun.status == RUNNING)
        if run_ids is not None:
            query = query.where(ReplayRun.id.in_(run_ids))
        with self._database.session() as session:
            result = session.execute(
                query.values(
                    status="error",
                    message="the server stopped during the replay",
                    finished_at=wall_now(),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def start(self, org_id: str, plan: ReplayPlan) -> dict[str, Any]:
        script, target, pacing = plan.script, plan.target, plan.pacing
        settings: dict[str, Any] = {
            "answer_timeout_seconds": pacing.answer_timeout,
            "csms_call_timeout_seconds": pacing.csms_call_timeout,
            "security_profile": int((target.security or {}).get("profile", 0)),
        }
        row = ReplayRun(
            id=repo.new_id("rpl-"),
            org_id=org_id,
            status=RUNNING,
            identity=target.identity,
            csms_url=target.csms_url,
            ocpp_version=script.ocpp_version,
            format=plan.format,
            speed=pacing.speed,
            settings=settings,
            capture_span_seconds=round(script.span, 3),
            counts={},
            findings=[],
            unused=[skipped.as_json() for skipped in script.unused[:MAX_UNUSED_SHOWN]],
            bindings={},
            created_at=wall_now(),
        )

        def insert(session: Session) -> dict[str, Any]:
            session.add(row)
            session.flush()
            return run_json(row)

        body = await self._in_session(insert)
        self._active.add(row.id)
        self._tasks.spawn(self._run(row.id, plan))
        return body

    async def _run(self, run_id: str, plan: ReplayPlan) -> None:
        findings: list[dict[str, Any]] = []

        async def progress(new: list[Divergence], counts: dict[str, int]) -> None:
            findings.extend(divergence.as_json() for divergence in new)
            await self._update(run_id, findings=list(findings), counts=counts)

        try:
            outcome = await play(plan.script, plan.target, plan.pacing, progress)
        except Exception as exc:  # noqa: BLE001 - a replay that breaks ends as `error`, with why
            log.exception("replay run %s failed", run_id)
            await self._update(
                run_id,
                status="error",
                message=f"{type(exc).__name__}: {exc}",
                finished_at=wall_now(),
            )
        else:
            await self._finish(run_id, outcome)
        self._active.discard(run_id)

    async def _finish(self, run_id: str, outcome: ReplayOutcome) -> None:
        await self._update(
            run_id,
            status=outcome.status,
            message=outcome.message,
            counts=outcome.counts,
            findings=[divergence.as_json() for divergence in outcome.divergences],
            bindings=outcome.bindings,
            duration_seconds=round(outcome.duration, 3),
            finished_at=wall_now(),
        )

    async def _update(self, run_id: str, **values: Any) -> None:
        def write(session: Session) -> None:
            session.execute(update(ReplayRun).where(ReplayRun.id == run_id).values(values))

        await self._in_session(write)

    async def get(self, org_id: str, run_id: str) -> dict[str, Any] | None:
        def read(session: Session) -> dict[str, Any] | None:
            row = session.get(ReplayRun, run_id)
            return None if row is None or row.org_id != org_id else run_json(row)

        return await self._in_session(read)

    async def recent(self, org_id: str, limit: int) -> list[dict[str, Any]]:
        def read(session: Session) -> list[dict[str, Any]]:
            query = (
                select(ReplayRun)
                .where(ReplayRun.org_id == org_id)
                .order_by(ReplayRun.created_at.desc(), ReplayRun.id.desc())
                .limit(limit)
            )
            return [run_json(row) for row in session.scalars(query)]

        return await self._in_session(read)

    async def shutdown(self) -> None:
        await self._tasks.drain(timeout=2.0)
        if self._active:
            active = set(self._active)
            await anyio.to_thread.run_sync(lambda: self.abandon_unfinished(active))
