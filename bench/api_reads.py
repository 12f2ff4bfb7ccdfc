"""API reads under load (issue 15): CLIENTS concurrent clients, each on one keep-alive connection
of its own (one `httpx.AsyncClient` per client, all in this process; the server is a `voltlab
serve` process of its own, so its CPU is counted apart from the load's), issuing a mix of the
Gateway API's reads, closed loop (the next request once the last answered, after `--think` ms),
while CHARGERS chargers of the server run (CHARGING of them in a session, so meter values,
frames and state writes flow). Prints p50/p90/p99/max per route and overall, requests/s,
errors and the server's CPU per answer; the baseline, measured in the same run by the same
clients: `GET /health` (no key, no session; on PostgreSQL it reads the workers' rows), and the
ratios. Then each route alone, `--per-route` reads by one client: its CPU and median time.
Target: reads p99 <= 500 ms.

    python3 bench/api_reads.py [--clients 200] [--chargers 50] [--charging 20]
        [--requests 30000] [--seconds 30] [--csms ocpp-rpc|builtin] [--think 0]
        [--per-route 200]

`--csms ocpp-rpc` (default): one location of CHARGERS chargers against the strict npm
ocpp-rpc CSMS. `--csms builtin`: a `workplace-depot` virtual CPO of CHARGERS chargers against
the server's own CSMS, which refuses the sessions (no eMSP gave it the token: the connectors
stay Preparing), so a Heartbeat every `--sample-interval` simulated seconds makes the traffic.
SQLite in a temporary directory by default; with VOLTLAB_DATABASE_URL set to a PostgreSQL
server, a fresh database on it (dropped after). BENCH_PROFILE=FILE samples the server with
py-spy. Loopback only; every loop is bounded in count and time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvloop

from support import (
    API_KEY,
    OcppRpcPeer,
    VoltlabServer,
    calls_of,
    cpu_seconds,
    fresh_database,
    machine,
    wait_until,
)

# (route label, weight): what a dashboard and an operator's scripts read.
MIX = (
    ("GET /ocpp/chargers", 20),
    ("GET /ocpp/chargers/{id}", 25),
    ("GET /ocpp/chargers/{id}/messages?limit=20", 20),
    ("GET /ocpp/commands/{id}", 10),
    ("GET /ocpp/locations", 10),
    ("GET /ocpp/fleet/summary", 10),
    ("GET /ocpi/cpos", 5),
)
HEALTH = "GET /health"
TARGET_P99 = 0.5  # seconds


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Ids:
    chargers: list[str]
    commands: list[str]


@dataclass
class Phase:
    """One measured phase: latencies per route, errors by kind, wall and CPU seconds."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_cpu: float = 0.0
    load_cpu: float = 0.0
    load_before: str = ""
    load_after: str = ""

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_per_answer_ms(self) -> float:
        return 1e3 * self.server_cpu / max(self.count, 1)


def request_for(label: str, rng: random.Random, ids: Ids) -> tuple[str, dict[str, Any]]:
    if label == "GET /ocpp/chargers":
        return "/ocpp/chargers", {}
    if label == "GET /ocpp/chargers/{id}":
        return f"/ocpp/chargers/{rng.choice(ids.chargers)}", {}
    if label == "GET /ocpp/chargers/{id}/messages?limit=20":
        return f"/ocpp/chargers/{rng.choice(ids.chargers)}/messages", {"limit": 20}
    if label == "GET /ocpp/commands/{id}":
        return f"/ocpp/commands/{rng.choice(ids.commands)}", {}
    if label == "GET /ocpp/locations":
        return "/ocpp/locations", {}
    if label == "GET /ocpp/fleet/summary":
        return "/ocpp/fleet/summary", {}
    if label == "GET /ocpi/cpos":
        return "/ocpi/cpos", {}
    assert label == HEALTH
    return "/health", {}


