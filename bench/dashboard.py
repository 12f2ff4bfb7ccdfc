"""The dashboard's targets (docs/dashboard.md), measured against a `voltlab serve` process:

(a) first render with CHARGERS chargers in the database (created through the API, not
    connected): `GET /`, the assets it names, then the first page of `GET /ocpp/chargers` and
    `GET /ocpp/fleet/summary` (fetched together, as the page does); median and p95 of RUNS
    runs, target <= 300 ms; baseline: `GET /health` on the same server and connection.
(b) a boot storm of STATIONS stations against the strict ocpp-rpc peer with an SSE client
    subscribed to `fleet`: for every `charger` event, its receipt minus its `at` (when the
    change happened on the server); max and p99, target <= 2 s; and whether every station's
    final state (connected, Accepted, every connector Available) arrived. Baseline: the same
    storm with nobody subscribed (boot seconds with / without the stream).

    python3 bench/dashboard.py [--chargers 10000] [--runs 30] [--stations 1000]

Loopback only; every loop and wait is bounded."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import time
from datetime import datetime
from typing import Any

import httpx

from support import (
    DEADLINE,
    OcppRpcPeer,
    VoltlabServer,
    calls_of,
    create_fleet,
    machine,
    wait_until,
)

ASSET = re.compile(r'(?:src|href)="(/[^"]+)"')
PAGE = 50


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def first_render(http: httpx.AsyncClient) -> tuple[float, int, int]:
    """Seconds for one render; the index's HTTP status and how many assets it named."""
    started = time.perf_counter()
    index = await http.get("/")
    assets = ASSET.findall(index.text) if index.status_code == 200 else []
    answers = await asyncio.gather(*(http.get(path) for path in assets))
    for path, answer in zip(assets, answers, strict=True):
        if answer.status_code != 200:
            raise RuntimeError(f"asset {path}: {answer.status_code}")
    page, summary = await asyncio.gather(
        http.get("/ocpp/chargers", params={"limit": PAGE}), http.get("/ocpp/fleet/summary")
    )
    elapsed = time.perf_counter() - started
    if page.status_code != 200 or summary.status_code != 200:
        raise RuntimeError(f"chargers {page.status_code}, summary {summary.status_code}")
    if len(page.json()["items"]) != PAGE:
        raise RuntimeError("first page is not full")
    return elapsed, index.status_code, len(assets)


async def render_run(args: argparse.Namespace) -> dict[str, Any]:
    async with VoltlabServer() as server:
        assert server.http is not None
        created = time.perf_counter()
        await store_fleet(server.http, args.chargers)
        created = time.perf_counter() - created
        total = (await server.http.get("/ocpp/fleet/summary")).json()["total"]
        if total != args.chargers:
            raise RuntimeError(f"{total} chargers in the database, expected {args.chargers}")
        times: list[float] = []
        health: list[float] = []
        status, assets = 0, 0
        await first_render(server.http)  # warm-up: connection, caches
        for _ in range(args.runs):
            seconds, status, assets = await first_render(server.http)
            times.append(seconds)
            started = time.perf_counter()
            await server.http.get("/health")
            health.append(time.perf_counter() - started)
        return {
            "created_seconds": created,
            "median": statistics.median(times),
            "p95": percentile(times, 0.95),
            "health_median": statistics.median(health),
            "index_status": status,
            "assets": assets,
        }


