"""`BackgroundTasks`: work started and not awaited (an OCPI push and its retries, a command's
result sent to the eMSP later, an unplug after a stop), kept referenced so it is not collected,
its failures logged, and drained at shutdown within a bound: a peer that no longer answers
must not hold the process. Imports nothing of voltlab: every layer may use it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundTasks:
    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s: background task failed", self.name, exc_info=error)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> int:
        """Wait until every task ended, including those started meanwhile. With a `timeout`
        (seconds), cancel what is still running then; returns how many were cancelled."""
        try:
            async with asyncio.timeout(timeout):
                while self._tasks:
                    # wait(), not gather(): on timeout the tasks are left to cancel(), which
                    # counts and logs them.
                    await asyncio.wait(list(self._tasks))
        except TimeoutError:
            return await self.cancel()
        return 0

    async def cancel(self) -> int:
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            log.warning("%s: %d unfinished task(s) cancelled at shutdown", self.name, len(tasks))
        return len(tasks)
