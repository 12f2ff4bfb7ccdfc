"""The built-in CSMS's transactions in the database (issue 14): a virtual CPO's charger can land
on any worker and its CSMS connection be served by any process, so what the CSMS must
remember across processes is written as it changes and read back when a station connects.

- `DatabaseTransactions` writes a station's `TransactionChange`s (off the event loop, in the
  station's notification order, before the listener hears of the frame that made them) and
  reads a station's transactions back;
- `IdBlocks` hands out transaction ids (and 2.x remote start ids) from a sequence in the
  database, a block at a time, so two processes never give out the same id.

The per-frame cost on the event loop is the record's construction; the write is one short
transaction in a worker thread, queued behind the station's earlier ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from voltlab.clock import wall_time
from voltlab.csms.events import CsmsTransaction
from voltlab.csms.notify import StationNotifier, TransactionsChanged
from voltlab.csms.ocpp201_state import StationTx
from voltlab.csms.registry import (
    MAX_SAMPLES_PER_TRANSACTION,
    TRANSACTION_ID_EPOCH,
    Registry,
    StationKey,
)
from voltlab.csms.tx_records import (
    StoredTransaction,
    TransactionChange,
    as_record,
    station_tx_of,
    transaction_of,
)
from voltlab.ocpp.connection import Handler, Reply
from voltlab.store import csms_state
from voltlab.store.db import Database

log = logging.getLogger(__name__)

CLOSED_KEPT = 50  # closed transactions read back per station: a resent stop is recognised
ID_BLOCK = 20  # ids taken from the shared sequence at a time


class TransactionStore(Protocol):
    async def save(self, changes: list[TransactionChange]) -> None: ...

    async def load(
        self, cpo_id: str, identity: str
    ) -> list[tuple[CsmsTransaction, StationTx | None]]: ...

    async def forget_cpo(self, cpo_id: str) -> None: ...

    def id_sequence(self, name: str) -> Callable[[], int]: ...


class TransactionSync:
    """The server's side of it: after each frame (and before each listener notification) the
    station's changed transactions go to its notifier as a `TransactionsChanged`, which the
    notifier writes in order; when a station connects, its stored transactions replace what
    this process holds of it."""

    def __init__(
        self,
        registry: Registry,
        store: TransactionStore,
        notifier: Callable[[StationKey], StationNotifier],
        timeout: float,
    ) -> None:
        if registry.changes is None:
            raise ValueError("the registry must track its changes")
        self.registry = registry
        self.changes = registry.changes
        self.store = store
        self.notifier = notifier
        self.timeout = timeout

    def flushing(self, key: StationKey, handler: Handler) -> Handler:
        async def handle(action: str, payload: dict[str, Any]) -> dict[str, Any] | Reply:
            try:
                return await handler(action, payload)
            finally:
                self.flush(key)

        return handle

    def flush(self, key: StationKey) -> None:
        changes = self.changes.take(key, self._station_tx)
        if changes:
            self.notifier(key).push(TransactionsChanged(changes))

    def _station_tx(self, tx: CsmsTransaction) -> StationTx | None:
        record = self.registry.find_station(tx.cpo_id, tx.identity)
        sid = tx.station_transaction_id
        return record.ocpp2.transactions.get(sid) if record is not None and sid else None

    async def restore(self, key: StationKey, pending: StationNotifier | None) -> None:
        """Load the station's stored transactions before its first frame is read: another
        process may have served it since this one last did."""
        if pending is not None:  # this process's own writes for it land first
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timeout):
                    await pending.idle()
        try:
            stored = await self.store.load(*key)
        except Exception:  # noqa: BLE001 - serve from memory; unknown ids are adopted
            log.exception("%s/%s: stored transactions not read", *key)
            return
        self.registry.restore_station(*key, [tx for tx, _ in stored])
        record = self.registry.station(*key)
        record.ocpp2.transactions.clear()
        for tx, state in stored:
            if state is not None and tx.station_transaction_id is not None:
                record.ocpp2.remember(tx.station_transaction_id, state)


class DatabaseTransactions:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def save(self, changes: list[TransactionChange]) -> None:
        await asyncio.to_thread(self._write, changes)

    def _write(self, changes: list[TransactionChange]) -> None:
        with self.database.session() as session:
            for change in changes:
                csms_state.write_transaction(
                    session,
                    change.transaction_id,
                    change.cpo_id,
                    change.identity,
                    change.is_open,
                    dict(change.record),
                    [dict(sample) for sample in change.new_samples],
                )

    async def load(
        self, cpo_id: str, identity: str
    ) -> list[tuple[CsmsTransaction, StationTx | None]]:
        rows = await asyncio.to_thread(self._read, cpo_id, identity)
        found = []
        for transaction_id, record, samples in rows:
            stored = StoredTransaction(
                transaction_id,
                cpo_id,
                identity,
                as_record(record),
                samples,  # type: ignore[arg-type]  # JSON written from SampleRecords
            )
            found.append(
                (transaction_of(stored, MAX_SAMPLES_PER_TRANSACTION), station_tx_of(stored))
            )
        return found

    def _read(self, cpo_id: str, identity: str) -> list[tuple[int, dict, list[dict]]]:  # type: ignore[type-arg]
        with self.database.session() as session:
            return csms_state.station_transactions(session, cpo_id, identity, CLOSED_KEPT)

    async def forget_cpo(self, cpo_id: str) -> None:
        def delete() -> None:
            with self.database.session() as session:
                csms_state.delete_cpo_transactions(session, cpo_id)

        await asyncio.to_thread(delete)

    def id_sequence(self, name: str) -> Callable[[], int]:
        return IdBlocks(self.database, name)


class IdBlocks:
    """Ids from the database sequence `name`, `ID_BLOCK` at a time; never below the seconds
    since 2024-01-01, so they continue above the ids of releases that allocated from the clock
    alone. Called on the event loop: one short database transaction per block."""

    def __init__(
        self, database: Database, name: str, wall_clock: Callable[[], float] = wall_time
    ) -> None:
        self.database = database
        self.name = name
        self._wall_clock = wall_clock
        self._next = 0
        self._end = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            if self._next >= self._end:
                first = self._take()
                self._next, self._end = first, first + ID_BLOCK
            value = self._next
            self._next += 1
            return value

    def _take(self) -> int:
        floor = int(self._wall_clock() - TRANSACTION_ID_EPOCH)
        for attempt in range(3):
            try:
                with self.database.session() as session:
                    return csms_state.allocate_ids(session, self.name, ID_BLOCK, floor)
            except IntegrityError:  # two processes created the sequence's row at once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
