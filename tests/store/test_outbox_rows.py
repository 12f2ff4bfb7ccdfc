"""The OCPI outbox's rows (issue 14), on SQLite and PostgreSQL: claims in order per object,
backoff kept on the row, the fallback after a failed predecessor; on PostgreSQL, claims that
never overlap between processes and a dead process's claims freed at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from voltlab.ocpi import outbox
from voltlab.ocpi.outbox import PushJob, PushRequest
from voltlab.store.db import Database
from voltlab.store.presence import Presence

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def eventually(check: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def job(key: str, n: int, *, fallback: bool = False) -> PushJob:
    return PushJob(
        cpo_id="cpo-1",
        module="sessions",
        object_key=key,
        request=PushRequest("PATCH" if fallback else "PUT", f"/{key}", {"n": n}),
        fallback=PushRequest("PUT", f"/{key}", {"n": n, "whole": True}) if fallback else None,
    )


@pytest.fixture
def database(database_url: str):  # noqa: ANN201
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()


def add(database: Database, *jobs: PushJob) -> list[int]:
    with database.session() as session:
        return [outbox.enqueue(session, j, f"corr-{i}", T0) for i, j in enumerate(jobs)]


def claim(database: Database, token: int, now: datetime = T0, limit: int = 100) -> list[int]:
    with database.session() as session:
        return [row.id for row in outbox.claim(session, token, limit, now)]


def finish(database: Database, row_id: int, state: str = "succeeded") -> None:
    with database.session() as session:
        outbox.finish(session, row_id, state=state, attempts=1, error=None, now=T0)


def test_rows_of_one_object_go_one_at_a_time_in_order(database: Database) -> None:
    a1, a2, b1, a3 = add(database, job("A", 1), job("A", 2), job("B", 1), job("A", 3))
    token = Presence(database).join()
    assert claim(database, token) == [a1, b1]
    assert claim(database, token) == []  # A's next waits for A1; the claimed are held
    finish(database, a1)
    assert claim(database, token) == [a2]
    finish(database, a2, "failed")  # a failed row ends too: the next one may go
    finish(database, b1)
    assert claim(database, token) == [a3]


def test_a_retried_row_keeps_its_counts_and_waits_out_its_backoff(database: Database) -> None:
    [row_id] = add(database, job("A", 1))
    token = Presence(database).join()
    assert claim(database, token) == [row_id]
    wait = outbox.backoff(3, base=0.5, cap=8.0)
    assert wait == timedelta(seconds=2.0)
    assert [outbox.backoff(n, 0.5, 8.0).total_seconds() for n in (1, 2, 4, 5, 6, 9)] == [
        0.5,
        1.0,
        4.0,
        8.0,
        8.0,
        8.0,
    ]
    with database.session() as session:
        outbox.retry_later(
            session,
            row_id,
            attempts=3,
            phase_attempts=3,
            use_fallback=False,
            next_attempt_at=T0 + wait,
            error="unreachable",
        )
    assert claim(database, token, T0 + wait - timedelta(milliseconds=10)) == []
    with database.session() as session:
        [again] = outbox.claim(session, token, 10, T0 + wait)
    assert (again.id, again.attempts, again.phase_attempts) == (row_id, 3, 3)
    assert again.correlation_id == "corr-0"  # every attempt of a push shares it


def test_after_a_failed_predecessor_the_row_sends_its_fallback(database: Database) -> None:
    put, patch = add(database, job("S", 1), job("S", 2, fallback=True))
    token = Presence(database).join()
    assert claim(database, token) == [put]
    finish(database, put, "failed")
    with database.session() as session:
        [row] = outbox.claim(session, token, 10, T0)
    assert row.id == patch and row.use_fallback
    assert row.request == PushRequest("PUT", "/S", {"n": 2, "whole": True})


def test_prune_deletes_only_rows_that_ended_long_enough_ago(database: Database) -> None:
    done, pending = add(database, job("A", 1), job("B", 1))
    finish(database, done)
    with database.session() as session:
        assert outbox.prune(session, T0) == 0  # finished at T0, not before
        assert outbox.prune(session, T0 + timedelta(seconds=1)) == 1
        assert outbox.pending_count(session) == 1


def test_claims_never_overlap_and_a_dead_process_frees_its_rows(postgres_url: str) -> None:
    database = Database(postgres_url)
    database.migrate()
    keys = [f"K{i}" for i in range(40)]
    add(database, *(job(key, n) for n in range(3) for key in keys))
    processes = [Presence(database) for _ in range(4)]
    tokens = [p.join() for p in processes]
    assert len(set(tokens)) == 4
    claimed: Counter[int] = Counter()
    lock = threading.Lock()

    def worker(token: int) -> None:
        for _ in range(5):
            got = claim(database, token, limit=7)
            with lock:
                claimed.update(got)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each object's first row once, never two rows of one object, never a row twice.
    assert set(claimed.values()) == {1}
    assert len(claimed) == len(keys)
    # Process 0 dies (its connection, and so its presence lock, goes): its rows are free at
    # once for a live process; the others' stay held.
    with database.session() as session:
        from voltlab.store.outbox_models import OcpiOutbox

        held = {row.id: row.claimed_by for row in session.query(OcpiOutbox).all()}
    mine = sorted(i for i, t in held.items() if t == tokens[0])
    others = sorted(i for i, t in held.items() if t in tokens[1:])
    assert mine and others
    processes[0].leave()
    freed: list[int] = []
    assert eventually(lambda: freed.extend(claim(database, tokens[1], limit=1000)) or freed)
    assert sorted(freed) == mine
    for presence in processes[1:]:
        presence.leave()
    database.dispose()


def test_one_process_leads_a_singleton_until_it_leaves(postgres_url: str) -> None:
    database = Database(postgres_url)
    first, second = Presence(database), Presence(database)
    assert first.lead("job") and first.lead("job")
    assert not second.lead("job")
    assert second.lead("other job")
    first.leave()
    # The server ends the session's locks once it sees the connection close: a bounded wait.
    assert eventually(lambda: second.lead("job"))
    second.leave()
    database.dispose()
