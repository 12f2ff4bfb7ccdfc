"""What the tests of the OCPPLAB SDK against `voltlab serve` share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

# The SDK's final command statuses (CommandResultResponseStatus).
FINAL = {"applied", "rejected", "expired", "failed"}


async def until(what: str, probe: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.05)
