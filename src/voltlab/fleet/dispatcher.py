"""The one path of a gateway command: a queued command record is picked up, run against the
station that hosts the charger, and its outcome recorded (succeeded, failed, timed_out)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from voltlab.fleet.commands import COMMANDS
from voltlab.fleet.runner import StationRunner
from voltlab.fleet.station import StationError
from voltlab.store.db import Database
from voltlab.store.models import Command

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 120.0  # real seconds a command may run before it is recorded timed_out


class CommandDispatcher:
    def __init__(
        self, database: Database, runner_for: Callable[[str], StationRunner | None]
    ) -> None:
        self.database = database
        self._runner_for = runner_for
        self._tasks: set[asyncio.Task[None]] = set()
        self.timeout = COMMAND_TIMEOUT

    def submit(self, command_id: str) -> None:
        task = asyncio.create_task(self._run(command_id), name=f"command:{command_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, command_id: str) -> None:
        claimed = await asyncio.to_thread(self._claim, command_id)
        if claimed is None:
            return
        charger_id, event_type, payload = claimed
        runner = self._runner_for(charger_id)
        execute = COMMANDS.get(event_type)
        status, result, error = "failed", None, None
        if execute is None:
            error = {"code": "unknown_command", "message": f"no command {event_type!r}"}
        elif runner is None:
            error = {
                "code": "charger_not_running",
                "message": "the charger is stopped; start it first",
            }
        else:
            try:
                result = await asyncio.wait_for(execute(runner, payload), timeout=self.timeout)
                status = "succeeded"
            except StationError as exc:
                error = {"code": exc.code, "message": exc.message}
            except TimeoutError:
                status = "timed_out"
                error = {"code": "timed_out", "message": f"no outcome within {self.timeout:g} s"}
            except Exception as exc:  # noqa: BLE001 - a command must never take the process down
                log.exception("command %s failed", command_id)
                error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}
        await asyncio.to_thread(self._record, command_id, status, result, error)

    def _claim(self, command_id: str) -> tuple[str, str, dict[str, Any]] | None:
        with self.database.session() as session:
            command = session.get(Command, command_id)
            if command is None or command.status != "queued":
                return None
            command.status = "running"
            command.updated_at = datetime.now(UTC)
            return command.charger_id, command.event_type, dict(command.payload or {})

    def _record(
        self,
        command_id: str,
        status: str,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
    ) -> None:
        with self.database.session() as session:
            command = session.get(Command, command_id)
            if command is None:
                return
            command.status = status
            command.result = result
            command.error = error
            command.updated_at = datetime.now(UTC)
