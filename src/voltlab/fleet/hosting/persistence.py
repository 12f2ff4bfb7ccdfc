"""Batched writes from the fleet to the store: the OCPP frame log, station snapshots and the
findings about the CSMS (`voltlab.ocpp.findings`), which never cost a station a write of its
own: they wait in memory with the frames and go out with the next batch (and the last one at
shutdown).

Stations mostly never wait for the database: frames and dirty markers are buffered in memory and
written in one transaction per flush (write-behind). Two things wait for a write (write-ahead):
the start and the end of a transaction (`persist`, which flushes now) and a transaction's meter
value (`settled`, which waits for the next regular flush, so a register the CSMS saw is never
above the stored one). Concurrent waiters share one flush (group commit).

One frame that cannot be written (a lone surrogate cannot be encoded as UTF-8) never costs the
batch: it is stored with the offending characters escaped, and a failing batch is retried row
by row so the other chargers' frames and snapshots still land.

Each batch also stores the simulated clock's reading (one UPDATE), so that a restarted process
continues simulated time after every timestamp this one wrote (`voltlab.clock`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from voltlab.clock import ClockReading, monotonic, wall_now
from voltlab.fleet.hosting.metrics import FleetMetrics
from voltlab.ocpp.vocabulary.timestamps import split_micros
from voltlab.store.clock_state import update_clock_reading
from voltlab.store.db import Database
from voltlab.store.findings_repo import insert_findings
from voltlab.store.models import Charger, Frame
from voltlab.store.retention import keep_newest

log = logging.getLogger(__name__)

FRAMES_KEPT_PER_CHARGER = 1000
PRUNE_EVERY = 200  # frames written for a charger between two prunes of its log


class FleetWriter:
    def __init__(
        self,
        database: Database,
        snapshot_of: Callable[[str], dict[str, Any] | None],
        clock_reading: Callable[[], ClockReading] | None = None,
        metrics: FleetMetrics | None = None,
    ) -> None:
        """`metrics`: where each batch's duration and frames are counted."""
        self.database = database
        self._metrics = metrics
        self._snapshot_of = snapshot_of
        self._clock_reading = clock_reading
        self._frames: list[tuple[str, float, str, str]] = []
        self._findings: list[dict[str, Any]] = []  # rows of `findings`, in the next batch
        self._dirty: set[str] = set()
        # Chargers whose snapshot a caller waits for (`persist`, `settled`): a write-ahead
        # flush writes these (and the frames) only; the others wait for the regular flush.
        self._awaited: set[str] = set()
        self._since_prune: dict[str, int] = {}
        self._lock = asyncio.Lock()
        # Futures of `persist` and `settled` callers, resolved by the end of the next flush.
        self._waiters: list[asyncio.Future[None]] = []
        # Flushes are numbered as they start (serialized by the lock); the number of the last
        # one that ended tells a `settle_mark` whether its snapshot was written since.
        self._flushes_started = 0
        self._flush_ended = 0
        self._urgent = False  # a `persist` caller waits: flush again at once
        self._urgent_task: asyncio.Task[None] | None = None
        self._insert_frames = _frame_inserter(database)

    def frame(self, charger_id: str, ts: float, direction: str, text: str) -> None:
        # A tuple now, the row later in the writer thread: the event loop pays only the append.
        self._frames.append((charger_id, ts, direction, text))

    def finding(self, row: dict[str, Any]) -> None:
        """Buffer a finding row (the columns of `FindingRecord`) for the next batch."""
        self._findings.append(row)

    def mark_dirty(self, charger_id: str) -> None:
        self._dirty.add(charger_id)

    def forget(self, charger_id: str) -> None:
        self._dirty.discard(charger_id)
        self._awaited.discard(charger_id)
        self._frames = [f for f in self._frames if f[0] != charger_id]
        self._findings = [f for f in self._findings if f["charger_id"] != charger_id]

    async def persist(self, charger_id: str) -> None:
        """Write this charger's snapshot now (with the buffered frames and the other snapshots
        waited for) and return once it is committed. Callers share flushes: every flush that
        snapshots the charger after this call releases it, at its commit, so the frame this
        guards leaves right after the state behind it became durable (never a flush later)."""
        self._urgent = True
        if self._urgent_task is None or self._urgent_task.done():
            self._urgent_task = asyncio.create_task(self._flush_urgent(), name="fleet-persist")
        await self.settled(charger_id)

    async def flush_log(self) -> None:
        """Return once the frames and findings buffered before this call are written: what a
        reader of the frame log or the findings waits for. A write-ahead flush (the snapshots
        someone waits for, not every dirty one), shared as `persist`'s are: a burst of readers
        costs one write at a time, not a queue of full flushes."""
        mark = self._flushes_started
        self._urgent = True
        if self._urgent_task is None or self._urgent_task.done():
            self._urgent_task = asyncio.create_task(self._flush_urgent(), name="fleet-persist")
        await self.settled_since(mark)

    async def settled(self, charger_id: str) -> None:
        """Return once a flush that started after this call has written the charger's
        snapshot; costs no write of its own (the regular flush does it)."""
        await self.settled_since(self.settle_mark(charger_id))

    def settle_mark(self, charger_id: str) -> int:
        """Mark the charger for the next flush and return where the flushes stand: a state
        the station had before this call is stored once `stored_since(mark)` is true. A
        station takes one mark per meter reading, and waits (`settled_since`) only for those
        a flush has not covered yet: one wait per flush, not one per reading."""
        self._dirty.add(charger_id)
        self._awaited.add(charger_id)
        return self._flushes_started

    def stored_since(self, mark: int) -> bool:
        """A flush that started after `mark` was taken has ended."""
        return self._flush_ended > mark

    async def settled_since(self, mark: int) -> None:
        """Return once `stored_since(mark)`: at once, or at the end of the next flush (which
        starts after this call, so after the mark)."""
        if self._flush_ended > mark:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    async def _flush_urgent(self) -> None:
        while self._urgent:
            self._urgent = False
            await self.flush(awaited_only=True)

    async def flush(self, *, awaited_only: bool = False) -> None:
        """Write the buffered frames and the dirty snapshots; `awaited_only`: only the
        snapshots someone waits for (`persist`, `settled`), so that a write-ahead does not
        wait for the snapshots of every other station that changed (a fan-out's thousand):
        the regular flush writes those."""
        async with self._lock:
            # Numbered in the same step as `_flush_locked` takes the dirty set (it runs
            # without a pause up to its write): a mark taken before this flush is covered.
            self._flushes_started += 1
            number = self._flushes_started
            waiters, self._waiters = self._waiters, []
            try:
                await self._flush_locked(awaited_only)
            finally:
                self._flush_ended = number
                # Also after a failed write: a station must not stall on a broken database
                # (the failure is logged and the snapshots retried).
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def _flush_locked(self, awaited_only: bool = False) -> None:
        frames, self._frames = self._frames, []
        findings, self._findings = self._findings, []
        awaited, self._awaited = self._awaited, set()
        if awaited_only:
            dirty = awaited & self._dirty  # what is awaited was marked dirty with it
            self._dirty -= dirty
        else:
            dirty, self._dirty = self._dirty, set()
        snapshots = {cid: snap for cid in dirty if (snap := self._snapshot_of(cid)) is not None}
        if not frames and not snapshots and not findings:
            return
        to_prune = []
        for charger_id, *_ in frames:
            self._since_prune[charger_id] = self._since_prune.get(charger_id, 0) + 1
        for charger_id, count in list(self._since_prune.items()):
            if count >= PRUNE_EVERY:
                to_prune.append(charger_id)
                self._since_prune[charger_id] = 0
        # Read after every frame of the batch was stamped: the stored time is never behind them.
        reading = self._clock_reading() if self._clock_reading is not None else None
        started = monotonic()
        try:
            failed = await asyncio.to_thread(
                self._write, frames, snapshots, to_prune, reading, findings
            )
        except Exception:
            # Keep the process up; the snapshots and findings are retried on the next flush.
            log.exception("fleet flush failed")
            if self._metrics is not None:
                self._metrics.flush_failures.inc()
            self._dirty |= set(snapshots)
            self._findings[:0] = findings
            return
        if self._metrics is not None:
            self._metrics.flush.observe(monotonic() - started)
        self._dirty |= failed

    def _write(
        self,
        frames: list[tuple[str, float, str, str]],
        snapshots: dict[str, dict[str, Any]],
        to_prune: list[str],
        reading: ClockReading | None = None,
        findings: list[dict[str, Any]] | None = None,
    ) -> set[str]:
        """Write the batch in one transaction; if that fails, row by row, so one bad row costs
        only itself. Returns the chargers whose snapshot could not be written."""
        now = wall_now()
        try:
            with self.database.session() as session:
                self._insert_frames(session, frames)
                insert_findings(session, findings or [])
                self._update_snapshots(session, snapshots, now)
                self._prune(session, to_prune)
                if reading is not None:
                    update_clock_reading(session, reading)
            self._frames_written(len(frames))
            return set()
        except Exception:
            log.exception("fleet flush batch failed; writing its %d frames one by one", len(frames))
            if self._metrics is not None:
                self._metrics.flush_failures.inc()
        for frame in frames:
            try:
                with self.database.session() as session:
                    self._insert_frames(session, [frame])
                self._frames_written(1)
            except Exception:
                log.exception("frame of %s not written: %.200r", frame[0], frame[3])
        for finding in findings or []:
            try:
                with self.database.session() as session:
                    insert_findings(session, [finding])
            except Exception:
                log.exception("finding %s not written", finding.get("id"))
        failed: set[str] = set()
        for charger_id, snapshot in snapshots.items():
            try:
                with self.database.session() as session:
                    self._update_snapshots(session, {charger_id: snapshot}, now)
            except Exception:
                log.exception("snapshot of %s not written", charger_id)
                failed.add(charger_id)
        if reading is not None:
            try:
                with self.database.session() as session:
                    update_clock_reading(session, reading)
            except Exception:
                log.exception("clock reading not written")
        return failed

    def _frames_written(self, count: int) -> None:
        if self._metrics is not None and count:
            self._metrics.frames_written.inc(count)

    @staticmethod
    def _update_snapshots(
        session: Session, snapshots: dict[str, dict[str, Any]], now: datetime
    ) -> None:
        if snapshots:
            # One executemany for every dirty station, not a statement each.
            chargers = cast(Table, Charger.__table__)
            session.connection().execute(
                update(chargers)
                .where(chargers.c.id == bindparam("charger_id"))
                .values(state=bindparam("state"), updated_at=now),
                [{"charger_id": cid, "state": snap} for cid, snap in snapshots.items()],
            )

    @staticmethod
    def _prune(session: Session, to_prune: list[str]) -> None:
        for charger_id in to_prune:
            keep_newest(session, Frame.id, Frame.charger_id, charger_id, FRAMES_KEPT_PER_CHARGER)


