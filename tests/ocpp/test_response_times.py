"""Answer-time statistics (ocpp/response_times.py): the O(1) p95-above-threshold test agrees
with sorting the window, and the warning fires once per crossing."""

from __future__ import annotations

import random

from voltlab.ocpp.response_times import MIN_SAMPLES, WINDOW, ResponseTimes


def test_the_crossing_is_reported_once_and_again_after_recovery() -> None:
    times = ResponseTimes(threshold=0.5)
    fired = [times.add("Heartbeat", 0.01) for _ in range(MIN_SAMPLES)]
    assert not any(fired)
    # One slow answer in 11 is 9 %: p95 (rank 11 of 11) is that answer.
    assert times.add("Heartbeat", 0.9) is True
    assert times.add("Heartbeat", 0.9) is False  # still above: no second warning
    for _ in range(WINDOW):
        times.add("Heartbeat", 0.01)  # the slow ones leave the window
    assert times.p95("Heartbeat") == 0.01
    assert times.add("Heartbeat", 0.9) is False  # 1 in 100 is not above 5 %
    for _ in range(10):
        times.add("Heartbeat", 0.9)
    summary = times.summary()["Heartbeat"]
    assert summary.max == 0.9 and summary.p50 == 0.01 and summary.p95 > 0.5


def test_the_counter_agrees_with_a_sorted_window() -> None:
    rng = random.Random(7)
    times = ResponseTimes(threshold=0.2)
    for _ in range(3 * WINDOW):
        times.add("MeterValues", rng.expovariate(10.0))
        window = times._windows["MeterValues"]
        above = sum(1 for ms in window.samples if ms > times.threshold * 1000)
        assert above == window.above
        if len(window.samples) >= MIN_SAMPLES:
            # warned is "p95 is above now": set on the crossing, cleared when back below.
            assert window.warned == (times.p95("MeterValues") > times.threshold)
