"""`GET /metrics` in Prometheus' text format: one registry per app (`AppMetrics`), so several
apps in one process (the tests) never share or collide.

Two kinds of figures:
- what is held right now is read when scraped, from where it already is, never counted a
  second time: the hosted stations by connection and registration and their connectors by
  status (the fleet's `status_view`, on the event loop), and from the store the CPOs by
  status, the offline queues' backlog, the OCPI outbox's pending pushes and the open commands
  (one short read in a worker thread);
- what happens is counted where it happens, by the objects that do it: the fleet's
  (`FleetMetrics`: frames, the CSMS's answer times, commands, batched writes) and the OCPI
  layer's (`OcpiMetrics`: requests, pushes). The registry collects them from the app's fleet
  and OCPI service, which own them.

The store's figures are the installation's (every process of a cluster reports the same);
the others are this process's (sum them over the processes)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import anyio.to_thread
from fastapi import FastAPI
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from voltlab import __version__
from voltlab.api.shared_reads import SharedReads
from voltlab.clock import monotonic
from voltlab.fleet.hosting.metrics import FleetMetrics
from voltlab.ocpi.metrics import OcpiMetrics
from voltlab.store.db import Database
from voltlab.store.models import Command, Cpo
from voltlab.store.outbox_models import PENDING, OcpiOutbox
from voltlab.store.queue_models import QueuedMessageRecord

log = logging.getLogger(__name__)

# The process's CPU, memory, file descriptors, the Python runtime and its garbage collector:
# prometheus-client's collectors, registered in every app's registry (they hold no state).
PROCESS_COLLECTORS: tuple[Collector, ...] = (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR)
OPEN_COMMAND_STATUSES = ("queued", "running")
# Stations read between two yields to the event loop: a scrape of 10 000 stations (~7 us each
# on a loaded 2-core machine) must not hold their loop for 70 ms at once.
STATIONS_PER_STEP = 500


@dataclass
class FleetCounts:
    stations: Counter[tuple[str, str]] = field(default_factory=Counter)  # connection, registration
    connectors: Counter[str] = field(default_factory=Counter)  # status


@dataclass
class StoreCounts:
    cpos: dict[str, int]
    commands_open: dict[str, int]
    queued_messages: int
    queued_chargers: int
    outbox_pending: int


async def fleet_counts(fleet: object) -> FleetCounts:
    """The hosted stations by connection and registration, their connectors by status: on
    the event loop, where the stations change, `STATIONS_PER_STEP` at a time."""
    counts = FleetCounts()
    hosted = getattr(fleet, "hosted", None)
    status_view = getattr(fleet, "status_view", None)
    if hosted is None or status_view is None:  # no fleet yet, or one that hosts nothing
        return counts
    for index, charger_id in enumerate(hosted()):  # a list: it may change while we yield
        if index and index % STATIONS_PER_STEP == 0:
            await asyncio.sleep(0)
        view = status_view(charger_id)  # None: removed meanwhile
        if view is None:
            continue
        counts.stations[(view.connection, view.registration or "none")] += 1
        for status in view.statuses:
            counts.connectors[status or "unknown"] += 1
    return counts


def store_counts(session: Session) -> StoreCounts:
    """Small grouped counts; each is served by an index or a small table."""
    cpos = dict(session.execute(select(Cpo.status, func.count()).group_by(Cpo.status)).all())
    commands = dict(
        session.execute(
            select(Command.status, func.count())
            .where(Command.status.in_(OPEN_COMMAND_STATUSES))
            .group_by(Command.status)
        ).all()
    )
    messages, chargers = session.execute(
        select(func.count(), func.count(distinct(QueuedMessageRecord.charger_id)))
    ).one()
    pending = session.scalar(
        select(func.count()).select_from(OcpiOutbox).where(OcpiOutbox.state == PENDING)
    )
    return StoreCounts(
        cpos={str(k): int(v) for k, v in cpos.items()},
        commands_open={status: int(commands.get(status, 0)) for status in OPEN_COMMAND_STATUSES},
        queued_messages=int(messages or 0),
        queued_chargers=int(chargers or 0),
        outbox_pending=int(pending or 0),
    )


class AppMetrics:
    """The app's registry and the collector of its figures. `scrape()` reads the figures held
    right now, then renders everything; scrapes take turns (the main port's and the metrics
    listener's may come at once)."""

    def __init__(self, app: FastAPI, database: Database) -> None:
        self._app = app
        self._database = database
        self._lock = asyncio.Lock()
        self._fleet = FleetCounts()
        self._store: StoreCounts | None = None
        # How long the previous scrape's parts took (seconds): fleet, store, render.
        self._took: dict[str, float] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        for collector in PROCESS_COLLECTORS:
            self.registry.register(collector)
        self.registry.register(_Figures(self))

    async def scrape(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition and its content type: Prometheus' text format 0.0.4, or what the
        `Accept` header asks for (OpenMetrics, text format 1.0.0), as prometheus-client
        negotiates it."""
        encode, content_type = choose_encoder(accept or "")
        async with self._lock:
            started = monotonic()
            self._fleet = await fleet_counts(self._app.state.fleet)
            fleet_read = monotonic()
            try:
                self._store = await anyio.to_thread.run_sync(self._read_store)
            except Exception:  # the database is down: the rest is still worth a scrape
                log.warning("GET /metrics: the store's counts could not be read", exc_info=True)
                self._store = None
            store_read = monotonic()
            body = encode(self.registry)
            self._took = {
                "fleet": fleet_read - started,
                "store": store_read - fleet_read,
                "render": monotonic() - store_read,
            }
            return body, content_type

    def _read_store(self) -> StoreCounts:
        with self._database.session() as session:
            return store_counts(session)

    def families(self) -> Iterable[Metric]:
        info = InfoMetricFamily("voltlab", "This voltlab process")
        info.add_metric(
            [], {"version": __version__, "database": self._database.engine.dialect.name}
        )
        yield info
        took = GaugeMetricFamily(
            "voltlab_metrics_scrape_seconds",
            "How long the previous scrape took, by part: reading the hosted stations (fleet, on "
            "the event loop, yielding to it every 500 stations), the store's counts (store, a "
            "worker thread) and rendering (render)",
            labels=["part"],
        )
        for part, seconds in self._took.items():
            took.add_metric([part], seconds)
        yield took
        yield from _fleet_families(self._fleet)
        if self._store is not None:
            yield from _store_families(self._store)
        fleet_metrics = getattr(self._app.state.fleet, "metrics", None)
        if isinstance(fleet_metrics, FleetMetrics):
            yield from fleet_metrics.collect()
        ocpi_metrics = getattr(self._app.state, "ocpi_metrics", None)
        if isinstance(ocpi_metrics, OcpiMetrics):
            yield from ocpi_metrics.collect()
        shared = getattr(self._app.state, "shared_reads", None)
        if isinstance(shared, SharedReads):
            reads = CounterMetricFamily(
                "voltlab_api_shared_reads",
                "Gateway reads answered by shared computations (docs/observability.md): reads "
                "answered, and computations run for them",
                labels=["kind"],
            )
            reads.add_metric(["reads"], shared.reads)
            reads.add_metric(["computations"], shared.computations)
            yield reads


class _Figures(Collector):
    def __init__(self, metrics: AppMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.families()


def _fleet_families(counts: FleetCounts) -> Iterable[Metric]:
    stations = GaugeMetricFamily(
        "voltlab_stations",
        "Stations this process hosts, by connection (connecting, connected, disconnected, "
        "stopped) and registration (Accepted, Pending, Rejected; none before an answer)",
        labels=["connection", "registration"],
    )
    for (connection, registration), count in sorted(counts.stations.items()):
        stations.add_metric([connection, registration], count)
    yield stations
    connectors = GaugeMetricFamily(
        "voltlab_connectors",
        "Connectors of the stations this process hosts, by status as last reported (unknown "
        "before a report)",
        labels=["status"],
    )
    for status, count in sorted(counts.connectors.items()):
        connectors.add_metric([status], count)
    yield connectors


def _store_families(counts: StoreCounts) -> Iterable[Metric]:
    cpos = GaugeMetricFamily(
        "voltlab_cpos", "Virtual CPOs of the installation by status", labels=["status"]
    )
    for status, count in sorted(counts.cpos.items()):
        cpos.add_metric([status], count)
    yield cpos
    commands = GaugeMetricFamily(
        "voltlab_commands_open",
        "Gateway commands of the installation not ended yet, by status",
        labels=["status"],
    )
    for status, count in counts.commands_open.items():
        commands.add_metric([status], count)
    yield commands
    yield GaugeMetricFamily(
        "voltlab_offline_queue_messages",
        "Transaction messages the installation's stations queued while offline and the CSMS "
        "has not answered yet",
        value=counts.queued_messages,
    )
    yield GaugeMetricFamily(
        "voltlab_offline_queue_chargers",
        "Stations of the installation with queued offline messages",
        value=counts.queued_chargers,
    )
    yield GaugeMetricFamily(
        "voltlab_ocpi_outbox_pending",
        "Pushes to eMSPs waiting in the installation's outbox (not delivered, not given up)",
        value=counts.outbox_pending,
    )
