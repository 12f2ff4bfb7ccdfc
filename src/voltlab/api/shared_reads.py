"""Identical reads that arrive together share one computation, which starts after each of them
arrived.

A dashboard watched by many people, or 200 scripts polling the same list, asks the same
question many times at once; answering each one separately recomputes the same page (50
chargers' rows, live states and JSON) over and over. Reads with the same key (the org, the
path and the query) therefore wait for one computation in turn:

- with none running, a read starts one and takes its answer;
- with one running, a read waits for the *next* one, which starts as soon as the running one
  ends and serves every read that arrived meanwhile.

So no read is answered from a computation that started before it arrived: a write answered
before a read was sent is always seen by it, exactly as without sharing. What sharing changes
is the cost: one computation per wave of identical reads instead of one per read.

The computation runs as a task of its own, so a client that goes away cancels only its wait;
an error (a 404, a 503) reaches every read of its wave, as it would have reached each alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

Compute = Callable[[], Awaitable[Response]]


@dataclass
class _Answer:
    """What a computation produced, kept to give each read a response of its own."""

    body: bytes
    status_code: int
    headers: list[tuple[bytes, bytes]]

    def response(self) -> Response:
        response = Response(content=self.body, status_code=self.status_code)
        response.raw_headers = list(self.headers)
        return response


@dataclass
class _Key:
    running: asyncio.Future[_Answer] | None = None
    # The computation that starts when the running one ends, shared by the reads that came
    # while it ran; None until the first such read.
    following: asyncio.Future[_Answer] | None = None
    compute: Compute | None = field(default=None, repr=False)


class SharedReads:
    """Per app: the computations in flight, by read key (module docstring)."""

    def __init__(self) -> None:
        self._keys: dict[Hashable, _Key] = {}
        self.computations = 0  # how many computations ran (tests and metrics read it)
        self.reads = 0  # how many reads were answered

    def in_flight(self) -> int:
        return len(self._keys)

    async def read(self, key: Hashable, compute: Compute) -> Response:
        self.reads += 1
        state = self._keys.get(key)
        if state is None:  # a key is kept exactly while a computation of it runs
            state = self._keys[key] = _Key()
            state.running = self._start(key, state, compute)
            future = state.running
        else:
            if state.following is None:
                state.following = asyncio.get_running_loop().create_future()
                state.following.add_done_callback(_retrieve)
            # The latest arrival's closure: every read of the wave asks the same thing.
            state.compute = compute
            future = state.following
        answer = await asyncio.shield(future)
        return answer.response()

    def _start(self, key: Hashable, state: _Key, compute: Compute) -> asyncio.Future[_Answer]:
        self.computations += 1
        task = asyncio.ensure_future(_answer_of(compute))
        task.add_done_callback(lambda done: self._ended(key, state, done))
        return task

    def _ended(self, key: Hashable, state: _Key, done: asyncio.Future[_Answer]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved: each read re-raises it from its own await
        following, compute = state.following, state.compute
        state.following, state.compute = None, None
        if following is None or compute is None:
            state.running = None
            del self._keys[key]
            return
        state.running = self._start(key, state, compute)
        _chain(state.running, following)


async def _answer_of(compute: Compute) -> _Answer:
    response = await compute()
    return _Answer(bytes(response.body), response.status_code, list(response.raw_headers))


def _chain(source: asyncio.Future[_Answer], target: asyncio.Future[_Answer]) -> None:
    def copy(done: asyncio.Future[_Answer]) -> None:
        if target.done():
            return
        if done.cancelled():
            target.cancel()
        elif (error := done.exception()) is not None:
            target.set_exception(error)
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)


def _retrieve(done: asyncio.Future[_Answer]) -> None:
    # Its reads may all have gone away: an error nobody awaits is not an unhandled one.
    if not done.cancelled():
        done.exception()


async def shared_read(request: Request, org_id: str, compute: Compute) -> Response:
    """The route's answer to this read, shared with the identical reads of the org in flight
    (same path and query string; the app's `SharedReads`)."""
    reads: SharedReads = request.app.state.shared_reads
    scope = request.scope
    return await reads.read((org_id, scope["path"], scope["query_string"]), compute)