async def store_fleet(http: httpx.AsyncClient, chargers: int) -> None:
    """Locations of up to 1000 chargers (the API's cap), not started (auto_start false)."""
    remaining, index = chargers, 0
    while remaining > 0:
        count = min(1000, remaining)
        body = {
            "name": f"render-{index}",
            "csms_url": "ws://127.0.0.1:9/unused",
            "chargers": count,
            "model": "ac-22kw-2c",
            "identity_prefix": f"R{index:02d}-",
            "auto_start": False,
        }
        response = await http.post("/ocpp/locations", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"POST /ocpp/locations: {response.status_code} {response.text}")
        remaining -= count
        index += 1


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def storm_run(stations: int, subscribe: bool) -> dict[str, Any]:
    async with (
        OcppRpcPeer(protocols=("ocpp1.6",), strict=True, quiet=True) as peer,
        VoltlabServer() as server,
    ):
        assert server.http is not None
        received: list[tuple[float, dict[str, Any]]] = []
        ready = asyncio.Event()

        async def listen() -> None:
            assert server.http is not None
            params = {"topics": "fleet"}
            async with server.http.stream("GET", "/events", params=params, timeout=None) as r:
                data: str | None = None
                async for line in r.aiter_lines():
                    if line.startswith(": subscribed"):
                        ready.set()
                    elif line.startswith("data: "):
                        data = line[6:]
                    elif line == "" and data is not None:
                        received.append((time.time(), json.loads(data)))
                        data = None

        listener = asyncio.create_task(listen()) if subscribe else None
        if listener is not None:
            await asyncio.wait_for(ready.wait(), 30)
        started = time.perf_counter()
        await create_fleet(server, stations, csms_url=peer.url, model="ac-7kw-1c", name="storm")

        async def booted() -> bool:
            counts = await peer.counts()
            return (
                calls_of(counts, "BootNotification") >= stations
                and calls_of(counts, "StatusNotification") >= stations * 2
            )

        done = await wait_until(booted, "all stations booted", timeout=DEADLINE)
        boot_seconds = done - started
        figures: dict[str, Any] = {"boot_seconds": boot_seconds}
        if listener is not None:

            def final_states() -> int:
                last: dict[str, dict[str, Any]] = {}
                for _, event in received:
                    last[event["charger_id"]] = event
                return sum(
                    1
                    for e in last.values()
                    if e["connection"] == "connected"
                    and e["registration"] == "Accepted"
                    and all(c["status"] == "Available" for c in e["connectors"])
                )

            async def all_arrived() -> bool:
                return final_states() >= stations

            # Bounded; what did not arrive is reported as a count, not a crash.
            with contextlib.suppress(Exception):
                await wait_until(all_arrived, "every station's final state", timeout=30)
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            delays = [at - _epoch(event["at"]) for at, event in received]
            figures.update(
                events=len(received),
                complete=final_states(),
                max=max(delays),
                p99=percentile(delays, 0.99),
                median=statistics.median(delays),
            )
        return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--stations", type=int, default=1000)
    args = parser.parse_args()
    args.runs = max(1, min(args.runs, 1000))
    print(f"dashboard bench; machine: {machine()}")
    render = await render_run(args)
    index = (
        f"index HTTP {render['index_status']}, {render['assets']} assets"
        if render["index_status"] == 200
        else f"no index served (HTTP {render['index_status']}): the API part only"
    )
    print(
        f"  (a) first render, {args.chargers} chargers stored (created in "
        f"{render['created_seconds']:.1f} s), {args.runs} runs, {index}:"
    )
    print(
        f"      median {render['median'] * 1000:.1f} ms, p95 {render['p95'] * 1000:.1f} ms "
        f"(target <= 300 ms); baseline GET /health median "
        f"{render['health_median'] * 1000:.2f} ms; ratio median/baseline "
        f"{render['median'] / render['health_median']:.1f}"
    )
    quiet = await storm_run(args.stations, subscribe=False)
    live = await storm_run(args.stations, subscribe=True)
    print(f"  (b) boot storm, {args.stations} stations, strict ocpp-rpc peer, SSE on `fleet`:")
    print(
        f"      {live['events']} charger events; every station's final state arrived: "
        f"{live['complete']}/{args.stations}"
    )
    print(
        f"      delay change -> receipt: median {live['median'] * 1000:.0f} ms, p99 "
        f"{live['p99'] * 1000:.0f} ms, max {live['max'] * 1000:.0f} ms (target <= 2000 ms)"
    )
    print(
        f"      boot {live['boot_seconds']:.2f} s with the stream, {quiet['boot_seconds']:.2f} s "
        f"without (baseline); ratio {live['boot_seconds'] / quiet['boot_seconds']:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
