"""The persistent offline queue: order, durability across restarts (and kill -9), the drain's
rate limit, CALLERROR retries and drops, transport errors, provisional-id rewrites. Every test
runs on SQLite and, when one answers, on PostgreSQL in a throw-away schema."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from store.databases import find_postgres, fresh_schema
from voltlab.fleet.driver.link import NotConnected
from voltlab.fleet.driver.offline_queue import (
    MessageDropped,
    MessageNotQueued,
    OfflineQueue,
    QueuedMessage,
)
from voltlab.fleet.driver.offline_queue_store import QueueStore
from voltlab.ocpp.errors import CallErrorReceived, CallTimeout, ConnectionLost, OcppError
from voltlab.store.db import Database

PROVISIONAL_ID = -1  # the transactionId a 1.6 station uses until the CSMS assigns one


POSTGRES_URL = find_postgres()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty store; each test may open several `Database`s on it (restarts)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    if POSTGRES_URL is None:
        pytest.skip("no PostgreSQL reachable (set VOLTLAB_TEST_POSTGRES_URL)")
    with fresh_schema(POSTGRES_URL, prefix="q_") as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.migrate()  # the queue table is in the migrations like every other
    yield db
    db.dispose()


@pytest.fixture
def store(database: Database) -> QueueStore:
    return QueueStore(database)


@pytest.fixture
def queue(store: QueueStore) -> OfflineQueue:
    return OfflineQueue(store, "dep-station-1")


class FakeClock:
    """Simulated time: `sleep` records the request and advances `now`, never really sleeps."""

    def __init__(self) -> None:
        self.current = 1_000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += seconds


class ScriptedCsms:
    """Answers CALLs from a script of outcomes (an answer dict, or an exception to raise),
    then with `default`; records every CALL it received, failed or not."""

    def __init__(
        self,
        script: list[dict[str, Any] | Exception] | None = None,
        default: dict[str, Any] | None = None,
        clock: FakeClock | None = None,
        round_trip: float = 0.0,
    ) -> None:
        self.script = list(script or [])
        self.default = default if default is not None else {}
        self.clock = clock
        self.round_trip = round_trip
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.sent_at: list[float] = []

    async def send(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.received.append((action, payload))
        if self.clock is not None:
            self.sent_at.append(self.clock.now())
            self.clock.current += self.round_trip  # the exchange takes simulated time
        outcome = self.script.pop(0) if self.script else self.default
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def fill(queue: OfflineQueue, count: int, action: str = "MeterValues") -> list[int]:
    return [await queue.enqueue(action, {"n": n}) for n in range(count)]


# -- primitives and order -----------------------------------------------------------------------


async def test_enqueue_peek_ack_keep_order(queue: OfflineQueue) -> None:
    seqs = await fill(queue, 3)
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert await queue.pending() == 3
    first = await queue.peek()
    assert first is not None
    assert (first.seq, first.action, first.payload) == (seqs[0], "MeterValues", {"n": 0})
    assert first.attempts == 0
    assert first.created_at.tzinfo is not None
    await queue.ack(seqs[0])
    second = await queue.peek()
    assert second is not None and second.payload == {"n": 1}
    await queue.drop(seqs[1])
    assert [m.payload for m in await queue.messages()] == [{"n": 2}]
    await queue.ack(seqs[2])
    assert await queue.peek() is None
    assert await queue.pending() == 0


async def test_seq_keeps_increasing_after_the_queue_empties(queue: OfflineQueue) -> None:
    first = await queue.enqueue("StartTransaction", {"connectorId": 1})
    await queue.ack(first)
    second = await queue.enqueue("StopTransaction", {"transactionId": 1})
    assert second > first
    await queue.ack(first)  # a stale ack must not remove the newer message
    assert await queue.pending() == 1


async def test_payload_is_copied_on_enqueue(queue: OfflineQueue) -> None:
    payload = {"meterValue": [{"sampledValue": [{"value": "1"}]}]}
    await queue.enqueue("MeterValues", payload)
    payload["meterValue"][0]["sampledValue"][0]["value"] = "changed"
    message = await queue.peek()
    assert message is not None
    assert message.payload["meterValue"][0]["sampledValue"][0]["value"] == "1"


async def test_queues_of_different_chargers_are_separate(store: QueueStore) -> None:
    one, two = OfflineQueue(store, "dep-a"), OfflineQueue(store, "dep-b")
    await one.enqueue("StartTransaction", {"who": "a"})
    await two.enqueue("StartTransaction", {"who": "b"})
    await two.enqueue("StopTransaction", {"who": "b"})
    assert await one.pending() == 1 and await two.pending() == 2
    assert await one.clear() == 1
    assert await one.pending() == 0 and await two.pending() == 2


async def test_backlog_known_from_one_read_and_every_later_enqueue(
    database: Database,
) -> None:
    """A fleet's boot asks once which chargers have queued rows; an enqueue after that read
    still counts, and a charger that never queued anything is known empty without a query."""
    await OfflineQueue(QueueStore(database), "dep-with-rows").enqueue("MeterValues", {"n": 0})
    store = QueueStore(database)  # a restarted process: nothing known yet
    assert await OfflineQueue(store, "dep-with-rows").may_have_backlog() is True
    assert await OfflineQueue(store, "dep-empty").may_have_backlog() is False
    later = OfflineQueue(store, "dep-later")
    assert await later.may_have_backlog() is False
    await later.enqueue("StopTransaction", {"n": 1})
    assert await later.may_have_backlog() is True
    assert await later.pending() == 1


async def test_fail_counts_attempts_and_unknown_seq_raises(queue: OfflineQueue) -> None:
    seq = await queue.enqueue("StopTransaction", {"transactionId": 5})
    assert await queue.fail(seq, "CALLERROR InternalError") == 1
    assert await queue.fail(seq, "CALLERROR InternalError: again") == 2
    message = await queue.peek()
    assert message is not None
    assert (message.attempts, message.last_error) == (2, "CALLERROR InternalError: again")
    with pytest.raises(MessageNotQueued):
        await queue.fail(seq + 100, "nothing there")
    await queue.ack(seq + 100)  # no-op, not an error


async def test_concurrent_enqueues_share_commits_and_keep_per_charger_order(
    database: Database, store: QueueStore
) -> None:
    commits: list[int] = []
    event.listen(database.engine, "commit", lambda _connection: commits.append(1))
    queues = [OfflineQueue(store, f"dep-{n}") for n in range(20)]

    async def station(queue: OfflineQueue) -> list[int]:
        return [await queue.enqueue("MeterValues", {"n": n}) for n in range(5)]

    results = await asyncio.gather(*(station(queue) for queue in queues))
    for queue, seqs in zip(queues, results, strict=True):
        assert seqs == sorted(seqs)
        assert [m.payload["n"] for m in await queue.messages()] == list(range(5))
    # 100 durable writes; a group commit needs far fewer transactions than that.
    assert len(commits) < 100 / 2


# -- restarts -----------------------------------------------------------------------------------


async def test_queue_survives_a_restart(database_url: str) -> None:
    before = Database(database_url)
    before.migrate()
    queue = OfflineQueue.open(before, "dep-station-1")
    seqs = await fill(queue, 4)
    await queue.ack(seqs[0])
    await queue.fail(seqs[1], "CALLERROR InternalError")
    before.dispose()

    after = Database(database_url)  # a new process: new engine, new queue object
    try:
        reopened = OfflineQueue.open(after, "dep-station-1")
        messages = await reopened.messages()
        assert [m.seq for m in messages] == seqs[1:]
        assert [m.payload["n"] for m in messages] == [1, 2, 3]
        assert (messages[0].attempts, messages[0].last_error) == (1, "CALLERROR InternalError")
        newer = await reopened.enqueue("StopTransaction", {"n": 4})
        assert newer > seqs[-1]
        csms = ScriptedCsms()
        clock = FakeClock()
        delivered = await reopened.drain(
            csms.send, max_per_second=100, attempts=3, retry_interval=0, clock_sleep=clock.sleep
        )
        assert delivered == 4
        assert [payload["n"] for _, payload in csms.received] == [1, 2, 3, 4]
    finally:
        after.dispose()


def test_enqueued_messages_survive_kill_9(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    child = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys
        from voltlab.fleet.driver.offline_queue import OfflineQueue
        from voltlab.store.db import Database

        async def main() -> None:
            database = Database({url!r})
            database.migrate()
            queue = OfflineQueue.open(database, "dep-killed")
            for n in range(25):
                seq = await queue.enqueue("MeterValues", {{"n": n}})
                print(seq, flush=True)  # the station now considers message n sent
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    acknowledged = [int(line) for line in result.stdout.split()]
    assert len(acknowledged) == 25

    database = Database(url)
    try:
        messages = asyncio.run(OfflineQueue.open(database, "dep-killed").messages())
    finally:
        database.dispose()
    assert [m.seq for m in messages] == acknowledged
    assert [m.payload["n"] for m in messages] == list(range(25))


# -- drain: order and rate ----------------------------------------------------------------------


async def test_drain_delivers_in_order_and_reports_answers(queue: OfflineQueue) -> None:
    await fill(queue, 3)
    csms = ScriptedCsms(default={"status": "ok"})
    results: list[tuple[int, dict[str, Any] | None, Exception | None]] = []

    async def on_result(
        message: QueuedMessage, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        results.append((message.payload["n"], answer, error))

    delivered = await queue.drain(
        csms.send,
        max_per_second=10,
        attempts=3,
        retry_interval=60,
        clock_sleep=FakeClock().sleep,
        on_result=on_result,
    )
    assert delivered == 3
    assert [payload["n"] for _, payload in csms.received] == [0, 1, 2]
    assert results == [(n, {"status": "ok"}, None) for n in range(3)]
    assert await queue.pending() == 0


async def test_messages_enqueued_during_a_drain_follow_in_order(queue: OfflineQueue) -> None:
    await fill(queue, 2)
    csms = ScriptedCsms()
    produced = iter(range(2, 4))

    async def send(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        # The station keeps producing (a meter sample) while the backlog goes out.
        n = next(produced, None)
        if n is not None:
            await queue.enqueue("MeterValues", {"n": n})
        return await csms.send(action, payload)

    delivered = await queue.drain(
        send, max_per_second=100, attempts=3, retry_interval=0, clock_sleep=FakeClock().sleep
    )
    assert delivered == 4
    assert [payload["n"] for _, payload in csms.received] == [0, 1, 2, 3]


async def test_rate_limit_spaces_sends_without_a_clock(queue: OfflineQueue) -> None:
    await fill(queue, 5)
    clock = FakeClock()
    await queue.drain(
        ScriptedCsms().send,
        max_per_second=2,
        attempts=3,
        retry_interval=60,
        clock_sleep=clock.sleep,
    )
    # The first message goes at once, every next one a full 1/2 s later.
    assert clock.sleeps == [0.5, 0.5, 0.5, 0.5]


async def test_rate_limit_counts_the_round_trip_with_a_clock(queue: OfflineQueue) -> None:
    await fill(queue, 4)
    clock = FakeClock()
    csms = ScriptedCsms(clock=clock, round_trip=0.3)
    await queue.drain(
        csms.send,
        max_per_second=2,
        attempts=3,
        retry_interval=60,
        clock_sleep=clock.sleep,
        clock_now=clock.now,
    )
    assert clock.sleeps == pytest.approx([0.2, 0.2, 0.2])
    gaps = [later - earlier for earlier, later in zip(csms.sent_at, csms.sent_at[1:], strict=False)]
    assert all(gap >= 0.5 - 1e-9 for gap in gaps)


async def test_slow_round_trips_need_no_extra_sleep(queue: OfflineQueue) -> None:
    await fill(queue, 3)
    clock = FakeClock()
    csms = ScriptedCsms(clock=clock, round_trip=2.0)
    await queue.drain(
        csms.send,
        max_per_second=1,
        attempts=3,
        retry_interval=60,
        clock_sleep=clock.sleep,
        clock_now=clock.now,
    )
    assert clock.sleeps == []


async def test_rate_must_be_positive(queue: OfflineQueue) -> None:
    with pytest.raises(ValueError):
        await queue.drain(
            ScriptedCsms().send,
            max_per_second=0,
            attempts=3,
            retry_interval=1,
            clock_sleep=FakeClock().sleep,
        )


async def test_concurrent_drains_never_send_a_message_twice(queue: OfflineQueue) -> None:
    await fill(queue, 6)
    csms = ScriptedCsms()

    async def slow_send(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)  # let the other drain run if it could
        return await csms.send(action, payload)

    async def drain() -> int:
        return await queue.drain(
            slow_send,
            max_per_second=1000,
            attempts=3,
            retry_interval=0,
            clock_sleep=FakeClock().sleep,
        )

    counts = await asyncio.gather(drain(), drain())
    assert sorted(counts) == [0, 6]
    assert [payload["n"] for _, payload in csms.received] == list(range(6))


# -- drain: CALLERROR and transport errors ------------------------------------------------------


async def test_callerror_is_retried_then_dropped(
    queue: OfflineQueue, caplog: pytest.LogCaptureFixture
) -> None:
    await queue.enqueue("StopTransaction", {"n": 0})
    await queue.enqueue("StopTransaction", {"n": 1})
    refusal = CallErrorReceived("InternalError", "cannot process")
    csms = ScriptedCsms(script=[refusal, refusal, refusal])
    clock = FakeClock()
    results: list[tuple[int, dict[str, Any] | None, Exception | None]] = []

    async def on_result(
        message: QueuedMessage, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        results.append((message.payload["n"], answer, error))

    with caplog.at_level(logging.WARNING, logger="voltlab.fleet.driver.offline_queue"):
        delivered = await queue.drain(
            csms.send,
            max_per_second=1,
            attempts=3,
            retry_interval=10,
            clock_sleep=clock.sleep,
            on_result=on_result,
        )
    assert delivered == 1
    assert [payload["n"] for _, payload in csms.received] == [0, 0, 0, 1]
    # Retry waits grow with the transmissions so far (OCPP); the rate gap precedes message 1.
    assert clock.sleeps == [10, 20, 1]
    assert results[0] == (0, None, refusal)
    assert results[1] == (1, {}, None)
    assert "dropping queued StopTransaction" in caplog.text
    assert await queue.pending() == 0


async def test_callerror_then_success_delivers(queue: OfflineQueue) -> None:
    await queue.enqueue("StartTransaction", {"n": 0})
    csms = ScriptedCsms(script=[CallErrorReceived("InternalError"), {"transactionId": 7}])
    clock = FakeClock()
    delivered = await queue.drain(
        csms.send, max_per_second=5, attempts=3, retry_interval=30, clock_sleep=clock.sleep
    )
    assert delivered == 1
    assert clock.sleeps == [30]
    assert await queue.pending() == 0


async def test_invalid_exchange_counts_as_an_attempt(queue: OfflineQueue) -> None:
    await queue.enqueue("MeterValues", {"n": 0})
    csms = ScriptedCsms(script=[OcppError("FormatViolation", "bad response")])
    delivered = await queue.drain(
        csms.send, max_per_second=5, attempts=1, retry_interval=30, clock_sleep=FakeClock().sleep
    )
    assert delivered == 0
    assert len(csms.received) == 1
    assert await queue.pending() == 0


@pytest.mark.parametrize(
    "transport_error",
    [ConnectionLost("socket closed"), NotConnected("offline"), CallTimeout("no answer")],
    ids=["ConnectionLost", "NotConnected", "CallTimeout"],
)
async def test_transport_error_stops_and_keeps_the_message(
    queue: OfflineQueue, transport_error: Exception
) -> None:
    await fill(queue, 3)
    csms = ScriptedCsms(script=[{}, transport_error])
    clock = FakeClock()
    delivered = await queue.drain(
        csms.send, max_per_second=100, attempts=3, retry_interval=60, clock_sleep=clock.sleep
    )
    assert delivered == 1
    assert len(csms.received) == 2  # stopped at the failure, did not go on to message 2
    kept = await queue.messages()
    assert [m.payload["n"] for m in kept] == [1, 2]
    assert kept[0].attempts == 0  # a lost connection is not the message's fault

    # After the reconnect the queue picks up where it stopped.
    delivered = await queue.drain(
        csms.send, max_per_second=100, attempts=3, retry_interval=60, clock_sleep=clock.sleep
    )
    assert delivered == 2
    assert [payload["n"] for _, payload in csms.received] == [0, 1, 1, 2]


async def test_retry_wait_and_attempts_carry_over_to_the_next_drain(
    queue: OfflineQueue,
) -> None:
    await queue.enqueue("StopTransaction", {"n": 0})
    csms = ScriptedCsms(script=[CallErrorReceived("InternalError"), ConnectionLost("gone")])
    clock = FakeClock()
    await queue.drain(
        csms.send, max_per_second=100, attempts=3, retry_interval=10, clock_sleep=clock.sleep
    )
    assert clock.sleeps == [10]
    message = await queue.peek()
    assert message is not None and message.attempts == 1

    # Reconnected: the message still owes its retry wait, and its third failure drops it.
    refusal = CallErrorReceived("InternalError")
    csms.script = [refusal, refusal]
    clock.sleeps.clear()
    await queue.drain(
        csms.send, max_per_second=100, attempts=3, retry_interval=10, clock_sleep=clock.sleep
    )
    assert clock.sleeps == [10, 20]
    assert await queue.pending() == 0


async def test_message_out_of_attempts_is_dropped_without_sending(queue: OfflineQueue) -> None:
    seq = await queue.enqueue("StopTransaction", {"n": 0})
    await queue.enqueue("StopTransaction", {"n": 1})
    for _ in range(3):  # e.g. a crash between the last CALLERROR and the drop
        await queue.fail(seq, "CALLERROR InternalError")
    csms = ScriptedCsms()
    dropped: list[Exception | None] = []

    async def on_result(
        message: QueuedMessage, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        if answer is None:
            dropped.append(error)

    delivered = await queue.drain(
        csms.send,
        max_per_second=100,
        attempts=3,
        retry_interval=10,
        clock_sleep=FakeClock().sleep,
        on_result=on_result,
    )
    assert delivered == 1
    assert [payload["n"] for _, payload in csms.received] == [1]
    assert len(dropped) == 1 and isinstance(dropped[0], MessageDropped)


async def test_failing_on_result_does_not_resend(queue: OfflineQueue) -> None:
    await fill(queue, 2)
    csms = ScriptedCsms()

    async def on_result(
        message: QueuedMessage, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        raise RuntimeError("caller bug")

    delivered = await queue.drain(
        csms.send,
        max_per_second=100,
        attempts=3,
        retry_interval=0,
        clock_sleep=FakeClock().sleep,
        on_result=on_result,
    )
    assert delivered == 2
    assert len(csms.received) == 2
    assert await queue.pending() == 0


# -- rewrite of provisional transaction ids -----------------------------------------------------


def _carries(transaction_id: int) -> Any:
    def predicate(message: QueuedMessage) -> bool:
        return message.payload.get("transactionId") == transaction_id

    return predicate


def _set_transaction_id(transaction_id: int) -> Any:
    def transform(message: QueuedMessage) -> dict[str, Any]:
        payload = message.payload
        payload["transactionId"] = transaction_id  # in place: transform gets a copy
        return payload

    return transform


async def test_rewrite_updates_only_selected_payloads(store: QueueStore) -> None:
    queue, other = OfflineQueue(store, "dep-a"), OfflineQueue(store, "dep-b")
    await queue.enqueue("MeterValues", {"connectorId": 1, "transactionId": PROVISIONAL_ID})
    await queue.enqueue("MeterValues", {"connectorId": 2, "transactionId": 99})
    await queue.enqueue("StopTransaction", {"transactionId": PROVISIONAL_ID, "meterStop": 10})
    await other.enqueue("StopTransaction", {"transactionId": PROVISIONAL_ID})

    changed = await queue.rewrite(_carries(PROVISIONAL_ID), _set_transaction_id(1234))
    assert changed == 2
    assert [m.payload.get("transactionId") for m in await queue.messages()] == [1234, 99, 1234]
    assert (await queue.messages())[2].payload["meterStop"] == 10
    assert [m.payload["transactionId"] for m in await other.messages()] == [PROVISIONAL_ID]
    assert await queue.rewrite(_carries(PROVISIONAL_ID), _set_transaction_id(1)) == 0


async def test_start_answer_rewrites_the_queued_followers(queue: OfflineQueue) -> None:
    await queue.enqueue("StartTransaction", {"connectorId": 1, "idTag": "TAG", "meterStart": 0})
    await queue.enqueue("MeterValues", {"connectorId": 1, "transactionId": PROVISIONAL_ID})
    await queue.enqueue("StopTransaction", {"transactionId": PROVISIONAL_ID, "meterStop": 500})
    csms = ScriptedCsms(
        script=[{"transactionId": 4711, "idTagInfo": {"status": "Accepted"}}, {}, {}]
    )
    left_after_rewrite: list[list[str]] = []

    async def on_result(
        message: QueuedMessage, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        if message.action == "StartTransaction" and answer is not None:
            await queue.rewrite(
                _carries(PROVISIONAL_ID), _set_transaction_id(answer["transactionId"])
            )
            # The answered StartTransaction left the queue with the rewrite, atomically.
            left_after_rewrite.append([m.action for m in await queue.messages()])

    delivered = await queue.drain(
        csms.send,
        max_per_second=100,
        attempts=3,
        retry_interval=0,
        clock_sleep=FakeClock().sleep,
        on_result=on_result,
    )
    assert delivered == 3
    assert left_after_rewrite == [["MeterValues", "StopTransaction"]]
    assert [payload.get("transactionId") for _, payload in csms.received] == [None, 4711, 4711]
    assert await queue.pending() == 0
