"""How fast a CSMS answers: per action, the last `WINDOW` answer times of one station, their
p50 / p95 / max on demand, and whether p95 is above a threshold, kept up to date in O(1) per
answer (a count of the window's samples above the threshold, so no sort on the hot path).

p95 is the nearest-rank percentile: the value at rank ceil(0.95 n) of the n samples sorted.
It is above the threshold exactly when more than n - ceil(0.95 n) samples are above it.

Memory matters (every station of a fleet keeps one per action it calls): a window is an
array of unsigned 16-bit milliseconds (200 bytes for 100 samples), not a list of floats."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

WINDOW = 100  # samples kept per action
MAX_MS = 65_535  # a sample is kept in milliseconds, at most this
MIN_SAMPLES = 10  # fewer say nothing about a p95


def _allowed_above(n: int) -> int:
    """How many of n samples may exceed the threshold with p95 still at or below it."""
    return n - math.ceil(0.95 * n)


@dataclass(slots=True)
class _Window:
    samples: array[int] = field(default_factory=lambda: array("H"))  # milliseconds
    next: int = 0  # where the next sample goes once the window is full
    above: int = 0  # samples above the threshold
    count: int = 0  # every sample ever
    max: float = 0.0
    warned: bool = False  # p95 went above the threshold and has not come back below since


@dataclass(frozen=True, slots=True)
class ActionTimes:
    count: int
    p50: float
    p95: float
    max: float


class ResponseTimes:
    """One station's answer times. `add` returns True when p95 of that action just went
    above `threshold` (seconds): once, until it is back at or below."""

    __slots__ = ("threshold", "_windows")

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold  # seconds
        self._windows: dict[str, _Window] = {}

    def add(self, action: str, seconds: float) -> bool:
        window = self._windows.get(action)
        if window is None:
            window = self._windows[action] = _Window()
        samples = window.samples
        threshold = self.threshold * 1000
        ms = min(round(seconds * 1000), MAX_MS)
        if len(samples) < WINDOW:
            samples.append(ms)
        else:
            if samples[window.next] > threshold:
                window.above -= 1
            samples[window.next] = ms
            window.next = (window.next + 1) % WINDOW
        if ms > threshold:
            window.above += 1
        window.count += 1
        if seconds > window.max:
            window.max = seconds
        n = len(samples)
        if n < MIN_SAMPLES:
            return False
        over = window.above > _allowed_above(n)
        if over and not window.warned:
            window.warned = True
            return True
        if not over:
            window.warned = False
        return False

    def p95(self, action: str) -> float:
        window = self._windows.get(action)
        return 0.0 if window is None else _percentile(sorted(window.samples), 0.95) / 1000

    def answers(self) -> int:
        """Every answer counted so far, all actions together (a summary changes with it)."""
        return sum(window.count for window in self._windows.values())

    def summary(self) -> dict[str, ActionTimes]:
        """Per action: answers counted, p50, p95 (of the window) and the max ever."""
        out = {}
        for action, window in self._windows.items():
            ordered = sorted(window.samples)
            p50, p95 = _percentile(ordered, 0.5) / 1000, _percentile(ordered, 0.95) / 1000
            out[action] = ActionTimes(window.count, p50, p95, window.max)
        return out


def _percentile(ordered: list[int], fraction: float) -> int:
    if not ordered:
        return 0
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
