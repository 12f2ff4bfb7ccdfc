"""The OCPI layer's counters for `GET /metrics`: requests by direction, module, method and HTTP
status, and the outcome of each push attempt. One set per `OcpiCore`, in no registry: the
app's collector (api/metrics.py) collects them."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter
from prometheus_client.metrics_core import Metric

# Outcomes of one push attempt (ocpi/push.py):
PUSH_OUTCOMES = (
    "succeeded",  # the eMSP took it
    "retry",  # it failed in a way worth retrying: the row waits for its next attempt
    "fallback",  # the eMSP refused a PATCH: the full object (PUT) goes next
    "failed",  # failed for good (attempts exhausted or not retryable)
    "unregistered",  # the CPO has no registered eMSP (nothing was sent)
    "skipped",  # the eMSP has no endpoint for the module (nothing was sent)
    "dropped",  # the server shut down during the attempt; the row stays for the next process
    "error",  # a fault of ours; retried later
)


class OcpiMetrics:
    def __init__(self) -> None:
        self.requests = Counter(
            "voltlab_ocpi_requests",
            "OCPI requests: from eMSPs to the virtual CPOs (in; every request, authenticated "
            "or not) and from the CPOs to eMSPs (out), by module, HTTP method and HTTP status "
            "(none: no answer came)",
            ["direction", "module", "method", "status"],
            registry=None,
        )
        self.pushes = Counter(
            "voltlab_ocpi_pushes",
            "Push attempts to eMSPs (Locations, Sessions, CDRs, command results) by module and "
            f"outcome ({', '.join(PUSH_OUTCOMES)})",
            ["module", "outcome"],
            registry=None,
        )

    def request(self, direction: str, module: str, method: str, status: int | None) -> None:
        self.requests.labels(
            direction, module, method or "unknown", "none" if status is None else str(status)
        ).inc()

    def push(self, module: str, outcome: str) -> None:
        self.pushes.labels(module, outcome).inc()

    def collect(self) -> Iterable[Metric]:
        yield from self.requests.collect()
        yield from self.pushes.collect()
