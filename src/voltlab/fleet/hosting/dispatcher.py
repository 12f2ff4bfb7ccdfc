"""The one path of a gateway command: a queued command record is picked up, run against the
station that hosts the charger, and its outcome recorded (succeeded, failed, timed_out).

Commands submitted together are claimed together and their transitions written together (one
transaction per batch, not two per command), so a start-session on a 1 000-charger location
reaches the wire at once. Commands to one charger run one after another, in the order they
were accepted: a plug-connector followed by a start-session charges the EV that was plugged.

A claimed command stays `queued` in the store while it waits for the charger's earlier ones;
it becomes `running` when it starts, stored before it acts (the commands starting together
share one commit). After a crash, `recover` runs the commands left `queued` and ends
the ones left `running` as failed with code `interrupted`: their effects on the wire (a
StartTransaction, a configuration change) may or may not have happened, so repeating them is
not safe for any command."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import ColumnClause, CursorResult, Table, bindparam, literal_column, select, update
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.metrics import FleetMetrics
from voltlab.fleet.model.records import StationError
from voltlab.live import LiveEvent, stamp
from voltlab.log_context import bind
from voltlab.store.db import Database
from voltlab.store.models import Command
from voltlab.store.views import command_json

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 120.0  # real seconds a command may run before it is recorded timed_out
RECORD_RETRY = 1.0  # real seconds between attempts to store transitions the database refused
SHUTDOWN_RECORD_WAIT = 10.0  # real seconds a shutdown waits for the outcomes to be stored

# command id, charger id, event type, payload, the charger's identity
Claimed = tuple[str, str, str, dict[str, Any], str]
# command id, status, result, error; status "running" marks the start, the others the outcome
Transition = tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]
ReadyGate = Callable[[str], Awaitable[None]]

INTERRUPTED_MESSAGE = (
    "the server stopped while the command was running; its effect on the station is unknown "
    "and it was not repeated"
)


class CommandDispatcher:
    def __init__(
        self,
        database: Database,
        runner_for: Callable[[str], StationRunner | None],
        handoff: Callable[[str], Awaitable[None]] | None = None,
        metrics: FleetMetrics | None = None,
    ) -> None:
        """`handoff` (a cluster): a claimed command whose charger is not hosted here (it moved
        to another process meanwhile) is handed back for its owner to claim, not failed;
        `metrics`: where the outcomes are counted."""
        self.database = database
        self._metrics = metrics
        self._runner_for = runner_for
        self._handoff = handoff
        self.timeout = COMMAND_TIMEOUT
        self._to_claim: list[tuple[str, ReadyGate | None]] = []
        self._claimed: set[str] = set()  # in this process, from claim to recorded outcome
        self._running: set[str] = set()  # started and not finished
        self._transitions: list[Transition] = []
        self._stored: list[asyncio.Future[None]] = []  # one per transition, same order
        self._claimer: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_of_charger: dict[str, asyncio.Task[None]] = {}

    def submit(self, command_id: str, ready: ReadyGate | None = None) -> None:
        """Run a queued command; `ready`, if given, is awaited (per charger) before it starts."""
        self._to_claim.append((command_id, ready))
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

    async def shutdown(self) -> None:
        """Stop: commands still waiting stay `queued` (the next start runs them); the ones
        running end failed `interrupted` now, as they would after a crash."""
        if self._claimer is not None:
            self._claimer.cancel()
        running = set(self._running)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        error = {"code": "interrupted", "message": INTERRUPTED_MESSAGE}
        for command_id in running:
            self._note((command_id, "failed", None, error))
        if self._recorder is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._recorder), SHUTDOWN_RECORD_WAIT)
            except TimeoutError:
                log.error("command outcomes not stored at shutdown: %d", len(self._transitions))
                self._recorder.cancel()

    # -- recovery after a restart ---------------------------------------------------------------

    async def recover(self, ready: ReadyGate) -> tuple[int, int]:
        """End the commands a dead process left `running` (failed, `interrupted`) and run the
        ones it left `queued`, in their order, each once its charger is `ready`. Returns
        (interrupted, resubmitted)."""
        interrupted, queued = await asyncio.to_thread(self._recover_rows)
        for command_id in queued:
            self.submit(command_id, ready)
        return interrupted, len(queued)

    def _recover_rows(self) -> tuple[int, list[str]]:
        now = wall_now()
        error = {"code": "interrupted", "message": INTERRUPTED_MESSAGE}
        with self.database.session() as session:
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(Command)
                .where(Command.status == "running")
                .values(status="failed", error=error, result=None, updated_at=now)
            )
            queued = session.scalars(
                select(Command.id)
                .where(Command.status == "queued")
                .order_by(Command.created_at, Command.id)
            ).all()
        return int(result.rowcount or 0), list(queued)

    # -- claiming -------------------------------------------------------------------------------

    async def _claim_pending(self) -> None:
        while self._to_claim:
            batch, self._to_claim = self._to_claim, []
            fresh = [(cid, gate) for cid, gate in batch if cid not in self._claimed]
            gates = dict(fresh)
            try:
                claimed = await asyncio.to_thread(self._claim, [cid for cid, _ in fresh])
            except Exception:  # the rows stay queued; nothing ran
                log.exception("claiming %d commands failed", len(batch))
                continue
            for command in claimed:
                self._claimed.add(command[0])
                self._start(command, gates.get(command[0]))

    def _claim(self, command_ids: list[str]) -> list[Claimed]:
        """The still-queued ones, in submission order. Their status stays `queued` until each
        starts: only this process dispatches them (`_claimed` keeps a second submit out)."""
        claimed: dict[str, Claimed] = {}
        with self.database.session() as session:
            for start in range(0, len(command_ids), 500):
                chunk = command_ids[start : start + 500]
                rows = session.execute(
                    select(
                        Command.id,
                        Command.charger_id,
                        Command.event_type,
                        Command.payload,
                        Command.identity,
                    ).where(Command.id.in_(chunk), Command.status == "queued")
                )
                for command_id, charger_id, event_type, payload, identity in rows:
                    claimed[command_id] = (
                        command_id,
                        charger_id,
                        event_type,
                        dict(payload or {}),
                        identity,
                    )
        return [claimed[cid] for cid in command_ids if cid in claimed]

    def _start(self, command: Claimed, ready: ReadyGate | None) -> None:
        command_id, charger_id = command[0], command[1]
        before = self._last_of_charger.get(charger_id)
        task = asyncio.create_task(self._run(command, before, ready), name=f"command:{command_id}")
        self._last_of_charger[charger_id] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._last_of_charger.get(charger_id) is finished:
                del self._last_of_charger[charger_id]

        task.add_done_callback(done)

    # -- running --------------------------------------------------------------------------------

    async def _run(
        self, command: Claimed, before: asyncio.Task[None] | None, ready: ReadyGate | None
    ) -> None:
        command_id, charger_id, event_type, payload, identity = command
        # This task's log lines (and those of what it starts) name the command and charger.
        bind(command_id=command_id, charger_id=charger_id, identity=identity)
        if before is not None:
            await asyncio.wait([before])  # the charger's earlier command first, whatever it did
        if ready is not None:
            await ready(charger_id)
        runner = self._runner_for(charger_id)
        execute = COMMANDS.get(event_type)
        status, result, error = "failed", None, None
        if execute is None:
            error = {"code": "unknown_command", "message": f"no command {event_type!r}"}
        elif runner is None and self._handoff is not None:
            self._claimed.discard(command_id)
            await self._handoff(command_id)
            return
        elif runner is None:
            error = {
                "code": "charger_not_running",
                "message": "the charger is stopped; start it first",
            }
        else:
            self._running.add(command_id)
            # Stored before it acts (one commit for the commands starting together): after a
            # crash a command that may have acted is `running`, never `queued` to run again.
            await self._note((command_id, "running", None, None))
            log.debug("command %s started", event_type)
            status, result, error = await self._execute(command_id, execute, runner, payload)
            self._running.discard(command_id)
        log.debug("command %s %s%s", event_type, status, f": {error['code']}" if error else "")
        if self._metrics is not None:
            self._metrics.command_finished(event_type if execute else "unknown", status)
        self._note((command_id, status, result, error))

    async def _execute(
        self,
        command_id: str,
        execute: Callable[[StationRunner, dict[str, Any]], Awaitable[dict[str, Any] | None]],
        runner: StationRunner,
        payload: dict[str, Any],
    ) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
        # asyncio.wait, not wait_for: the outcome is recorded at the timeout even if the
        # command's code is slow to unwind from its cancellation.
        task = asyncio.ensure_future(execute(runner, payload))
        try:
            done, _ = await asyncio.wait([task], timeout=self.timeout)
        except asyncio.CancelledError:  # shutdown: the command goes with it
            task.cancel()
            task.add_done_callback(_consume)
            raise
        if not done:
            task.cancel()
            task.add_done_callback(_consume)
            return (
                "timed_out",
                None,
                {
                    "code": "timed_out",
                    "message": f"no outcome within {self.timeout:g} s",
                },
            )
        try:
            return "succeeded", task.result(), None
        except StationError as exc:
            return "failed", None, {"code": exc.code, "message": exc.message}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a command must never take the process down
            log.exception("command %s failed", command_id)
            return (
                "failed",
                None,
                {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"},
            )

    # -- recording ------------------------------------------------------------------------------

    def _note(self, transition: Transition) -> asyncio.Future[None]:
        """Queue a transition for the recorder; the future resolves once it is stored."""
        stored = asyncio.get_running_loop().create_future()
        self._transitions.append(transition)
        self._stored.append(stored)
        if transition[1] != "running":
            self._claimed.discard(transition[0])
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_pending(), name="command-recorder")
        return stored

    async def _record_pending(self) -> None:
        while self._transitions:
            batch, self._transitions = self._transitions, []
            stored, self._stored = self._stored, []
            try:
                await asyncio.to_thread(self._record, batch)
            except Exception:
                # Kept and retried: a command must not stay `running` in the store after it
                # ended here.
                log.exception("recording %d command transitions failed", len(batch))
                self._transitions = batch + self._transitions
                self._stored = stored + self._stored
                await asyncio.sleep(RECORD_RETRY)
                continue
            for future in stored:
                if not future.done():
                    future.set_result(None)

    def _record(self, transitions: list[Transition]) -> None:
        by_id: dict[str, Transition] = {}
        for transition in transitions:  # the latest transition of a command wins
            by_id[transition[0]] = transition
        if not by_id:
            return
        # One executemany, no ORM objects: a fan-out's thousand commands wait for the commit
        # of their `running` before they act. An outcome is final: a late "running" cannot
        # undo it (the WHERE).
        commands = cast(Table, Command.__table__)
        statement = (
            update(commands)
            .where(commands.c.id == bindparam("command_id"), commands.c.status.not_in(_FINAL))
            .values(
                status=bindparam("new_status"),
                result=bindparam("new_result", type_=commands.c.result.type),
                error=bindparam("new_error", type_=commands.c.error.type),
                updated_at=wall_now(),
            )
        )
        rows = [
            {"command_id": cid, "new_status": status, "new_result": result, "new_error": error}
            for cid, status, result, error in by_id.values()
        ]
        with self.database.session() as session:
            session.connection().execute(statement, rows)
            self._announce(session, list(by_id))

    def _announce(self, session: Session, command_ids: list[str]) -> None:
        """The new status of each command, to the live channel's `commands` subscribers (read
        back only when someone listens)."""
        live = self.database.live
        if not live.wants("commands"):
            return
        at = stamp()
        for command in session.scalars(select(Command).where(Command.id.in_(command_ids))):
            if live.wants_org(command.org_id, "commands"):
                body = command_json(command) | {"at": at}
                live.publish(LiveEvent(command.org_id, "commands", "command", body))


TERMINAL = frozenset({"succeeded", "failed", "timed_out"})
# The same in SQL, as literals: executemany takes no list parameter.
_FINAL: list[ColumnClause[str]] = [literal_column(f"'{status}'") for status in sorted(TERMINAL)]


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a command that failed after its timeout logs nothing