BufferedFrame = tuple[str, float, str, str]  # charger id, simulated time, direction, text
FrameInserter = Callable[[Session, list[BufferedFrame]], None]


def _frame_inserter(database: Database) -> FrameInserter:
    """How a batch of buffered frames is inserted. SQLite: one sqlite3 executemany of plain
    tuples, the timestamp written as the text SQLAlchemy's DateTime stores (checked against the
    column type's own bind processor below): SQLAlchemy's per-row parameter handling cost more
    than SQLite's write (measured 12 us per frame through Core, ~5 us this way). Other
    databases keep Core's insert, which batches rows into multi-row INSERTs there."""
    table = cast(Table, Frame.__table__)
    if not database.is_sqlite:

        def core_insert(session: Session, frames: list[BufferedFrame]) -> None:
            if frames:
                # Core insert on the table: the ORM's bulk path costs more than the write.
                session.connection().execute(insert(table), [_frame_row(*f) for f in frames])

        return core_insert

    dialect = database.engine.dialect
    columns = ("charger_id", "ts", "direction", "frame")
    bind = table.c.ts.type.dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None  # SQLite stores datetimes as text of its own format
    # The bind processor %-formats seven fields (5 us a frame, half the writer's cost per
    # frame); `sqlite_time_text` says the same from the float, reusing the text of the last
    # second: checked here against the bind processor, or the bind processor it is.
    probes = [1_767_323_045.060708, 1_767_323_045.0, 1_767_323_045.9999996]
    same = all(
        sqlite_time_text(probe) == bind(datetime.fromtimestamp(probe, UTC)) for probe in probes
    )

    def bound_time_text(ts: float) -> Any:
        return bind(datetime.fromtimestamp(ts, UTC))

    time_text: Callable[[float], Any] = sqlite_time_text if same else bound_time_text
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )

    def sqlite_insert(session: Session, frames: list[BufferedFrame]) -> None:
        if frames:
            session.connection().exec_driver_sql(
                sql,
                [
                    (cid, time_text(ts), direction, t if t.isascii() else encodable(t, cid))
                    for cid, ts, direction, t in frames
                ],
            )

    return sqlite_insert


_last_second: tuple[int, str] = (-1, "")


def sqlite_time_text(ts: float) -> str:
    """POSIX seconds as SQLAlchemy's SQLite DATETIME stores the UTC datetime
    `datetime.fromtimestamp(ts, UTC)`: `2026-01-02 03:04:05.060708` (microseconds rounded
    half to even, as datetime rounds them). The text of the second is reused from the last
    call: a flush's frames mostly share it."""
    global _last_second
    second, micros = split_micros(ts)
    cached, text = _last_second
    if second != cached:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
        _last_second = (second, text)
    return f"{text}.{micros:06d}"


def _frame_row(charger_id: str, ts: float, direction: str, text: str) -> dict[str, Any]:
    return {
        "charger_id": charger_id,
        "ts": datetime.fromtimestamp(ts, UTC),
        "direction": direction,
        "frame": text if text.isascii() else encodable(text, charger_id),
    }


def encodable(text: str, charger_id: str = "?") -> str:
    """`text` if it encodes as UTF-8; otherwise with the characters that cannot (lone
    surrogates) escaped as \\udXXX, and a log line, so the frame log stays readable."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        log.warning("frame of %s has characters UTF-8 cannot encode; stored escaped", charger_id)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