async def run_phase(
    base_url: str,
    args: argparse.Namespace,
    pick: Callable[[random.Random], str],
    ids: Ids,
    server_pid: int,
) -> Phase:
    """CLIENTS clients, each with its own keep-alive connection (opened before the clock starts),
    until `--requests` answers in all or `--seconds` have passed."""
    phase = Phase()
    issued = 0
    started = asyncio.Event()
    connected = 0
    all_connected = asyncio.Event()
    deadline = 0.0

    async def client(index: int) -> None:
        nonlocal issued, connected
        rng = random.Random(index)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, limits=limits, timeout=args.timeout
        ) as http:
            await http.get("/health")  # the connection, opened outside the window
            connected += 1
            if connected == args.clients:
                all_connected.set()
            await started.wait()
            # Bounded by the shared request budget and the deadline.
            while issued < args.requests and time.perf_counter() < deadline:
                issued += 1
                label = pick(rng)
                path, params = request_for(label, rng, ids)
                sent = time.perf_counter()
                try:
                    response = await http.get(path, params=params)
                    elapsed = time.perf_counter() - sent
                    if response.status_code != 200:
                        kind = f"{label} -> {response.status_code}"
                        phase.errors[kind] = phase.errors.get(kind, 0) + 1
                        continue
                except httpx.HTTPError as exc:
                    kind = f"{label} -> {type(exc).__name__}"
                    phase.errors[kind] = phase.errors.get(kind, 0) + 1
                    continue
                phase.latencies.setdefault(label, []).append(elapsed)
                if args.think:
                    await asyncio.sleep(args.think / 1000)

    tasks = [asyncio.create_task(client(i)) for i in range(args.clients)]
    try:
        await asyncio.wait_for(all_connected.wait(), 60)
        phase.load_before = load()
        cpu0, own0, t0 = cpu_seconds(server_pid), cpu_seconds(), time.perf_counter()
        deadline = t0 + args.seconds
        started.set()
        await asyncio.wait_for(asyncio.gather(*tasks), args.seconds + args.timeout + 30)
        phase.seconds = time.perf_counter() - t0
        phase.server_cpu = cpu_seconds(server_pid) - cpu0
        phase.load_cpu = cpu_seconds() - own0
        phase.load_after = load()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return phase


def weighted(mix: tuple[tuple[str, int], ...]) -> Callable[[random.Random], str]:
    labels = [label for label, _ in mix]
    weights = [weight for _, weight in mix]
    return lambda rng: rng.choices(labels, weights)[0]


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body)
    if response.status_code >= 300:
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")
    result: dict[str, Any] = response.json()
    return result


async def command_ids(
    http: httpx.AsyncClient, slug: str, target: dict[str, Any], event: dict[str, Any]
) -> list[str]:
    body = await post(http, f"/ocpp/commands/{slug}", {"target": target, "event": event})
    if body["failed_count"]:
        raise RuntimeError(f"{slug}: {body['failed']}")
    return [result["command"]["id"] for result in body["results"]]


async def all_chargers(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 500}
    for _ in range(100):  # bounded: 50 000 chargers
        page = (await http.get("/ocpp/chargers", params=params)).json()
        items += page["items"]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    return items


async def summary(http: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await http.get("/ocpp/fleet/summary")).json()
    return body


async def fleet_against_peer(
    http: httpx.AsyncClient, peer: OcppRpcPeer, args: argparse.Namespace
) -> list[dict[str, Any]]:
    location = await post(
        http,
        "/ocpp/locations",
        {
            "name": "bench-reads",
            "csms_url": peer.url,
            "ocpp_version": "ocpp1.6",
            "chargers": args.chargers,
            "model": "ac-22kw-2c",
            "identity_prefix": "READS-",
        },
    )

    async def booted() -> bool:
        return calls_of(await peer.counts(), "BootNotification") >= args.chargers

    await wait_until(booted, "every charger booted", timeout=120)
    return list(location["chargers"])


