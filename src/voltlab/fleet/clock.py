"""The one clock of the fleet. Simulated time may run faster than the wall clock (time_scale),
so a 40-minute charging session can be tested in seconds with coherent timestamps, power and
energy; at scale 1 it is the wall clock."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = time_scale
        self._wall_origin = time.time()
        self._mono_origin = time.monotonic()

    @classmethod
    def from_env(cls) -> Clock:
        return cls(float(os.environ.get("VOLTLAB_TIME_SCALE", "1") or 1))

    def now(self) -> float:
        """Simulated POSIX time in seconds."""
        return self._wall_origin + (time.monotonic() - self._mono_origin) * self.time_scale

    def real_seconds(self, simulated: float) -> float:
        return max(0.0, simulated) / self.time_scale

    async def sleep(self, simulated_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(simulated_seconds))

    def call_later(self, simulated_seconds: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self.real_seconds(simulated_seconds), callback)
