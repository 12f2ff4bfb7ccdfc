"""The live-event hub: what changed, handed to whoever watches, in this process.

Producers (the fleet runtime, the command dispatcher, the CPO steps, the scenario runs) publish
`LiveEvent`s; the dashboard's `GET /events` streams subscribe by org and topic. The hub sits
under every layer (it imports only the clock) and belongs to the `Database` (`database.live`):
whatever writes a change to the store can announce it, and in a scale-out deployment the
database is also where the announcements travel (PostgreSQL LISTEN/NOTIFY). For that later
step an event is plain JSON (`LiveEvent.as_json` / `LiveEvent.from_json`), `publish` may be
called from any thread (a listener thread feeds it as a producer would), and `wanted()` says
which (org, topic) pairs this process has subscribers for.

The hot path must cost nothing when nobody watches: producers ask `wants(topic)` (one dict
lookup) before they build an event.

A subscriber that falls behind does not grow memory: its queue is bounded; events with a
`key` (a charger's state) replace the queued event of the same key instead of queueing a
second one; when the queue is full anyway, it is emptied and the subscriber gets one `resync`
event (reload from the API) followed by whatever happens next."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voltlab.clock import wall_now

DEFAULT_QUEUE_LIMIT = 1000  # events waiting per subscriber before it must resync
RESYNC = "resync"


def stamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds and a `Z`: the `at` of every event."""
    value = (moment or wall_now()).astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class LiveEvent:
    org_id: str
    topic: str  # fleet | charger:{id} | commands | cpos | scenarios | findings
    type: str  # the SSE event name: charger, frame, meter, command, cpo, scenario-run, finding
    data: dict[str, Any]  # JSON-serialisable, carries `at`
    key: str | None = None  # events of one key coalesce in a subscriber's queue
    seq: int = 0  # set by the hub when published
    _encoded: str | None = field(default=None, repr=False)

    def encoded(self) -> str:
        """The data as compact JSON, encoded once however many subscribers receive it."""
        if self._encoded is None:
            self._encoded = json.dumps(self.data, separators=(",", ":"), default=str)
        return self._encoded

    def as_json(self) -> dict[str, Any]:
        """The event for another process (the NOTIFY payload of a later scale-out)."""
        return {
            "org_id": self.org_id,
            "topic": self.topic,
            "type": self.type,
            "key": self.key,
            "data": self.data,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> LiveEvent:
        return cls(
            org_id=str(body["org_id"]),
            topic=str(body["topic"]),
            type=str(body["type"]),
            data=dict(body["data"]),
            key=body.get("key"),
        )


class Subscription:
    """One stream's bounded queue. Filled by the hub on the event loop, read by one consumer."""

    __slots__ = ("org_id", "topics", "limit", "_queue", "_keyed", "_wake", "closed", "resyncs")

    def __init__(self, org_id: str, topics: frozenset[str], limit: int) -> None:
        self.org_id = org_id
        self.topics = topics
        self.limit = limit
        # Keyed events sit in `_keyed`; the queue holds their key once, at its first position.
        self._queue: deque[LiveEvent | str] = deque()
        self._keyed: dict[str, LiveEvent] = {}
        self._wake = asyncio.Event()
        self.closed = False
        self.resyncs = 0  # how many times this subscriber overflowed

    def offer(self, event: LiveEvent) -> None:
        if self.closed:
            return
        if event.key is not None and event.key in self._keyed:
            self._keyed[event.key] = event  # coalesced: the latest state replaces the queued one
            return
        if len(self._queue) >= self.limit:
            self._overflow()
        if event.key is not None:
            self._keyed[event.key] = event
            self._queue.append(event.key)
        else:
            self._queue.append(event)
        self._wake.set()

    def _overflow(self) -> None:
        self._queue.clear()
        self._keyed.clear()
        self.resyncs += 1
        marker = LiveEvent(self.org_id, "", RESYNC, {"at": stamp()})
        self._queue.append(marker)

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def _drain(self) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, str):
                out.append(self._keyed.pop(item))
            else:
                out.append(item)
        return out

    async def next_batch(self, timeout: float) -> list[LiveEvent] | None:
        """The events queued since the last call, oldest first; [] after `timeout` seconds with
        none (time for a heartbeat); None once the subscription is closed."""
        if not self._queue and not self.closed:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return []
        if self.closed:
            return None
        return self._drain()


class LiveHub:
    def __init__(self, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.queue_limit = queue_limit
        self._subs: dict[tuple[str, str], set[Subscription]] = {}
        # topic -> subscriptions (all orgs). Read by the hot paths: empty means nobody listens.
        self.topics: dict[str, int] = {}
        self._seq = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    # -- asked by producers: cheap ------------------------------------------------------------

    def wants(self, topic: str) -> bool:
        """Does any subscriber (of any org) listen to `topic`? One dict lookup."""
        return topic in self.topics

    def wants_org(self, org_id: str, topic: str) -> bool:
        return (org_id, topic) in self._subs

    def wanted(self) -> list[tuple[str, str]]:
        """The (org, topic) pairs subscribed here (what a cross-process bridge forwards)."""
        return list(self._subs)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, event: LiveEvent) -> None:
        """Hand an event to the subscribers of its org and topic. Any thread may call it; the
        delivery happens on the event loop of the subscribers."""
        if (event.org_id, event.topic) not in self._subs:
            return
        loop = self._loop
        if loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._deliver(event)
        else:
            try:
                loop.call_soon_threadsafe(self._deliver, event)
            except RuntimeError:  # the loop closed meanwhile: nobody is listening any more
                return

    def _deliver(self, event: LiveEvent) -> None:
        subscribers = self._subs.get((event.org_id, event.topic))
        if not subscribers:
            return
        event.seq = next(self._seq)
        for subscription in subscribers:
            subscription.offer(event)

    # -- subscribing --------------------------------------------------------------------------

    @contextmanager
    def subscribe(
        self, org_id: str, topics: Iterable[str], queue_limit: int | None = None
    ) -> Iterator[Subscription]:
        """Subscribe on the running event loop; unsubscribed when the block ends."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._loop_thread = threading.get_ident()
        subscription = Subscription(org_id, frozenset(topics), queue_limit or self.queue_limit)
        for topic in subscription.topics:
            self._subs.setdefault((org_id, topic), set()).add(subscription)
            self.topics[topic] = self.topics.get(topic, 0) + 1
        try:
            yield subscription
        finally:
            subscription.close()
            for topic in subscription.topics:
                subs = self._subs.get((org_id, topic))
                if subs is not None:
                    subs.discard(subscription)
                    if not subs:
                        del self._subs[(org_id, topic)]
                count = self.topics.get(topic, 0) - 1
                if count > 0:
                    self.topics[topic] = count
                else:
                    self.topics.pop(topic, None)

    def close_all(self) -> int:
        """End every open subscription (server shutdown): their streams finish at once.
        Returns how many were open."""
        open_subs = {sub for subs in self._subs.values() for sub in subs}
        for subscription in open_subs:
            subscription.close()
        return len(open_subs)