async def fleet_of_cpo(http: httpx.AsyncClient, args: argparse.Namespace) -> list[dict[str, Any]]:
    per_location = 25
    locations = -(-args.chargers // per_location)
    created = await post(
        http,
        "/ocpi/cpos",
        {
            "template": "workplace-depot",
            "country_code": "FR",
            "party_id": "BEN",
            "name_prefix": "reads",
            "seed": 15,
            "overrides": {"locations": locations, "chargers_per_location": per_location},
        },
    )

    async def ready() -> bool:
        status = (await http.get(created["status_url"])).json()["status"]
        if status == "FAILED":
            raise RuntimeError(f"CPO provisioning failed: {created['status_url']}")
        return bool(status == "READY")

    await wait_until(ready, "the CPO READY", timeout=180)
    return await all_chargers(http)


async def start_sessions(
    http: httpx.AsyncClient, chargers: list[dict[str, Any]], args: argparse.Namespace
) -> list[str]:
    """Sample interval set on every charger, then CHARGING of them plugged and started; the
    command ids (the reads' `/ocpp/commands/{id}`)."""
    ids: list[str] = []
    by_location: dict[str, list[str]] = {}
    for charger in chargers:
        by_location.setdefault(charger["location_id"], []).append(charger["charger_id"])
    charging = {c["charger_id"] for c in chargers[: args.charging]}
    intervals = ["MeterValueSampleInterval"]
    if args.csms == "builtin":
        # Its CSMS refuses a session whose token no eMSP gave it: heartbeats make the traffic.
        intervals.append("HeartbeatInterval")
    for location_id, members in by_location.items():
        target = {"location_id": location_id}
        for key in intervals:
            interval = {"key": key, "value": str(args.sample_interval)}
            ids += await command_ids(http, "configuration", target, interval)
        chosen = [c for c in members if c in charging]
        if not chosen:
            continue
        target = {"location_id": location_id, "charger_ids": chosen}
        ids += await command_ids(http, "plug-connector", target, {"connector_id": 1})
        event = {"id_tag": "READS", "connector_id": 1, "duration_seconds": 86400}
        ids += await command_ids(http, "start-session", target, event)
    return ids


async def route_costs(
    http: httpx.AsyncClient, count: int, ids: Ids, server_pid: int
) -> dict[str, tuple[float, float]]:
    """Per route, `count` reads one after the other (nothing else asking): the server's CPU
    milliseconds per answer and the median milliseconds an answer took."""
    costs: dict[str, tuple[float, float]] = {}
    if count < 1:
        return costs
    rng = random.Random(0)
    for label, _ in (*MIX, (HEALTH, 0)):
        took: list[float] = []
        cpu0 = cpu_seconds(server_pid)
        for _ in range(count):  # bounded: `count` answers, each within the client's timeout
            path, params = request_for(label, rng, ids)
            sent = time.perf_counter()
            response = await http.get(path, params=params)
            took.append(time.perf_counter() - sent)
            if response.status_code != 200:
                raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
        costs[label] = (
            1e3 * (cpu_seconds(server_pid) - cpu0) / count,
            1e3 * sorted(took)[count // 2],
        )
    return costs


async def shared_reads(http: httpx.AsyncClient) -> dict[str, float]:
    """`voltlab_api_shared_reads_total` by kind (reads, computations) from `/metrics`."""
    response = await http.get("/metrics")
    found: dict[str, float] = {}
    for line in response.text.splitlines():
        if line.startswith("voltlab_api_shared_reads_total{"):
            kind = line.split('kind="', 1)[1].split('"', 1)[0]
            found[kind] = float(line.rsplit(" ", 1)[1])
    return found


@contextlib.asynccontextmanager
async def database_url() -> AsyncIterator[str | None]:
    """None: SQLite in the server's temporary directory; else a fresh PostgreSQL database."""
    server = os.environ.get("VOLTLAB_DATABASE_URL")
    if not server:
        yield None
        return
    with fresh_database(server) as url:
        yield url


async def measure(args: argparse.Namespace, peer: OcppRpcPeer | None) -> dict[str, Any]:
    async with (
        database_url() as url,
        VoltlabServer(url, VOLTLAB_TIME_SCALE=str(args.time_scale)) as server,
    ):
        assert server.http is not None
        http = server.http
        if peer is not None:
            chargers = await fleet_against_peer(http, peer, args)
        else:
            chargers = await fleet_of_cpo(http, args)
        commands = await start_sessions(http, chargers, args)
        await asyncio.sleep(args.settle)
        before = await summary(http)
        ids = Ids([c["charger_id"] for c in chargers], commands)
        base_url = f"http://127.0.0.1:{server.port}"
        print(f"  server pid {server.pid}, measuring", flush=True)
        health = await run_phase(base_url, args, lambda _rng: HEALTH, ids, server.pid)
        print("  baseline measured", flush=True)
        shared_before = await shared_reads(http)
        reads = await run_phase(base_url, args, weighted(MIX), ids, server.pid)
        shared_after = await shared_reads(http)
        costs = await route_costs(http, args.per_route, ids, server.pid)
        after = await summary(http)
        database = str((await http.get("/health")).json()["database"])
        frames_in = None if peer is None else (await peer.counts())["frames_in"]
    return {
        "health": health,
        "reads": reads,
        "costs": costs,
        "before": before,
        "after": after,
        "database": database,
        "frames_in": frames_in,
        "shared": {k: shared_after[k] - shared_before.get(k, 0.0) for k in shared_after},
    }


def route_line(label: str, values: list[float], seconds: float) -> str:
    ordered = sorted(values)
    p50, p90, p99 = (1e3 * percentile(ordered, q) for q in (0.5, 0.9, 0.99))
    top = 1e3 * ordered[-1] if ordered else float("nan")
    return (
        f"    {label:<44} n={len(values):>6}  {len(values) / seconds:>7.1f}/s  p50 {p50:7.1f}  "
        f"p90 {p90:7.1f}  p99 {p99:7.1f}  max {top:7.1f} ms"
    )


def report_phase(name: str, phase: Phase) -> list[float]:
    everything = sorted(v for values in phase.latencies.values() for v in values)
    s = phase.seconds
    print(
        f"  {name}: {phase.count} answers in {s:.1f} s = {phase.rate:.1f} requests/s, "
        f"errors {sum(phase.errors.values())} {phase.errors or ''}; server CPU "
        f"{100 * phase.server_cpu / s:.0f} % of a core ({phase.cpu_per_answer_ms:.2f} ms per "
        f"answer), load generator (this process) "
        f"{100 * phase.load_cpu / s:.0f} %; load average {phase.load_before} -> "
        f"{phase.load_after}"
    )
    for label, _ in (*MIX, (HEALTH, 0)):
        if label in phase.latencies:
            print(route_line(label, phase.latencies[label], s))
    if len(phase.latencies) > 1:
        print(route_line("all reads", everything, s))
    return everything


def counts(body: dict[str, Any]) -> str:
    return f"connections {body['by_connection']}, connectors {body['by_connector_status']}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--chargers", type=int, default=50)
    parser.add_argument("--charging", type=int, default=20, help="chargers in a session")
    parser.add_argument("--requests", type=int, default=30000, help="cap per phase")
    parser.add_argument("--seconds", type=float, default=30.0, help="cap per phase")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--think", type=float, default=0.0, help="ms between a client's reads")
    parser.add_argument("--csms", choices=("ocpp-rpc", "builtin"), default="ocpp-rpc")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument(
        "--sample-interval", type=int, default=10, help="MeterValueSampleInterval, simulated s"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument(
        "--per-route", type=int, default=200, help="sequential reads per route (0: none)"
    )
    args = parser.parse_args()
    print(f"load average at start {load()}; {machine()}")
    if args.csms == "ocpp-rpc":
        async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True, quiet=True) as peer:
            figures = await measure(args, peer)
            strict = len(peer.strict_failures)
    else:
        figures, strict = await measure(args, None), 0
    print(
        f"API reads: {args.clients} clients, one keep-alive connection each, closed loop "
        f"(think {args.think:g} ms), up to {args.requests} requests or {args.seconds:g} s per "
        f"phase; {args.chargers} chargers against {args.csms} ({figures['database']}), time "
        f"scale {args.time_scale:g}, samples every {args.sample_interval} simulated s"
    )
    print(f"  fleet before: {counts(figures['before'])}")
    print(f"  fleet after:  {counts(figures['after'])}")
    if figures["frames_in"] is not None:
        print(f"  frames the CSMS received: {figures['frames_in']}, strict failures {strict}")
    health = report_phase("baseline, GET /health", figures["health"])
    reads = report_phase("reads", figures["reads"])
    shared = figures["shared"]
    if shared.get("computations"):
        print(
            f"  shared reads: {shared['reads']:.0f} reads answered by "
            f"{shared['computations']:.0f} computations "
            f"({shared['reads'] / shared['computations']:.2f} reads each)"
        )
    p99_reads, p99_health = percentile(reads, 0.99), percentile(health, 0.99)
    p50_reads, p50_health = percentile(reads, 0.5), percentile(health, 0.5)
    met = "met" if p99_reads <= TARGET_P99 else "NOT met"
    print(
        f"  reads p99 {1e3 * p99_reads:.1f} ms (target <= {1e3 * TARGET_P99:.0f} ms: {met}); "
        f"ratio reads / baseline: p50 {p50_reads / p50_health:.2f}, p99 "
        f"{p99_reads / p99_health:.2f}, requests/s "
        f"{figures['reads'].rate / figures['health'].rate:.2f}, server CPU per answer "
        f"{figures['reads'].cpu_per_answer_ms / figures['health'].cpu_per_answer_ms:.2f}"
    )
    if args.per_route:
        print(
            f"  one client, {args.per_route} reads per route: server CPU per answer (its "
            "fleet's share included) and median time"
        )
        for label, (cpu_ms, median_ms) in figures["costs"].items():
            print(f"    {label:<44} {cpu_ms:6.2f} ms CPU  {median_ms:6.2f} ms")
    print(f"  load average at the end {load()}")


if __name__ == "__main__":
    # The clients on uvloop, as the server: a quarter less CPU per request on the machine they
    # share with it.
    uvloop.run(main())
