"""The tasks a station starts and does not await (a boot, a transfer, what follows a
registration, the outbox's sender): kept referenced, cancelled with the station, failures
other than a flow's refusal or a lost call logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from voltlab.fleet.driver.call_errors import TRANSPORT_ERRORS
from voltlab.fleet.model.records import StationError

log = logging.getLogger(__name__)


class StationTasks:
    __slots__ = ("_identity", "_running")

    def __init__(self, identity: str) -> None:
        self._identity = identity
        self._running: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._running)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    def defer(self, factory: Callable[[], Coroutine[Any, Any, Any]]) -> Callable[[], None]:
        """A post-reply action that runs as the station's own task, so closing the connection
        (as Reset does) cannot cancel it halfway."""

        def start() -> None:
            self.spawn(factory())

        return start

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, (StationError, *TRANSPORT_ERRORS)):
                log.error("%s: background task failed", self._identity, exc_info=exc)
