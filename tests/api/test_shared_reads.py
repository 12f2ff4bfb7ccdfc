"""Shared reads: identical reads in flight share one computation that started after each of
them arrived (never an older one), per org; errors reach every read of a wave; a client that
goes away does not cancel the others' answer. Then on the wire: 40 concurrent list reads with
writes between them, each read sent after a write sees it, and other orgs see nothing of it."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi import HTTPException
from starlette.responses import JSONResponse, Response
from tests.api.conftest import Headers, LocationMaker

from voltlab.api.shared_reads import SharedReads


class Source:
    """A value to read and a gate that holds each computation until released."""

    def __init__(self) -> None:
        self.value = 0
        self.started = 0
        self.gate = asyncio.Event()

    async def compute(self) -> Response:
        self.started += 1
        seen = self.value  # what the computation reads, as it starts
        await self.gate.wait()
        return JSONResponse({"value": seen})


async def _settle() -> None:
    """Let the tasks just created run up to their first real wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def _value(reads: SharedReads, source: Source, key: str = "k") -> int:
    response = await reads.read(key, source.compute)
    return int(json.loads(bytes(response.body))["value"])


async def test_reads_arriving_during_a_computation_share_the_next_one() -> None:
    reads, source = SharedReads(), Source()
    first = asyncio.ensure_future(_value(reads, source))
    await _settle()
    assert source.started == 1
    source.value = 1  # a write completes while the first computation runs
    later = [asyncio.ensure_future(_value(reads, source)) for _ in range(5)]
    await _settle()
    assert source.started == 1  # the five wait for the next computation, not this one
    source.gate.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [1] * 5  # they all see the write
    assert (source.started, reads.computations, reads.reads) == (2, 2, 6)
    assert reads.in_flight() == 0


async def test_different_keys_do_not_share() -> None:
    reads, source = SharedReads(), Source()
    source.gate.set()
    assert await asyncio.gather(_value(reads, source, "a"), _value(reads, source, "b")) == [0, 0]
    assert reads.computations == 2


async def test_an_error_reaches_every_read_of_its_wave() -> None:
    reads, calls = SharedReads(), []
    gate = asyncio.Event()

    async def failing() -> Response:
        calls.append(1)
        await gate.wait()
        raise HTTPException(status_code=404, detail="gone")

    waves = [asyncio.ensure_future(reads.read("k", failing)) for _ in range(3)]
    await _settle()
    gate.set()
    outcomes = await asyncio.gather(*waves, return_exceptions=True)
    assert all(isinstance(o, HTTPException) and o.status_code == 404 for o in outcomes)
    assert len(calls) == 2  # the first read's computation, then the one the other two shared
    assert reads.in_flight() == 0


async def test_a_read_that_goes_away_cancels_only_its_wait() -> None:
    reads, source = SharedReads(), Source()
    first = asyncio.ensure_future(_value(reads, source))
    second = asyncio.ensure_future(_value(reads, source))
    await _settle()
    first.cancel()  # the client of the running computation disconnects
    await _settle()
    source.gate.set()
    assert await second == 0
    with pytest.raises(asyncio.CancelledError):
        await first
    assert reads.in_flight() == 0


async def test_concurrent_list_reads_see_every_write_made_before_them(
    client: httpx.AsyncClient, keys: dict[str, Headers], make_location: LocationMaker
) -> None:
    admin, rival = keys["admin"], keys["rival"]
    seen_after: list[tuple[int, int]] = []

    async def reads_after_write(written: int) -> None:
        answers = await asyncio.gather(
            *(client.get("/ocpp/locations", headers=admin) for _ in range(10))
        )
        for answer in answers:
            assert answer.status_code == 200, answer.text
            seen_after.append((written, len(answer.json()["items"])))

    background = [asyncio.ensure_future(reads_after_write(0))]
    for written in range(1, 5):
        await make_location(name=f"depot-{written}", chargers=1)
        # Sent after the write returned, while earlier reads may still be in flight.
        background.append(asyncio.ensure_future(reads_after_write(written)))
    await asyncio.gather(*background)
    assert len(seen_after) == 50
    assert all(count >= written for written, count in seen_after), seen_after
    other = await client.get("/ocpp/locations", headers=rival)
    assert other.json()["items"] == []  # another org's identical read shares nothing
    shared: SharedReads = client._transport.app.state.shared_reads  # type: ignore[attr-defined]
    assert shared.reads >= 51 and shared.in_flight() == 0
