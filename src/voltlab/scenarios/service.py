"""Scenario runs as the server keeps them: a `scenario_runs` row per run (never a module-level
dict), the run itself a background task that drives the Gateway API through the client it is
given and writes each step's outcome to the row as it ends. Any process reads a run from the
database; a run its process did not finish is closed with verdict `error` at the next start."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

import anyio.to_thread
import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.live import LiveEvent, stamp
from voltlab.scenarios.context import Target
from voltlab.scenarios.format import Scenario, load
from voltlab.scenarios.gateway import Gateway
from voltlab.scenarios.library import library
from voltlab.scenarios.runner import ScenarioRunner, StepOutcome
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.scenario_models import ScenarioRun
from voltlab.tasks import BackgroundTasks

log = logging.getLogger(__name__)
T = TypeVar("T")

UNFINISHED = ("queued", "running")


def _rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives the stored UTC instant back without its zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_json(row: ScenarioRun) -> dict[str, Any]:
    base = f"/scenarios/runs/{row.id}"
    return {
        "run_id": row.id,
        "scenario_name": row.scenario_name,
        "status": row.status,
        "verdict": row.verdict,
        "target": row.target,
        "params": row.params,
        "steps": row.steps,
        "findings": row.findings,
        "findings_available": row.findings_available,
        "chargers": row.chargers,
        "message": row.message,
        "created_at": _rfc3339(row.created_at),
        "started_at": _rfc3339(row.started_at),
        "finished_at": _rfc3339(row.finished_at),
        "status_url": base,
        "junit_url": f"{base}/junit",
        "report_url": f"{base}/report",
    }


class ScenarioRuns:
    def __init__(self, database: Database, time_scale: float, min_wait: float = 5.0) -> None:
        self._database = database
        self.time_scale = time_scale
        self.min_wait = min_wait
        self._tasks = BackgroundTasks("scenario runs")

    async def _in_session(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self._database.session() as session:
                return work(session)

        return await anyio.to_thread.run_sync(run)

    def abandon_unfinished(self) -> int:
        """Close the runs a previous process left open (at start, before any new run)."""
        with self._database.session() as session:
            result = session.execute(
                update(ScenarioRun)
                .where(ScenarioRun.status.in_(UNFINISHED))
                .values(
                    status="finished",
                    verdict="error",
                    message="the server stopped during the run",
                    finished_at=wall_now(),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def start(
        self,
        org_id: str,
        scenario: Scenario,
        target: Target,
        client: httpx.AsyncClient,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`params`: the run's parameters, checked (Scenario.parameters)."""
        chosen = dict(params) if params is not None else dict(scenario.params)
        run_id = repo.new_id("run-")
        row = ScenarioRun(
            id=run_id,
            org_id=org_id,
            scenario_name=scenario.name,
            scenario=scenario.source,
            target=asdict(target),
            params=chosen,
            status="queued",
            steps=[
                asdict(StepOutcome(s.index, s.name, s.do))
                for s in scenario.steps_for(target.ocpp_version)
            ],
            findings=[],
            chargers=[],
            created_at=wall_now(),
        )

        def insert(session: Session) -> dict[str, Any]:
            session.add(row)
            session.flush()
            return run_json(row)

        body = await self._in_session(insert)
        self._announce(org_id, body)
        self._tasks.spawn(self._run(run_id, scenario, target, client, chosen))
        return body

    async def _update(self, run_id: str, **values: Any) -> None:
        def write(session: Session) -> tuple[str, dict[str, Any]] | None:
            session.execute(update(ScenarioRun).where(ScenarioRun.id == run_id).values(values))
            if not self._database.live.wants("scenarios"):
                return None
            row = session.get(ScenarioRun, run_id, populate_existing=True)
            return None if row is None else (row.org_id, run_json(row))

        changed = await self._in_session(write)
        if changed is not None:
            self._announce(*changed)

    def _announce(self, org_id: str, body: dict[str, Any]) -> None:
        """The run as GET /scenarios/runs/{id} shows it, to the org's `scenarios` listeners."""
        live = self._database.live
        if live.wants_org(org_id, "scenarios"):
            event = LiveEvent(org_id, "scenarios", "scenario-run", body | {"at": stamp()})
            live.publish(event)

    async def _run(
        self,
        run_id: str,
        scenario: Scenario,
        target: Target,
        client: httpx.AsyncClient,
        params: Mapping[str, Any],
    ) -> None:
        async def progress(
            steps: list[StepOutcome],
            chargers: list[dict[str, str]],
            created_cpo: dict[str, Any] | None,
        ) -> None:
            values: dict[str, Any] = {"steps": [asdict(s) for s in steps], "chargers": chargers}
            if created_cpo is not None:  # the eMSP under test needs its Token A now
                values["target"] = _with_cpo(target, created_cpo)
            await self._update(run_id, **values)

        runner = ScenarioRunner(
            Gateway(client),
            scenario,
            target,
            run_id=run_id,
            time_scale=self.time_scale,
            min_wait=self.min_wait,
            params=params,
            on_progress=progress,
        )
        try:
            await self._update(run_id, status="running", started_at=wall_now())
            result = await runner.run()
            await self._update(
                run_id,
                status="finished",
                verdict=result.verdict,
                steps=result.steps_json(),
                findings=result.findings,
                findings_available=result.findings_available,
                chargers=result.chargers,
                finished_at=wall_now(),
            )
        except Exception as exc:  # noqa: BLE001 - a run that breaks ends as `error`, with why
            log.exception("scenario run %s failed", run_id)
            await self._update(
                run_id,
                status="finished",
                verdict="error",
                message=f"{type(exc).__name__}: {exc}",
                steps=[asdict(step) for step in runner.steps],
                finished_at=wall_now(),
            )
        finally:
            await client.aclose()

    async def get(self, org_id: str, run_id: str) -> dict[str, Any] | None:
        def read(session: Session) -> dict[str, Any] | None:
            row = session.get(ScenarioRun, run_id)
            return None if row is None or row.org_id != org_id else run_json(row)

        return await self._in_session(read)

    async def recent(self, org_id: str, limit: int) -> list[dict[str, Any]]:
        def read(session: Session) -> list[dict[str, Any]]:
            query = (
                select(ScenarioRun)
                .where(ScenarioRun.org_id == org_id)
                .order_by(ScenarioRun.created_at.desc(), ScenarioRun.id.desc())
                .limit(limit)
            )
            return [run_json(row) for row in session.scalars(query)]

        return await self._in_session(read)

    async def shutdown(self) -> None:
        cancelled = await self._tasks.drain(timeout=2.0)
        if cancelled:
            await anyio.to_thread.run_sync(self.abandon_unfinished)


def _with_cpo(target: Target, created_cpo: dict[str, Any]) -> dict[str, Any]:
    """The run's target once `create_cpo` made its CPO: `created_cpo` holds what the eMSP
    under test registers with (as `POST /ocpi/cpos` shows it: id, Token A, versions URL)."""
    return {**asdict(target), "created_cpo": dict(created_cpo)}


def scenario_from(source: Any) -> Scenario:
    """A library name or an inline scenario object (ScenarioInvalid names the field)."""
    if isinstance(source, str):
        found = library().get(source)
        if found is None:
            raise KeyError(source)
        return found
    return load(source)
