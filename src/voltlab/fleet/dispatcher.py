"""The one path of a gateway command: a queued command record is picked up, run against the
station that hosts the charger, and its outcome recorded (succeeded, failed, timed_out).

Commands submitted together are claimed together and their outcomes written together (one
transaction per batch, not two per command), so a start-session on a 1 000-charger location
reaches the wire at once. Commands to one charger run one after another, in the order they
were accepted: a plug-connector followed by a start-session charges the EV that was plugged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from voltlab.fleet.commands import COMMANDS
from voltlab.fleet.runner import StationRunner
from voltlab.fleet.station import StationError
from voltlab.store.db import Database
from voltlab.store.models import Command

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 120.0  # real seconds a command may run before it is recorded timed_out

Claimed = tuple[str, str, str, dict[str, Any]]  # command id, charger id, event type, payload
Outcome = tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]


class CommandDispatcher:
    def __init__(
        self, database: Database, runner_for: Callable[[str], StationRunner | None]
    ) -> None:
        self.database = database
        self._runner_for = runner_for
        self.timeout = COMMAND_TIMEOUT
        self._to_claim: list[str] = []
        self._outcomes: list[Outcome] = []
        self._claimer: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_of_charger: dict[str, asyncio.Task[None]] = {}

    def submit(self, command_id: str) -> None:
        self._to_claim.append(command_id)
        if self._claimer is None or self._claimer.done():
            self._claimer = asyncio.create_task(self._claim_pending(), name="command-claimer")

    async def drain(self) -> None:
        """Wait until every submitted command ran and its outcome is stored."""
        while True:
            pending = [t for t in (self._claimer, *self._tasks, self._recorder) if t is not None]
            pending = [t for t in pending if not t.done()]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    # -- claiming -------------------------------------------------------------------------------

    async def _claim_pending(self) -> None:
        while self._to_claim:
            batch, self._to_claim = self._to_claim, []
            try:
                claimed = await asyncio.to_thread(self._claim, batch)
            except Exception:  # the rows stay queued; nothing ran
                log.exception("claiming %d commands failed", len(batch))
                continue
            for command in claimed:
                self._start(command)

    def _claim(self, command_ids: list[str]) -> list[Claimed]:
        """Mark the still-queued ones running; returns them in submission order."""
        now = datetime.now(UTC)
        claimed: dict[str, Claimed] = {}
        with self.database.session() as session:
            for start in range(0, len(command_ids), 500):
                chunk = command_ids[start : start + 500]
                rows = session.scalars(
                    select(Command).where(Command.id.in_(chunk), Command.status == "queued")
                )
                for command in rows:
                    command.status = "running"
                    command.updated_at = now
                    claimed[command.id] = (
                        command.id,
                        command.charger_id,
                        command.event_type,
                        dict(command.payload or {}),
                    )
        return [claimed[cid] for cid in command_ids if cid in claimed]

    def _start(self, command: Claimed) -> None:
        command_id, charger_id = command[0], command[1]
        before = self._last_of_charger.get(charger_id)
        task = asyncio.create_task(self._run(command, before), name=f"command:{command_id}")
        self._last_of_charger[charger_id] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._last_of_charger.get(charger_id) is finished:
                del self._last_of_charger[charger_id]

        task.add_done_callback(done)

    # -- running --------------------------------------------------------------------------------

    async def _run(self, command: Claimed, before: asyncio.Task[None] | None) -> None:
        command_id, charger_id, event_type, payload = command
        if before is not None:
            await asyncio.wait([before])  # the charger's earlier command first, whatever it did
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
        self._outcomes.append((command_id, status, result, error))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_pending(), name="command-recorder")

    # -- recording ------------------------------------------------------------------------------

    async def _record_pending(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                await asyncio.to_thread(self._record, batch)
            except Exception:
                log.exception("recording %d command outcomes failed", len(batch))

    def _record(self, outcomes: list[Outcome]) -> None:
        now = datetime.now(UTC)
        by_id = {outcome[0]: outcome for outcome in outcomes}
        with self.database.session() as session:
            ids = list(by_id)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = session.scalars(select(Command).where(Command.id.in_(chunk)))
                for command in rows:
                    _, status, result, error = by_id[command.id]
                    command.status = status
                    command.result = result
                    command.error = error
                    command.updated_at = now
