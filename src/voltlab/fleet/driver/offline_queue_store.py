"""The database side of a fleet's offline queues (`offline_queue.OfflineQueue`): one
`QueueStore` per `Database`. Writes from all the queues share a group commit: while one
transaction is being written, the writes that arrive meanwhile wait and then go together in the
next one. A lone write therefore waits for nothing, and a fleet that goes offline at once does
not turn into one commit per message (SQLite has a single writer). Reads go straight to a
worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voltlab.store.db import Database
from voltlab.store.queue_models import QueuedMessageRecord

ResultT = TypeVar("ResultT")


@dataclass
class _PendingWrite:
    operation: Callable[[Session], Any]
    future: asyncio.Future[Any]


@dataclass
class _Outcome:
    value: Any = None
    error: Exception | None = None


def _chargers_with_rows(session: Session) -> set[str]:
    return set(session.scalars(select(QueuedMessageRecord.charger_id).distinct()))


class QueueStore:
    """The database side of every offline queue of a fleet: one per `Database`. Writes go
    through one group-commit writer; reads go straight to a worker thread."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[_PendingWrite] = []
        self._writer: asyncio.Task[None] | None = None
        # Last seq handed out per charger. Only the writer thread touches it (one batch at a
        # time), so it needs no lock; it is cleared whenever a batch rolls back.
        self._last_seq: dict[str, int] = {}
        # Chargers that may have queued rows: those with rows when first asked, plus every
        # charger that enqueued since. A fleet's boot then costs one query, not one per station.
        self._had_rows: set[str] | None = None
        self._backlog_read: asyncio.Task[set[str]] | None = None
        self._enqueued: set[str] = set()
        # Chargers taken over from another process (a cluster): their rows were written
        # there, after `_had_rows` was read and with seqs this process never handed out.
        self._adopted: set[str] = set()

    async def write(self, operation: Callable[[Session], ResultT]) -> ResultT:
        """Run `operation` in a transaction shared with the writes that arrive while the
        previous one commits; return its result once committed."""
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.append(_PendingWrite(operation, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="offline-queue-writer")
        return await future

    async def may_have_backlog(self, charger_id: str) -> bool:
        """False when the charger certainly has no queued message."""
        if charger_id in self._enqueued:
            return True
        if self._had_rows is None:
            if self._backlog_read is None:
                self._backlog_read = asyncio.create_task(self.read(_chargers_with_rows))
            self._had_rows = await asyncio.shield(self._backlog_read)
        return charger_id in self._had_rows or charger_id in self._enqueued

    def noted_enqueue(self, charger_id: str) -> None:
        self._enqueued.add(charger_id)

    def adopt(self, charger_ids: list[str]) -> None:
        """These chargers come from another process, which may have queued messages for them:
        read their backlog, and their next seq from the table (the writer thread drops the
        counters it kept, should they have been here before)."""
        self._enqueued.update(charger_ids)
        self._adopted.update(charger_ids)

    async def read(self, operation: Callable[[Session], ResultT]) -> ResultT:
        return await asyncio.to_thread(self._run_read, operation)

    def _run_read(self, operation: Callable[[Session], ResultT]) -> ResultT:
        with self.database.session() as session:
            return operation(session)

    async def _write_pending(self) -> None:
        batch: list[_PendingWrite] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                # A caller cancelled before its write began does not consider it written.
                batch = [write for write in batch if not write.future.done()]
                if not batch:
                    continue
                operations = [write.operation for write in batch]
                outcomes = await asyncio.to_thread(self._apply, operations)
                for write, outcome in zip(batch, outcomes, strict=True):
                    if write.future.done():
                        continue
                    if outcome.error is not None:
                        write.future.set_exception(outcome.error)
                    else:
                        write.future.set_result(outcome.value)
                batch = []
        except BaseException:
            # The writer itself was cancelled (loop shutting down): nobody may wait forever.
            for write in batch + self._pending:
                if not write.future.done():
                    write.future.cancel()
            self._pending = []
            raise

    def _apply(self, operations: list[Callable[[Session], Any]]) -> list[_Outcome]:
        while self._adopted:  # the writer thread alone touches `_last_seq`
            self._last_seq.pop(self._adopted.pop(), None)
        try:
            with self.database.session() as session:
                values = [operation(session) for operation in operations]
        except Exception as exc:  # noqa: BLE001 - reported to the callers below
            self._last_seq.clear()  # rolled back: the counters may be ahead of the table
            if len(operations) == 1:
                return [_Outcome(error=exc)]
            # One failing write must not fail the others of its batch: retry each alone.
            return [self._apply_alone(operation) for operation in operations]
        return [_Outcome(value=value) for value in values]

    def _apply_alone(self, operation: Callable[[Session], Any]) -> _Outcome:
        try:
            with self.database.session() as session:
                return _Outcome(value=operation(session))
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            self._last_seq.clear()
            return _Outcome(error=exc)

    def next_seq(self, session: Session, charger_id: str) -> int:
        """The seq for a new message of `charger_id`; call only inside a `write` operation.

        Kept in memory so seq keeps increasing while the queue empties and fills again (an old
        seq a caller still holds never names a newer message); read from the table on first use.
        """
        last = self._last_seq.get(charger_id)
        if last is None:
            last = (
                session.scalar(
                    select(func.max(QueuedMessageRecord.seq)).where(
                        QueuedMessageRecord.charger_id == charger_id
                    )
                )
                or 0
            )
        self._last_seq[charger_id] = last + 1
        return last + 1
