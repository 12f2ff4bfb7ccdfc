"""FleetWriter: one frame or snapshot that cannot be written costs only itself, never the
batch of every charger; `persist` and `settled` return once the snapshot is in the store."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from voltlab.fleet.hosting.persistence import FleetWriter, sqlite_time_text
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.models import Charger, Frame

T0 = 1_780_000_000.0


def _chargers(database: Database, count: int) -> list[str]:
    with database.session() as session:
        org = repo.get_or_create_org(session, "writer")
        ids = [f"dep-w{n}" for n in range(count)]
        for charger_id in ids:
            session.add(
                Charger(
                    id=charger_id,
                    org_id=org.id,
                    identity=f"CP-W-{charger_id}",
                    csms_url="ws://127.0.0.1:9/ocpp",
                    ocpp_version="ocpp1.6",
                    model="ac-7kw-1c",
                )
            )
    return ids


def _frames(database: Database) -> list[tuple[str, str]]:
    with database.session() as session:
        rows = session.execute(select(Frame.charger_id, Frame.frame).order_by(Frame.id)).all()
    return [(charger_id, text) for charger_id, text in rows]


def _states(database: Database) -> dict[str, Any]:
    with database.session() as session:
        return dict(session.execute(select(Charger.id, Charger.state)).all())


async def test_a_lone_surrogate_is_stored_escaped_and_the_batch_is_written(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c = _chargers(database, 3)
    snapshots = {a: {"n": 1}, b: {"n": 2}, c: {"n": 3}}
    writer = FleetWriter(database, snapshots.get)
    writer.frame(a, T0, "out", '[2,"1","Heartbeat",{}]')
    writer.frame(b, T0, "in", '[3,"1",{"text":"bad \ud800 here"}]')
    writer.frame(c, T0, "out", '[2,"2","DataTransfer",{"vendorId":"voltlab","data":"é"}]')
    for charger_id in (a, b, c):
        writer.mark_dirty(charger_id)
    with caplog.at_level(logging.WARNING, logger="voltlab.fleet.hosting.persistence"):
        await writer.flush()
    frames = _frames(database)
    assert frames == [
        (a, '[2,"1","Heartbeat",{}]'),
        (b, '[3,"1",{"text":"bad \\ud800 here"}]'),
        (c, '[2,"2","DataTransfer",{"vendorId":"voltlab","data":"é"}]'),
    ]
    assert _states(database) == {a: {"n": 1}, b: {"n": 2}, c: {"n": 3}}
    assert any("cannot encode" in r.getMessage() and b in r.getMessage() for r in caplog.records)


async def test_frame_times_read_back_as_the_datetimes_they_were(database: Database) -> None:
    """The SQLite path writes the time as text itself: it must read back through the ORM as
    `datetime.fromtimestamp(ts, UTC)` would, microsecond rounding and second rollover included."""
    [a] = _chargers(database, 1)
    writer = FleetWriter(database, {}.get)
    times = [T0, T0 + 0.0000004, T0 + 0.0000005, T0 + 0.0000015, T0 + 0.9999996, T0 + 59.123456]
    times += [T0 + 86_400 * 400 + n / 7 for n in range(7)]
    for n, ts in enumerate(times):
        writer.frame(a, ts, "out", f'[2,"{n}","Heartbeat",{{}}]')
    await writer.flush()
    with database.session() as session:
        stored = session.scalars(select(Frame.ts).order_by(Frame.id)).all()
    expected = [datetime.fromtimestamp(ts, UTC) for ts in times]
    assert [t.replace(tzinfo=UTC) for t in stored] == expected
    # ... written by the fast path, not only by its fallback to the column's bind processor
    assert [sqlite_time_text(ts) for ts in times] == [
        t.isoformat(" ", "microseconds")[:26] for t in expected
    ]


async def test_a_row_the_database_refuses_costs_only_itself(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c = _chargers(database, 3)
    # b's snapshot cannot be serialized to JSON: the batch fails and is retried row by row.
    snapshots: dict[str, Any] = {a: {"n": 1}, b: {"bad": object()}, c: {"n": 3}}
    writer = FleetWriter(database, snapshots.get)
    for n, charger_id in enumerate((a, b, c)):
        writer.frame(charger_id, T0 + n, "out", f'[2,"{n}","Heartbeat",{{}}]')
        writer.mark_dirty(charger_id)
    with caplog.at_level(logging.ERROR, logger="voltlab.fleet.hosting.persistence"):
        await writer.flush()
    assert [charger_id for charger_id, _ in _frames(database)] == [a, b, c]
    states = _states(database)
    assert states[a] == {"n": 1} and states[c] == {"n": 3} and states[b] is None
    assert any(f"snapshot of {b} not written" in r.getMessage() for r in caplog.records)
    # b stays dirty and is written once it can be
    snapshots[b] = {"n": 2}
    await writer.flush()
    assert _states(database)[b] == {"n": 2}


async def test_persist_and_settled_return_with_the_snapshot_stored(database: Database) -> None:
    (a,) = _chargers(database, 1)
    snapshot = {"tx": "open"}
    writer = FleetWriter(database, lambda cid: dict(snapshot))
    await asyncio.wait_for(writer.persist(a), 5)
    assert _states(database)[a] == {"tx": "open"}
    snapshot["tx"] = "closed"
    settled = asyncio.create_task(writer.settled(a))
    await asyncio.sleep(0.05)
    assert not settled.done(), "settled writes nothing of its own: it waits for a flush"
    assert _states(database)[a] == {"tx": "open"}
    await writer.flush()
    await asyncio.wait_for(settled, 5)
    assert _states(database)[a] == {"tx": "closed"}


async def test_a_write_ahead_writes_what_is_waited_for_and_leaves_the_rest_to_the_flush(
    database: Database,
) -> None:
    a, b, c, d = _chargers(database, 4)
    snapshots = {a: {"n": 1}, b: {"n": 2}, c: {"n": 3}, d: {"n": 4}}
    writer = FleetWriter(database, lambda cid: dict(snapshots[cid]))
    writer.frame(b, T0, "out", '[2,"1","Heartbeat",{}]')
    writer.mark_dirty(b)  # changed, and nobody waits for it
    settled = asyncio.create_task(writer.settled(c))
    await asyncio.sleep(0)  # c waits for the next flush
    mark = writer.settle_mark(d)  # a meter reading of d, not waited for yet
    await asyncio.wait_for(writer.persist(a), 5)
    await asyncio.wait_for(settled, 5)
    states = _states(database)
    assert states[a] == {"n": 1} and states[c] == {"n": 3}
    assert writer.stored_since(mark) and states[d] == {"n": 4}, "a mark is covered as promised"
    assert states[b] is None, "a write-ahead does not wait for every changed station"
    assert _frames(database) == [(b, '[2,"1","Heartbeat",{}]')]  # buffered frames go along
    await writer.flush()
    assert _states(database)[b] == {"n": 2}


async def test_a_settle_mark_is_covered_by_the_next_flush_that_starts_after_it(
    database: Database,
) -> None:
    """A meter reading marks the store when it is taken; a flush that was already writing
    then does not cover it (its snapshot was taken before), the next one does, and a mark a
    flush covered needs no wait at all."""
    (a,) = _chargers(database, 1)
    writer = FleetWriter(database, lambda cid: {"n": 1})
    before = writer.settle_mark(a)
    assert not writer.stored_since(before)
    writing, release = threading.Event(), threading.Event()
    write = writer._write

    def slow_write(*args: Any) -> set[str]:
        writing.set()
        release.wait(5)
        return write(*args)

    writer._write = slow_write  # type: ignore[method-assign]
    flushing = asyncio.create_task(writer.flush())
    await asyncio.to_thread(writing.wait, 5)  # the flush took its snapshots and writes them
    during = writer.settle_mark(a)
    waiting = asyncio.create_task(writer.settled_since(during))
    release.set()
    await asyncio.wait_for(flushing, 5)
    assert writer.stored_since(before) and not writer.stored_since(during)
    await asyncio.sleep(0.05)
    assert not waiting.done(), "the flush that was writing does not cover a later reading"
    writer._write = write  # type: ignore[method-assign]
    await writer.flush()
    await asyncio.wait_for(waiting, 5)
    assert writer.stored_since(during)
    await asyncio.wait_for(writer.settled_since(before), 0.01)  # covered: no wait


async def test_a_log_reader_waits_for_the_frames_before_it_not_every_snapshot(
    database: Database,
) -> None:
    """`flush_log` (the API before reading the frame log): returns once a write that started
    after the call committed the frames buffered before it; readers that come while a write
    is running share the next one; a changed snapshot nobody waits for is left to the flush."""
    a, b = _chargers(database, 2)
    writer = FleetWriter(database, lambda cid: {"n": 1})
    write = writer._write
    writes: list[int] = []
    writing, release = threading.Event(), threading.Event()

    def held_write(*args: Any) -> set[str]:
        writes.append(len(args[0]))  # the frames of this write
        writing.set()
        release.wait(5)
        return write(*args)

    writer._write = held_write  # type: ignore[method-assign]
    first_frame, second_frame = '[2,"1","Heartbeat",{}]', '[2,"2","Heartbeat",{}]'
    writer.frame(a, T0, "out", first_frame)
    writer.mark_dirty(b)  # changed; no log reader waits for its snapshot
    first = asyncio.create_task(writer.flush_log())
    await asyncio.to_thread(writing.wait, 5)  # the first write took the first frame
    writer.frame(a, T0 + 1, "out", second_frame)
    later = [asyncio.create_task(writer.flush_log()) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in [first, *later])
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *later), 5)
    assert writes == [1, 1], "five readers during a write share the next one"
    assert [text for _, text in _frames(database)] == [first_frame, second_frame]
    assert _states(database)[b] is None
    writer._write = write  # type: ignore[method-assign]
    await writer.flush()
    assert _states(database)[b] == {"n": 1}
