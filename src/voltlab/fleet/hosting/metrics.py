"""The fleet runtime's counters and histograms for `GET /metrics`: its stations' (frames, the
CSMS's answer times: `StationMetrics`), the commands' outcomes and the batched writes to the
store. One set per `FleetRuntime`, in no registry: the app's collector (api/metrics.py)
collects them. What the fleet holds right now (stations by state, connectors by status) is
not counted here: the collector reads it from the stations when it is scraped."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

from voltlab.fleet.driver.station_metrics import StationMetrics

# Seconds: a batch on SQLite takes milliseconds; PostgreSQL over a network more.
FLUSH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class FleetMetrics:
    def __init__(self) -> None:
        self.stations = StationMetrics()
        self.commands = Counter(
            "voltlab_commands",
            "Gateway commands this process ran to an outcome, by command (event type) and "
            "outcome (succeeded, failed, timed_out)",
            ["command", "outcome"],
            registry=None,
        )
        self.flush = Histogram(
            "voltlab_db_flush_seconds",
            "How long one batched write of the fleet took (frame log, station snapshots, "
            "findings and the clock reading in one transaction), from the batch handed to "
            "the writer thread to its commit",
            buckets=FLUSH_BUCKETS,
            registry=None,
        )
        self.flush_failures = Counter(
            "voltlab_db_flush_failures",
            "Batched writes of the fleet that failed (retried with the next batch)",
            registry=None,
        )
        self.frames_written = Counter(
            "voltlab_db_frames_written",
            "OCPP frames the fleet's batched writes stored in the frame log",
            registry=None,
        )

    def command_finished(self, command: str, outcome: str) -> None:
        self.commands.labels(command, outcome).inc()

    def collect(self) -> Iterable[Metric]:
        yield from self.stations.collect()
        metrics: tuple[MetricWrapperBase, ...] = (
            self.commands,
            self.flush,
            self.flush_failures,
            self.frames_written,
        )
        for metric in metrics:
            yield from metric.collect()
