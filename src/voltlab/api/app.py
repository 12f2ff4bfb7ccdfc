"""The Gateway API application: lifespan (migrations, keys, fleet runtime), health and routers."""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from voltlab import __version__
from voltlab.api.auth import api_key_cache
from voltlab.api.body_limits import BodyLimitMiddleware
from voltlab.api.bootstrap import bootstrap_keys
from voltlab.api.charger_owners import ChargerOwners
from voltlab.api.cluster_view import cluster_view
from voltlab.api.errors import SafeJSONResponse, install_error_handlers
from voltlab.api.metrics import AppMetrics
from voltlab.api.metrics_listener import MetricsListener
from voltlab.api.responses.system import HealthView
from voltlab.api.routes import (
    catalog,
    chargers,
    cluster,
    commands,
    cpos,
    findings,
    fleet_views,
    live,
    locations,
    metrics,
    replays,
    scenarios,
)
from voltlab.api.shared_reads import SharedReads
from voltlab.api.virtual_cpos import VirtualCpos, build_virtual_cpos, csms_url_for
from voltlab.clock import Clock
from voltlab.cpo.durable import LOCAL_EXECUTOR
from voltlab.fleet.hosting.cluster import ClusterMember, ClusterSettings
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.scenarios.service import ScenarioRuns
from voltlab.store.db import Database, database_url_from_env
from voltlab.web.assets import mount_dashboard

__all__ = ["bootstrap_keys", "create_app"]

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


async def _call_if_present(fleet: object, name: str) -> None:
    method = getattr(fleet, name, None)
    if method is None:
        return
    outcome = method()
    if inspect.isawaitable(outcome):
        await outcome


def _build_runtime(database: Database, member: ClusterMember | None) -> Fleet:
    # Imported here: the runtime pulls in the whole fleet stack, which tests with a fake fleet
    # (and the CLI's key commands) never need.
    from voltlab.fleet.hosting.runtime import FleetRuntime

    runtime: Fleet = FleetRuntime(database, cluster=member)
    return runtime


def _fleet_clock(fleet: Fleet) -> Callable[[], float] | None:
    """The fleet's simulated clock (the runtime's `Clock`); a fake fleet has none."""
    clock = getattr(fleet, "clock", None)
    return clock.now if isinstance(clock, Clock) else None


def _time_scale(fleet: Fleet) -> float:
    """How fast the fleet's simulated time runs (scenario waits are in simulated seconds)."""
    clock = getattr(fleet, "clock", None)
    return clock.time_scale if isinstance(clock, Clock) else Clock.from_env().time_scale


def create_app(
    database: Database | None = None,
    fleet: Fleet | None = None,
    *,
    virtual_cpos: bool | None = None,
    port: int | None = None,
    role: str = "all",
    metrics_listen: tuple[str, int] | None = None,
) -> FastAPI:
    """`virtual_cpos` defaults to on with the real fleet and off with an injected one (the API
    tests' fake fleet has no stations to give a CPO). On PostgreSQL the real fleet joins the
    installation as a worker of `role` (api: hosts no chargers; fleet, all: hosts its share).
    `metrics_listen` (host, port): also serve `GET /metrics` there, without a key."""
    owns_database = database is None
    with_cpos = virtual_cpos if virtual_cpos is not None else fleet is None
    # A fleet worker hosts chargers and answers /health and /cluster; the API is the others'.
    with_cpos = with_cpos and role != "fleet"
    db = database if database is not None else Database(database_url_from_env())
    member = (
        ClusterMember(db, ClusterSettings.from_env(role))
        if fleet is None and not db.is_sqlite
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ready = False
        # First: a scraper sees the boot (the counts of a fleet that is still starting).
        listener = MetricsListener(app.state.metrics, *metrics_listen) if metrics_listen else None
        if listener is not None:
            await listener.start()
        try:
            async with _running(app):
                yield
        finally:
            if listener is not None:
                await listener.stop()

    @asynccontextmanager
    async def _running(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(db.migrate)
        env_key = os.environ.get("VOLTLAB_API_KEY")
        await anyio.to_thread.run_sync(lambda: bootstrap_keys(db, env_key, create_if_empty=False))
        runtime = fleet if fleet is not None else _build_runtime(db, member)
        app.state.fleet = runtime
        # The real runtime restores the chargers that were running before the restart.
        await _call_if_present(runtime, "start")
        if cpo_stack is not None:
            app.state.cpo_service = await cpo_stack.start(runtime, _fleet_clock(runtime))
        runs = ScenarioRuns(db, _time_scale(runtime))
        await anyio.to_thread.run_sync(runs.abandon_unfinished)
        app.state.scenario_runs = runs
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            # Open event streams end (a server other than `LiveServer` gets here only after
            # they did).
            db.live.close_all()
            # Runs first: they drive the fleet through this app.
            await runs.shutdown()
            # The fleet first: its last frames and snapshots are written while the thread
            # executor is alive (the durable engine's stop shuts down the one it installed).
            await _call_if_present(runtime, "shutdown")
            if cpo_stack is not None:
                await cpo_stack.stop()
            if owns_database:
                db.dispose()

    app = FastAPI(
        title="voltlab Gateway API",
        version=__version__,
        description="Virtual OCPP charging stations and virtual OCPI CPOs behind one REST API.",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
    )
    # Size, depth and text checks on every JSON body, OCPI's included, before any route runs.
    app.add_middleware(BodyLimitMiddleware)
    app.state.database = db
    app.state.api_keys = api_key_cache(db)
    app.state.charger_owners = ChargerOwners()
    app.state.shared_reads = SharedReads()
    app.state.fleet = fleet
    app.state.cluster = member
    app.state.ready = False
    app.state.cpo_service = None
    app.state.scenario_runs = None
    app.state.metrics = AppMetrics(app, db)
    app.state.ocpi_metrics = None
    app.state.public_url = os.environ.get("VOLTLAB_PUBLIC_URL") or DEFAULT_PUBLIC_URL

    @app.get(
        "/health",
        tags=["health"],
        summary="Liveness and readiness (no auth)",
        response_model=None,
        responses={
            200: {"model": HealthView, "description": "Ready: accepts work."},
            503: {"model": HealthView, "description": "Starting, or the database is down."},
        },
    )
    async def health(request: Request) -> JSONResponse:
        ready = bool(request.app.state.ready)
        body: dict[str, Any] = {
            "status": "ok" if ready else "starting",
            "version": __version__,
            "database": db.engine.dialect.name,
        }
        if ready:
            try:
                body |= await cluster_view(request.app, detailed=False)
            except Exception:  # noqa: BLE001 - the database is down: say so, not a 500
                body["status"] = "degraded"
                return JSONResponse(body, status_code=503)
        return JSONResponse(body, status_code=200 if ready else 503)

    install_error_handlers(app)
    routers = [live, catalog, fleet_views, locations, chargers, findings, commands, cpos]
    routers += [scenarios, replays, cluster]
    for module in routers if role != "fleet" else [cluster]:
        app.include_router(module.router)
    # Every role: a fleet worker is what a scraper wants most.
    app.include_router(metrics.router)
    # The browser UI at `/` (docs/dashboard.md): static files, a client of the routes above.
    mount_dashboard(app)
    cpo_stack: VirtualCpos | None = None
    if with_cpos:
        executor_id = member.worker_id if member is not None else LOCAL_EXECUTOR
        cpo_stack = build_virtual_cpos(
            app, db, app.state.public_url, csms_url_for(port), executor_id
        )
        app.state.ocpi_metrics = cpo_stack.ocpi.metrics
    return app
