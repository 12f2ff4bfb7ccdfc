"""The CSMS's answer times as a station's live state shows them (`StationFindings`): kept
between answers, since a page of chargers reads every station's, and never stale."""

from __future__ import annotations

from voltlab.fleet.driver.findings import StationFindings
from voltlab.ocpp.findings import Observation


def test_the_answer_times_shown_include_every_answer_so_far() -> None:
    recorded: list[Observation] = []
    findings = StationFindings(recorded.append, lambda: None, slow_answer_s=2.0)
    for _ in range(10):
        findings.answered("Heartbeat", 0.01)
    first = findings.response_times()
    assert first == {"Heartbeat": {"count": 10, "p50_ms": 10.0, "p95_ms": 10.0, "max_ms": 10.0}}
    first.pop("Heartbeat")  # a caller's copy is its own
    assert findings.response_times()["Heartbeat"]["count"] == 10
    findings.answered("Heartbeat", 0.3)
    findings.answered("MeterValues", 0.02)
    shown = findings.response_times()
    assert shown["Heartbeat"] == {"count": 11, "p50_ms": 10.0, "p95_ms": 300.0, "max_ms": 300.0}
    assert shown["MeterValues"]["count"] == 1
    assert recorded == []  # 300 ms is under the 2 s threshold
