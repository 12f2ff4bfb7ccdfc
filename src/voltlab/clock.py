"""The one clock of voltlab: the only module that reads the time. Every call site says which
time it means:

- `Clock`: simulated time, the time of stations, sessions and OCPI objects. It may run faster
  than the wall clock (VOLTLAB_TIME_SCALE), so a 40-minute charging session can be tested in
  seconds with coherent timestamps, power and energy; at scale 1 it is the wall clock. It never
  goes backwards across restarts: the fleet stores its readings (`ClockReading`) and the next
  process resumes from the last one (`resumed_origin`).
- `wall_now` / `wall_time`: real time, for bookkeeping columns (created_at, updated_at of rows)
  and certificate validity.
- `monotonic`: real elapsed time, for deadlines and timeouts.

Nothing else reads the time: ruff's banned-api rule (TID251 in pyproject.toml) refuses
`time.time`, `datetime.now` and the like everywhere in src but here."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


def wall_time() -> float:
    """Real POSIX time in seconds."""
    return time.time()


def wall_now() -> datetime:
    """Real time as an aware UTC datetime (row bookkeeping: created_at, updated_at...)."""
    return datetime.now(UTC)


def monotonic() -> float:
    """Real seconds on a clock that never jumps, for deadlines and timeouts."""
    return time.monotonic()


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


@dataclass(frozen=True)
class ClockReading:
    """Simulated and wall time read at the same instant, and the scale the clock ran at."""

    simulated: float
    wall: float
    time_scale: float


def resumed_origin(wall: float, time_scale: float, last: ClockReading | None) -> float:
    """Simulated time a process starting at `wall` begins at, given the last reading a previous
    process stored.

    At scale 1 simulated time is the wall clock, always (a stored reading from a faster run is
    ignored: the lab returns to real time). Otherwise the previous clock is continued: it kept
    running through the downtime at its scale (`last.time_scale`), so even a process killed
    between two stored readings never issued a time later than where the next one begins (the
    restart takes real time, which the continuation counts). Never earlier than the wall clock."""
    if time_scale == 1 or last is None:
        return wall
    continued = last.simulated + max(0.0, wall - last.wall) * last.time_scale
    return max(wall, continued)


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = time_scale
        self._origin = time.time()
        self._mono_origin = time.monotonic()

    @classmethod
    def from_env(cls) -> Clock:
        return cls(float(os.environ.get("VOLTLAB_TIME_SCALE", "1") or 1))

    def now(self) -> float:
        """Simulated POSIX time in seconds."""
        return self._origin + (time.monotonic() - self._mono_origin) * self.time_scale

    def reading(self) -> ClockReading:
        """What the fleet stores so that the next process continues from here."""
        mono = time.monotonic()
        return ClockReading(
            simulated=self._origin + (mono - self._mono_origin) * self.time_scale,
            wall=time.time(),
            time_scale=self.time_scale,
        )

    def resume(self, last: ClockReading | None) -> None:
        """Re-anchor after a restart (see `resumed_origin`); call before anything reads now()."""
        mono, wall = time.monotonic(), time.time()
        self._origin = resumed_origin(wall, self.time_scale, last)
        self._mono_origin = mono

    def real_seconds(self, simulated: float) -> float:
        return max(0.0, simulated) / self.time_scale

    async def sleep(self, simulated_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(simulated_seconds))

    def call_later(
        self, simulated_seconds: float, callback: Callable[..., None], *args: object
    ) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self.real_seconds(simulated_seconds), callback, *args)
