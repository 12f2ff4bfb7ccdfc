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
from voltlab.log_context import station_context

log = logging.getLogger(__name__)


class StationTasks:
    """With `charger_id`, the tasks start in `log_context.station_context`: their log lines
    name the station (and not the command that started one)."""

    __slots__ = ("_identity", "_running", "_charger_id")

    def __init__(self, identity: str, charger_id: str | None = None) -> None:
        self._identity = identity
        self._running: set[asyncio.Task[Any]] = set()
        self._charger_id = charger_id

    def __len__(self) -> int:
        return len(self._running)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        charger_id = self._charger_id
        context = None if charger_id is None else station_context(charger_id, self._identity)
        task = asyncio.create_task(coro, context=context)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    def enter(self, start: Callable[[], None]) -> None:
        """Call `start` in the station's context: what it starts (the link's task) runs there."""
        if self._charger_id is None:
            start()
        else:
            station_context(self._charger_id, self._identity).run(start)

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
