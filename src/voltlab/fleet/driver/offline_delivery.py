"""The delivery of transaction messages across time away from the CSMS: sent in order, queued
(durably) while the CSMS is not reachable or older messages still wait, drained in order once
the station is registered again; and what the queue holds per transaction, told to the machine
as `QueueChanged` (for 2.x GetTransactionStatus)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from voltlab.clock import Clock
from voltlab.fleet.codecs.station_codec import StationCodec
from voltlab.fleet.driver.effects import MachineDriver, Payload
from voltlab.fleet.driver.link import NotConnected, StationLink
from voltlab.fleet.driver.offline_queue import OfflineQueue, QueuedMessage
from voltlab.fleet.driver.station_tasks import StationTasks
from voltlab.fleet.driver.writes import StationWrites
from voltlab.fleet.machine.events import QueueChanged
from voltlab.fleet.model.config import StationConfig
from voltlab.ocpp.errors import CallTimeout, ConnectionLost


def announces_start_or_end(action: str, payload: Payload) -> bool:
    if action in ("StartTransaction", "StopTransaction"):
        return True
    return action == "TransactionEvent" and payload.get("eventType") in ("Started", "Ended")


class QueuedTransactions:
    """How many messages the offline queue holds per transaction (None: messages of no
    transaction), kept as the station enqueues and the drain delivers or drops them."""

    __slots__ = ("_counts",)

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


class OfflineDelivery:
    """One station's transaction messages (the driver's `TransactionMessages`). Without a
    queue (a station without a store) they go straight to the link."""

    __slots__ = (
        "queue",
        "queued_transactions",
        "_driver",
        "_link",
        "_codec",
        "_clock",
        "_config",
        "_tasks",
        "_writes",
        "_draining",
        "_queue_empty",
    )

    def __init__(
        self,
        *,
        driver: MachineDriver,
        link: StationLink,
        queue: OfflineQueue | None,
        codec: StationCodec,
        clock: Clock,
        config: StationConfig,
        tasks: StationTasks,
        writes: StationWrites,
    ) -> None:
        # Transaction messages that could not be delivered, kept in order across restarts.
        self.queue = queue
        self.queued_transactions = QueuedTransactions()
        self._driver = driver
        self._link = link
        self._codec = codec
        self._clock = clock
        self._config = config
        self._tasks = tasks
        self._writes = writes
        self._draining: asyncio.Task[Any] | None = None
        self._queue_empty: bool | None = None  # None: not counted yet

    async def transaction_message(
        self,
        action: str,
        payload: Payload,
        offline_variant: Callable[[Payload], Payload] | None = None,
    ) -> Payload | None:
        """Send a transaction message, or queue it (persistently) when the CSMS is not
        reachable or older messages are still waiting: None means queued. The state behind a
        transaction's start or end is stored before the message leaves (write-ahead)."""
        # The write-ahead runs when the CALL has its turn on the connection, right before
        # its frame: not a round trip of another CALL earlier.
        ahead = self._writes.write_ahead if announces_start_or_end(action, payload) else None
        if self.queue is None:
            return await self._link.call(action, payload, ahead)
        backlog = self._draining is not None and not self._draining.done()
        # The queue's emptiness is known after the first count: no await for it then.
        empty = self._queue_empty
        if empty is None:
            empty = await self._queue_is_empty()
        if self._link.online and not backlog and empty:
            try:
                return await self._link.call(action, payload, ahead)
            except (NotConnected, ConnectionLost, CallTimeout):
                pass  # not known to be delivered: queue it (at least once)
        if ahead is not None:
            await ahead()  # stored before the queued message (the queue is durable too)
        queued = offline_variant(payload) if offline_variant is not None else payload
        self._queue_empty = False
        await self.queue.enqueue(action, queued)
        self.queued_transactions.add(self._codec.queued_transaction(action, queued))
        self._queue_changed()
        return None

    def _queue_changed(self) -> None:
        driver = self._driver
        for effect in driver.feed(self.queued_transactions.event()):
            driver.execute_at_once(effect)

    async def _queue_is_empty(self) -> bool:
        # Counted in the store once per process, then tracked here: only this process hosts
        # the station, so every enqueue and drain passes through this object.
        if self._queue_empty is None:
            assert self.queue is not None
            queue = self.queue
            queued = await queue.messages() if await queue.may_have_backlog() else []
            self._queue_empty = not queued
            transactions = self._codec.queued_transaction
            self.queued_transactions.load(transactions(m.action, m.payload) for m in queued)
            self._queue_changed()
        return self._queue_empty

    async def drain_queue(self) -> None:
        """Deliver what was queued, in order, at the configured rate (after a registration)."""
        if self.queue is None or await self._queue_is_empty():
            return
        queue = self.queue
        config = self._config
        rate = float(config.get("VoltlabQueueDrainPerSecond") or 5)

        async def drain() -> None:
            await queue.drain(
                self._link.call,
                max_per_second=rate,
                attempts=max(1, config.get_int("TransactionMessageAttempts")),
                retry_interval=float(config.get_int("TransactionMessageRetryInterval")),
                clock_sleep=self._clock.sleep,
                clock_now=self._clock.now,
                on_result=self.queued_result,
            )

        self._draining = self._tasks.spawn(drain())
        try:
            await self._draining
        finally:
            self._queue_empty = None  # what is left (a transport error stops a drain) is recounted

    async def queued_result(
        self,
        message: QueuedMessage,
        answer: Payload | None,
        error: Exception | None,
    ) -> None:
        """A queued message was delivered (or dropped): it leaves the queue's count; a 1.6
        StartTransaction's real id replaces the provisional one in what is still queued (here)
        and in the transaction (the machine)."""
        codec = self._codec
        self.queued_transactions.remove(codec.queued_transaction(message.action, message.payload))
        delivered = None
        if answer is not None:
            delivered = codec.queued_delivered(message.action, message.payload, answer)
        if delivered is None:
            self._queue_changed()
            return
        provisional, real = delivered.provisional_id, delivered.transaction_id
        self.queued_transactions.rename(str(provisional), str(real))
        self._queue_changed()

        def with_real_id(queued: QueuedMessage) -> Payload:
            return {**queued.payload, "transactionId": real}

        assert self.queue is not None
        await self.queue.rewrite(
            lambda queued: queued.payload.get("transactionId") == provisional, with_real_id
        )
        await self._driver.execute(self._driver.feed(delivered))
