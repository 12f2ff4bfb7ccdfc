"""The parts of a running station that deal with time away from the CSMS: transaction
messages queued while offline and drained in order, what the queue holds per transaction
(told to the machine as `QueueChanged`, for GetTransactionStatus), and the offline start
rule. `StationRunner` mixes this in."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from voltlab.fleet.driver.link import NotConnected
from voltlab.fleet.driver.offline_queue import QueuedMessage
from voltlab.fleet.machine.events import QueueChanged
from voltlab.fleet.machine.flows.sessions import may_start_offline
from voltlab.ocpp.errors import CallTimeout, ConnectionLost

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner


def announces_start_or_end(action: str, payload: dict[str, Any]) -> bool:
    if action in ("StartTransaction", "StopTransaction"):
        return True
    return action == "TransactionEvent" and payload.get("eventType") in ("Started", "Ended")


class QueuedTransactions:
    """How many messages the offline queue holds per transaction (None: messages of no
    transaction), kept as the runner enqueues and the drain delivers or drops them."""

    def __init__(self) -> None:
        self._counts: Counter[str | None] = Counter()

    def load(self, transactions: Iterable[str | None]) -> None:
        self._counts = Counter(transactions)

    def add(self, transaction: str | None) -> None:
        self._counts[transaction] += 1

    def remove(self, transaction: str | None) -> None:
        if self._counts[transaction] > 1:
            self._counts[transaction] -= 1
        else:
            self._counts.pop(transaction, None)

    def rename(self, old: str, new: str) -> None:
        """A 1.6 StartTransaction's provisional id became the CSMS's id."""
        moved = self._counts.pop(old, 0)
        if moved:
            self._counts[new] += moved

    def event(self) -> QueueChanged:
        ids = frozenset(key for key in self._counts if key is not None)
        return QueueChanged(sum(self._counts.values()), ids)


class OfflineMessages:
    queued_transactions: QueuedTransactions
    _draining: asyncio.Task[Any] | None
    _queue_empty: bool | None  # None: not counted yet

    def may_start_offline(self: StationRunner, id_tag: str) -> bool:
        return may_start_offline(self.machine.context, id_tag)

    # -- transaction messages: delivered in order, queued while offline ------------------------

    async def transaction_message(
        self: StationRunner,
        action: str,
        payload: dict[str, Any],
        offline_variant: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any] | None:
        """Send a transaction message, or queue it (persistently) when the CSMS is not
        reachable or older messages are still waiting: None means queued. The state behind a
        transaction's start or end is stored before the message leaves (write-ahead)."""
        # The write-ahead runs when the CALL has its turn on the connection, right before
        # its frame: not a round trip of another CALL earlier.
        ahead = self.write_ahead if announces_start_or_end(action, payload) else None
        if self.queue is None:
            return await self.link.call(action, payload, ahead)
        backlog = self._draining is not None and not self._draining.done()
        # The queue's emptiness is known after the first count: no await for it then.
        empty = self._queue_empty
        if empty is None:
            empty = await self._queue_is_empty()
        if self.link.online and not backlog and empty:
            try:
                return await self.link.call(action, payload, ahead)
            except (NotConnected, ConnectionLost, CallTimeout):
                pass  # not known to be delivered: queue it (at least once)
        if ahead is not None:
            await ahead()  # stored before the queued message (the queue is durable too)
        queued = offline_variant(payload) if offline_variant is not None else payload
        self._queue_empty = False
        await self.queue.enqueue(action, queued)
        self.queued_transactions.add(self.codec.queued_transaction(action, queued))
        self._queue_changed()
        return None

    def _queue_changed(self: StationRunner) -> None:
        for effect in self.feed(self.queued_transactions.event()):
            self._execute_at_once(effect)

    async def _queue_is_empty(self: StationRunner) -> bool:
        # Counted in the store once per process, then tracked here: only this process hosts
        # the station, so every enqueue and drain passes through this runner.
        if self._queue_empty is None:
            assert self.queue is not None
            queue = self.queue
            queued = await queue.messages() if await queue.may_have_backlog() else []
            self._queue_empty = not queued
            transactions = self.codec.queued_transaction
            self.queued_transactions.load(transactions(m.action, m.payload) for m in queued)
            self._queue_changed()
        return self._queue_empty

    async def drain_queue(self: StationRunner) -> None:
        if self.queue is None or await self._queue_is_empty():
            return
        config = self.station.config
        rate = float(config.get("VoltlabQueueDrainPerSecond") or 5)

        async def drain() -> None:
            assert self.queue is not None
            await self.queue.drain(
                self.link.call,
                max_per_second=rate,
                attempts=max(1, config.get_int("TransactionMessageAttempts")),
                retry_interval=float(config.get_int("TransactionMessageRetryInterval")),
                clock_sleep=self.clock.sleep,
                clock_now=self.clock.now,
                on_result=self.queued_result,
            )

        self._draining = self.spawn(drain())
        try:
            await self._draining
        finally:
            self._queue_empty = None  # what is left (a transport error stops a drain) is recounted

    async def queued_result(
        self: StationRunner,
        message: QueuedMessage,
        answer: dict[str, Any] | None,
        error: Exception | None,
    ) -> None:
        """A queued message was delivered (or dropped): it leaves the queue's count; a 1.6
        StartTransaction's real id replaces the provisional one in what is still queued (here)
        and in the transaction (the machine)."""
        self.queued_transactions.remove(
            self.codec.queued_transaction(message.action, message.payload)
        )
        delivered = None
        if answer is not None:
            delivered = self.codec.queued_delivered(message.action, message.payload, answer)
        if delivered is None:
            self._queue_changed()
            return
        provisional, real = delivered.provisional_id, delivered.transaction_id
        self.queued_transactions.rename(str(provisional), str(real))
        self._queue_changed()

        def with_real_id(queued: QueuedMessage) -> dict[str, Any]:
            return {**queued.payload, "transactionId": real}

        assert self.queue is not None
        await self.queue.rewrite(
            lambda queued: queued.payload.get("transactionId") == provisional, with_real_id
        )
        await self.execute(self.feed(delivered))
