"""The persistent queue of a station's transaction-related messages (OCPP offline behaviour).

While a station has no CSMS connection, its transaction-related messages (1.6 StartTransaction,
StopTransaction and transaction MeterValues; 2.x TransactionEvent with offline=true) must not be
lost. The station enqueues them here instead of sending; `enqueue` returns only once the row is
committed, so a message the station considers "sent" survives a process kill. After the
reconnect, `drain` delivers them in order, one at a time and at a bounded rate, applying
TransactionMessageAttempts / TransactionMessageRetryInterval to messages the CSMS answers with a
CALLERROR.

Delivery is at-least-once: the row is deleted only after the CSMS answered, so a crash between
the answer and the delete sends the message again after the restart.

Durability: on SQLite the store runs in WAL mode with synchronous=NORMAL, which keeps every
committed row across a killed process (kill -9); only an operating-system crash or power loss
can lose the last commits. On PostgreSQL a commit is durable outright.

Writes from all the queues of one `QueueStore` share a group commit (`offline_queue_store`).

One process hosts a given charger at a time (docs/api.md, Several processes); the per-charger
sequence counter relies on that, and the unique (charger_id, seq) index makes a violation fail
loudly instead of reordering messages.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.fleet.driver.link import NotConnected
from voltlab.fleet.driver.offline_queue_store import QueueStore
from voltlab.ocpp.errors import CallErrorReceived, CallTimeout, ConnectionLost, OcppError
from voltlab.store.db import Database
from voltlab.store.queue_models import QueuedMessageRecord

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

# The message did not get through (or its fate is unknown): keep it, stop, retry after the
# next reconnect. A timeout counts here: per OCPP a "failure to process" is a CALLERROR, and an
# unanswered CALL most likely means the connection is dying.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (NotConnected, ConnectionLost, CallTimeout)
# The CSMS (or the exchange itself) rejected this message: count an attempt, retry it after the
# retry interval, drop it after `attempts`. OcppError is an invalid request or response; it is
# bounded by the attempts too, so one malformed message cannot block the queue forever.
MESSAGE_ERRORS: tuple[type[Exception], ...] = (CallErrorReceived, OcppError)

MAX_ERROR_TEXT = 1000  # characters of an error kept in `last_error`

SendFunction = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
SleepFunction = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class QueuedMessage:
    """A snapshot of one queued message, detached from any database session."""

    charger_id: str
    seq: int
    action: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    last_error: str | None


ResultCallback = Callable[[QueuedMessage, dict[str, Any] | None, Exception | None], Awaitable[None]]
MessagePredicate = Callable[[QueuedMessage], bool]
PayloadTransform = Callable[[QueuedMessage], dict[str, Any]]


class MessageNotQueued(LookupError):
    """The charger has no queued message with this sequence number."""


class MessageDropped(Exception):
    """Passed to `on_result` for a message dropped without being sent again: it had already
    used up its attempts (a crash between the last CALLERROR and the drop, or a lowered
    TransactionMessageAttempts)."""


# -- one charger's queue -----------------------------------------------------------------------


class OfflineQueue:
    """The ordered, persistent queue of one charger's transaction-related messages."""

    def __init__(self, store: QueueStore, charger_id: str) -> None:
        self.store = store
        self.charger_id = charger_id
        self._drain_lock = asyncio.Lock()
        # The message whose CALLRESULT `drain` is handing to `on_result`; a `rewrite` made
        # meanwhile deletes it in its own transaction (see `rewrite`).
        self._settling_seq: int | None = None

    @classmethod
    def open(cls, database: Database, charger_id: str) -> OfflineQueue:
        """A queue with a store of its own (tests, tools); a fleet shares one `QueueStore`."""
        return cls(QueueStore(database), charger_id)

    @property
    def draining(self) -> bool:
        return self._drain_lock.locked()

    # -- primitives -------------------------------------------------------------------------

    async def enqueue(self, action: str, payload: dict[str, Any]) -> int:
        """Append a message; returns its seq once the row is committed."""
        charger_id = self.charger_id
        # A copy: the caller may reuse or mutate its dict after the await.
        row_payload = copy.deepcopy(payload)

        def insert_row(session: Session) -> int:
            seq = self.store.next_seq(session, charger_id)
            session.add(
                QueuedMessageRecord(
                    charger_id=charger_id,
                    seq=seq,
                    action=action,
                    payload=row_payload,
                    created_at=wall_now(),
                    attempts=0,
                )
            )
            return seq

        self.store.noted_enqueue(charger_id)
        return await self.store.write(insert_row)

    async def peek(self) -> QueuedMessage | None:
        """The oldest queued message, or None when the queue is empty."""
        charger_id = self.charger_id

        def first(session: Session) -> QueuedMessage | None:
            record = session.scalar(
                select(QueuedMessageRecord)
                .where(QueuedMessageRecord.charger_id == charger_id)
                .order_by(QueuedMessageRecord.seq)
                .limit(1)
            )
            return None if record is None else _snapshot(record)

        return await self.store.read(first)

    async def messages(self) -> list[QueuedMessage]:
        """Every queued message in order (inspection, live state)."""
        charger_id = self.charger_id

        def all_rows(session: Session) -> list[QueuedMessage]:
            records = session.scalars(
                select(QueuedMessageRecord)
                .where(QueuedMessageRecord.charger_id == charger_id)
                .order_by(QueuedMessageRecord.seq)
            )
            return [_snapshot(record) for record in records]

        return await self.store.read(all_rows)

    async def may_have_backlog(self) -> bool:
        return await self.store.may_have_backlog(self.charger_id)

    async def pending(self) -> int:
        charger_id = self.charger_id

        def count(session: Session) -> int:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(QueuedMessageRecord)
                    .where(QueuedMessageRecord.charger_id == charger_id)
                )
                or 0
            )

        return await self.store.read(count)

    async def ack(self, seq: int) -> None:
        """The CSMS answered the message: remove it. Acking an absent seq is a no-op, so a
        repeated ack (after a retry or a restart) is harmless."""
        await self.store.write(self._deleter(seq))

    async def drop(self, seq: int) -> None:
        """Give up on the message: remove it without delivery. No-op for an absent seq."""
        await self.store.write(self._deleter(seq))

    async def clear(self) -> int:
        """Remove every queued message of the charger (the charger is being deleted)."""
        charger_id = self.charger_id

        def delete_all(session: Session) -> int:
            result = session.execute(
                delete(QueuedMessageRecord).where(QueuedMessageRecord.charger_id == charger_id)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

        return await self.store.write(delete_all)

    async def fail(self, seq: int, error: str) -> int:
        """Record a failed attempt (a CALLERROR); returns the attempts made so far."""
        charger_id = self.charger_id
        error_text = error[:MAX_ERROR_TEXT]

        def count_attempt(session: Session) -> int | None:
            record = session.scalar(_select_one(charger_id, seq))
            if record is None:
                return None  # reported outside, so the rest of the batch still commits
            record.attempts += 1
            record.last_error = error_text
            return int(record.attempts)

        attempts = await self.store.write(count_attempt)
        if attempts is None:
            raise MessageNotQueued(f"{charger_id} has no queued message {seq}")
        return attempts

    async def rewrite(self, predicate: MessagePredicate, transform: PayloadTransform) -> int:
        """Replace the payload of every queued message `predicate` selects by `transform`'s
        result, in one transaction; returns how many payloads changed.

        Made for the 1.6 provisional transactionId: once the CSMS answers a queued
        StartTransaction, the later StopTransaction / MeterValues must carry its id. Both
        callables run in a worker thread and must be pure. `transform` gets a copy of the
        payload, so it may edit it in place and return it.

        Called from `drain`'s `on_result`, this also deletes the message being settled in the
        same transaction, so a crash can never leave the answered StartTransaction queued with
        its followers already rewritten (or the reverse).
        """
        charger_id = self.charger_id
        settled_seq, self._settling_seq = self._settling_seq, None

        def rewrite_rows(session: Session) -> int:
            if settled_seq is not None:
                session.execute(_delete_one(charger_id, settled_seq))
            records = session.scalars(
                select(QueuedMessageRecord)
                .where(QueuedMessageRecord.charger_id == charger_id)
                .order_by(QueuedMessageRecord.seq)
            )
            changed = 0
            for record in records:
                message = _snapshot(record)
                if not predicate(message):
                    continue
                new_payload = transform(message)
                if new_payload != record.payload:
                    # A new object, so the JSON column is seen as changed.
                    record.payload = copy.deepcopy(new_payload)
                    changed += 1
            return changed

        try:
            return await self.store.write(rewrite_rows)
        except BaseException:
            if settled_seq is not None and self._settling_seq is None:
                self._settling_seq = settled_seq  # not deleted: drain acks it afterwards
            raise

    def _deleter(self, seq: int) -> Callable[[Session], None]:
        charger_id = self.charger_id

        def delete_row(session: Session) -> None:
            session.execute(_delete_one(charger_id, seq))

        return delete_row

    # -- delivery ---------------------------------------------------------------------------

    async def drain(
        self,
        send: SendFunction,
        *,
        max_per_second: float,
        attempts: int,
        retry_interval: float,
        clock_sleep: SleepFunction,
        on_result: ResultCallback | None = None,
        clock_now: Callable[[], float] | None = None,
    ) -> int:
        """Deliver the queue in order; returns how many messages the CSMS accepted.

        - One message at a time; sends start at least 1/max_per_second apart, so a reconnect
          does not flood the CSMS. With `clock_now` (the clock `clock_sleep` sleeps on), the
          time a send took counts towards that gap; without it the full gap is slept.
        - A transport error (NotConnected, ConnectionLost, CallTimeout) stops the drain and
          keeps the message for the next one.
        - A CALLERROR (or an invalid exchange) counts an attempt. The message is sent again
          after retry_interval x the attempts so far (OCPP: TransactionMessageRetryInterval
          multiplied by the preceding transmissions) until `attempts` transmissions failed;
          then it is dropped, logged, and the queue moves on.
        - `on_result(message, answer, None)` follows each accepted message, before it leaves
          the queue; `on_result(message, None, error)` follows each drop. A `rewrite` made from
          `on_result` removes the accepted message in the same transaction.

        Concurrent drains of one queue run one after the other, never interleaved.
        """
        if not max_per_second > 0:
            raise ValueError("max_per_second must be > 0")
        gap = 0.0 if math.isinf(max_per_second) else 1.0 / max_per_second
        max_attempts = max(1, attempts)  # a message is always sent at least once
        retry_interval = max(0.0, retry_interval)
        delivered = 0
        async with self._drain_lock:
            last_send_at: float | None = None
            while True:
                message = await self.peek()
                if message is None:
                    return delivered
                if message.attempts >= max_attempts:
                    used_up = MessageDropped(message.last_error or "attempts used up")
                    await self._give_up(message, used_up)
                    await _report(on_result, message, None, used_up)
                    continue
                delay = self._delay_before(message, last_send_at, gap, retry_interval, clock_now)
                if delay > 0:
                    await clock_sleep(delay)
                last_send_at = clock_now() if clock_now is not None else 0.0
                try:
                    answer = await send(message.action, message.payload)
                except TRANSPORT_ERRORS as exc:
                    log.info(
                        "%s: offline queue paused at %s #%d after %d delivered: %s",
                        self.charger_id,
                        message.action,
                        message.seq,
                        delivered,
                        _describe(exc),
                    )
                    return delivered
                except MESSAGE_ERRORS as exc:
                    made = await self.fail(message.seq, _describe(exc))
                    if made >= max_attempts:
                        failed = _with_attempts(message, made, _describe(exc))
                        await self._give_up(failed, exc)
                        await _report(on_result, failed, None, exc)
                    continue
                delivered += 1
                await self._settle(message, answer, on_result)

    def _delay_before(
        self,
        message: QueuedMessage,
        last_send_at: float | None,
        gap: float,
        retry_interval: float,
        clock_now: Callable[[], float] | None,
    ) -> float:
        """One sleep before a send covers both the rate limit and the retry interval."""
        delay = 0.0
        if last_send_at is not None:  # the first send of a drain goes at once
            elapsed = clock_now() - last_send_at if clock_now is not None else 0.0
            delay = max(0.0, gap - elapsed)
        if message.attempts > 0:
            # Also after a restart or reconnect: the retry waits are part of the message's
            # history, not of this drain's.
            delay = max(delay, retry_interval * message.attempts)
        return delay

    async def _settle(
        self, message: QueuedMessage, answer: dict[str, Any], on_result: ResultCallback | None
    ) -> None:
        """Hand the answer to `on_result`, then take the message off the queue (unless a
        `rewrite` in `on_result` already did, atomically with its payload changes)."""
        self._settling_seq = message.seq
        try:
            await _report(on_result, message, answer, None)
        finally:
            settled_seq, self._settling_seq = self._settling_seq, None
            if settled_seq is not None:
                await self.ack(settled_seq)

    async def _give_up(self, message: QueuedMessage, error: Exception) -> None:
        log.warning(
            "%s: dropping queued %s #%d after %d failed attempts: %s",
            self.charger_id,
            message.action,
            message.seq,
            message.attempts,
            _describe(error),
        )
        await self.drop(message.seq)


# -- helpers -----------------------------------------------------------------------------------


def _select_one(charger_id: str, seq: int) -> Any:
    return select(QueuedMessageRecord).where(
        QueuedMessageRecord.charger_id == charger_id, QueuedMessageRecord.seq == seq
    )


def _delete_one(charger_id: str, seq: int) -> Any:
    return delete(QueuedMessageRecord).where(
        QueuedMessageRecord.charger_id == charger_id, QueuedMessageRecord.seq == seq
    )


def _snapshot(record: QueuedMessageRecord) -> QueuedMessage:
    created_at = record.created_at
    if created_at.tzinfo is None:  # SQLite hands datetimes back without their zone
        created_at = created_at.replace(tzinfo=UTC)
    return QueuedMessage(
        charger_id=record.charger_id,
        seq=record.seq,
        action=record.action,
        payload=copy.deepcopy(record.payload),
        created_at=created_at,
        attempts=record.attempts,
        last_error=record.last_error,
    )


def _with_attempts(message: QueuedMessage, attempts: int, error: str) -> QueuedMessage:
    return QueuedMessage(
        charger_id=message.charger_id,
        seq=message.seq,
        action=message.action,
        payload=message.payload,
        created_at=message.created_at,
        attempts=attempts,
        last_error=error,
    )


async def _report(
    on_result: ResultCallback | None,
    message: QueuedMessage,
    answer: dict[str, Any] | None,
    error: Exception | None,
) -> None:
    if on_result is None:
        return
    try:
        await on_result(message, answer, error)
    except Exception:  # noqa: BLE001 - the CSMS has answered; a broken callback must not resend
        log.exception("offline queue on_result failed for %s #%d", message.action, message.seq)


def _describe(error: Exception) -> str:
    if isinstance(error, CallErrorReceived):
        text = f"CALLERROR {error.code}"
        return f"{text}: {error.description}" if error.description else text
    if isinstance(error, OcppError):
        return f"{error.code}: {error.description}" if error.description else error.code
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
