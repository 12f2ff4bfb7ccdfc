"""An SSE client for the live channel (`GET /events`) over a real HTTP connection, and the
in-process server the live tests talk to (uvicorn on 127.0.0.1, `LiveServer`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from voltlab.api.serving import LiveServer


@dataclass
class SseEvent:
    type: str
    id: int
    data: dict[str, Any]


@dataclass
class EventStream:
    """Reads one `/events` stream in a task; `events` fills as they arrive."""

    http: httpx.AsyncClient
    topics: str
    headers: dict[str, str]
    events: list[SseEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    ended: bool = False
    status: int | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> EventStream:
        self._task = asyncio.create_task(self._read())
        waiter = asyncio.create_task(self._subscribed.wait())
        done, _ = await asyncio.wait(
            {waiter, self._task}, timeout=10, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        if self._task in done:
            self._task.result()
            raise AssertionError(f"stream ended before it subscribed (HTTP {self.status})")
        assert done, "no `: subscribed` within 10 s"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        params = {"topics": self.topics}
        async with self.http.stream("GET", "/events", params=params, headers=self.headers) as r:
            self.status = r.status_code
            assert r.status_code == 200, await r.aread()
            assert r.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            async for line in r.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    if line.startswith(": subscribed"):
                        self._subscribed.set()
                    self._arrived.set()
                    continue
                if line == "":
                    if fields:
                        data = json.loads(fields["data"])
                        self.events.append(SseEvent(fields["event"], int(fields["id"]), data))
                        fields = {}
                        self._arrived.set()
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        self.ended = True
        self._arrived.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == kind]

    async def wait_for(self, predicate: Callable[[EventStream], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0 or self.ended:
                kinds = [e.type for e in self.events]
                raise AssertionError(f"not seen within {timeout} s; events: {kinds[-30:]}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))


async def serve(server: LiveServer) -> tuple[asyncio.Task[None], str]:
    """Start the server in this loop; its base URL once it listens."""
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return task, f"http://127.0.0.1:{port}"
