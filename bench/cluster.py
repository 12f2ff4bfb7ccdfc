"""Cluster: several `voltlab serve` processes on one fresh PostgreSQL database (issue 14) host N
stations together against independent CSMSs (npm ocpp-rpc, strict schema validation on or off),
with the lease length and heartbeat a user gets by default. Prints

- the boot storm: seconds until every station was Accepted and reported its connectors, and
  each process's stations, CPU seconds and RSS;
- the idle fleet (a Heartbeat every --heartbeat seconds): each process's CPU % of one core and
  RSS per hosted station over a window, and what the database did meanwhile (commits, rows
  written, bytes, the CPU of the installation's PostgreSQL backends);
- a lease takeover: `kill -9` of one process (its PID) while it hosts about 1/processes of
  --takeover-stations, then seconds until every one of its stations is connected again at the
  CSMS through the others (a fresh database and fresh processes of their own).

The baseline, measured in the same run, is the single-process benches' one, split the same way:
one process of bare `websockets` clients per CSMS, each doing what boot_storm.py's baseline does
(BootNotification, a StatusNotification for connector 0 and 1) and then idle.py's (a Heartbeat
every --heartbeat seconds, phases spread), CPU % over a window of the same length.

A process holds at most RLIMIT_NOFILE descriptors (one per WebSocket), so the stations are spread
over as many ocpp-rpc peers as that needs (each peer process one CSMS URL), and the baseline
runs one client process per peer.

    python3 bench/cluster.py [--stations 20000] [--takeover-stations 10000] [--processes 2]
        [--heartbeat 30] [--seconds 60] [--postgres URL] [--no-strict] [--skip-takeover]

Loopback only; every wait is bounded in count and time; only this run's PIDs are signalled."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import resource
import signal
import time
from typing import Any

from sqlalchemy import create_engine, text

from support import (
    DEADLINE,
    OcppRpcPeer,
    VoltlabServer,
    calls_of,
    child_json,
    cpu_seconds,
    create_fleet,
    fresh_database,
    machine,
    python_child,
    stop_child,
    wait_until,
)
from voltlab.fleet.hosting.runtime import MAX_CONNECTING

SETTLE = 5.0  # seconds between the last station booted and a window
FD_MARGIN = 1000  # descriptors a peer or client process keeps for itself (stdio, epoll, node)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# argv: url, stations, prefix, gate, heartbeat, settle, seconds. Boots its stations (Boot, then
# StatusNotification for connectors 0 and 1), then beats as idle.py's bare clients do; prints
# one JSON line with its figures.
BARE_STATIONS = """
import asyncio, json, os, resource, sys, time
from websockets.asyncio.client import connect
url, n, prefix, gate_size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
beat, settle, seconds = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
sent = 0
def cpu():
    t = os.times()
    return t.user + t.system
def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
async def open_station(i, gate):
    async with gate:
        ws = await connect(f"{url}/{prefix}{i:05d}", subprotocols=["ocpp1.6"], open_timeout=60,
                           compression=None, ping_interval=None)
    boot = {"chargePointVendor": "Bare", "chargePointModel": "Client"}
    await ws.send(json.dumps([2, f"b{i}", "BootNotification", boot]))
    await ws.recv()
    for c in range(2):
        status = {"connectorId": c, "errorCode": "NoError", "status": "Available"}
        await ws.send(json.dumps([2, f"s{i}-{c}", "StatusNotification", status]))
        await ws.recv()
    return ws
async def beat_loop(i, ws, start, until):
    global sent
    k = 0
    while True:
        due = start + beat * (i / n + k)
        if due >= until:
            return
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await ws.send(json.dumps([2, f"h{i}-{k}", "Heartbeat", {}]))
        await ws.recv()
        sent, k = sent + 1, k + 1
async def run():
    rss0, gate = rss_kib(), asyncio.Semaphore(gate_size)
    cpu_boot, began = cpu(), time.perf_counter()
    sockets = await asyncio.gather(*(open_station(i, gate) for i in range(n)))
    booted = {"boot_seconds": time.perf_counter() - began, "boot_cpu_seconds": cpu() - cpu_boot}
    start = time.perf_counter()
    until = start + settle + seconds + beat  # the last loop ends on its own after the window
    loops = [asyncio.create_task(beat_loop(i, ws, start, until)) for i, ws in enumerate(sockets)]
    await asyncio.sleep(settle)
    cpu0, sent0, t0 = cpu(), sent, time.perf_counter()
    await asyncio.sleep(seconds)
    result = {**booted, "cpu_seconds": cpu() - cpu0, "seconds": time.perf_counter() - t0,
              "heartbeats": sent - sent0, "rss_kib_each": (rss_kib() - rss0) / n}
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets))
    print(json.dumps(result), flush=True)
asyncio.run(run())
"""


def per_process_limit() -> int:
    """Stations one peer (or bare client) process can hold: its descriptor limit, raised to the
    hard limit here (children inherit it), less what it needs for itself."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard - FD_MARGIN


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


async def summed(peers: list[OcppRpcPeer]) -> dict[str, Any]:
    """The peers' counts added up (calls per method, connects, disconnects, connected)."""
    total: dict[str, Any] = {"calls": {}, "connects": 0, "disconnects": 0, "connected": 0}
    for counts in await asyncio.gather(*(peer.counts() for peer in peers)):
        for key in ("connects", "disconnects", "connected"):
            total[key] += counts[key]
        for method, count in counts["calls"].items():
            total["calls"][method] = total["calls"].get(method, 0) + count
    return total


async def baseline_run(args: argparse.Namespace, peers: list[OcppRpcPeer]) -> list[dict]:
    shares = split(args.stations, len(peers))
    children = [
        await python_child(
            BARE_STATIONS,
            peer.url,
            str(share),
            f"BARE{p}-",
            str(MAX_CONNECTING),
            str(args.heartbeat),
            str(SETTLE),
            str(args.seconds),
        )
        for p, (peer, share) in enumerate(zip(peers, shares, strict=True))
    ]
    try:
        timeout = 2 * DEADLINE + SETTLE + args.seconds
        return list(await asyncio.gather(*(child_json(c, timeout=timeout) for c in children)))
    finally:
        await asyncio.gather(*(stop_child(c) for c in children))


class Database:
    """What PostgreSQL says about the installation's database: its counters, its size, the
    server's WAL position (server-wide: other work on the server adds to it) and the CPU of
    the backends serving this database (read from /proc)."""

    def __init__(self, url: str) -> None:
        self.name = url.rsplit("/", 1)[1]
        self.engine = create_engine(url, pool_size=1)

    def sample(self) -> dict[str, float]:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, "
                    "pg_database_size(datname), "
                    "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') "
                    "FROM pg_stat_database WHERE datname = :d"
                ),
                {"d": self.name},
            ).one()
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.name}
            ).scalars()
            backend_cpu = 0.0
            for pid in pids:
                with contextlib.suppress(OSError):  # a backend that ended meanwhile
                    backend_cpu += cpu_seconds(pid)
        keys = ("commits", "inserted", "updated", "deleted", "size", "wal", "backend_cpu")
        return dict(zip(keys, [float(v) for v in row] + [backend_cpu], strict=True))

    def frames_bytes(self) -> tuple[int, int]:
        """(rows, bytes with indexes and TOAST) of the frame log."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM frames")).scalar_one()
            size = conn.execute(text("SELECT pg_total_relation_size('frames')")).scalar_one()
        return int(rows), int(size)

    def close(self) -> None:
        self.engine.dispose()


async def hosted(server: VoltlabServer) -> dict[int, int]:
    """PID -> chargers hosted, from `GET /cluster`."""
    assert server.http is not None
    response = await server.http.get("/cluster")
    response.raise_for_status()
    return {w["pid"]: w["chargers"] for w in response.json()["workers"]}


async def start_cluster(
    stack: contextlib.AsyncExitStack, args: argparse.Namespace, url: str, stations: int
) -> tuple[list[OcppRpcPeer], list[VoltlabServer]]:
    """Peers (enough for `stations`) and the processes on `url`; all stopped by `stack`, the
    processes first (SIGTERM to all at once, so none takes over another's stations)."""
    peers = []
    for _ in range(math.ceil(stations / per_process_limit())):
        peer = OcppRpcPeer(protocols=("ocpp1.6",), strict=not args.no_strict, quiet=True)
        peers.append(await stack.enter_async_context(peer))
        await peer.set_boot(interval=args.heartbeat)  # before any station boots
    servers = [VoltlabServer(database_url=url) for _ in range(args.processes)]
    for server in servers:
        await stack.enter_async_context(server)

    def terminate_all() -> None:
        for server in servers:
            if server.proc is not None and server.proc.poll() is None:
                server.proc.terminate()  # this PID only

    stack.callback(terminate_all)
    return peers, servers


async def boot(servers: list[VoltlabServer], peers: list[OcppRpcPeer], stations: int) -> float:
    """Create the fleet through the first process (each peer its share); seconds until all
    booted and reported connectors 0 and 1."""
    started = time.perf_counter()
    for p, (peer, share) in enumerate(zip(peers, split(stations, len(peers)), strict=True)):
        await create_fleet(servers[0], share, csms_url=peer.url, name=f"bench{p}")

    async def booted() -> bool:
        counts = await summed(peers)
        return (
            calls_of(counts, "BootNotification") >= stations
            and calls_of(counts, "StatusNotification") >= 2 * stations
        )

    return await wait_until(booted, "all stations booted") - started


async def cluster_run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as stack:
        peers, servers = await start_cluster(stack, args, url, args.stations)
        database = Database(url)
        stack.callback(database.close)
        base_rss = [s.rss_kib() for s in servers]
        cpu0 = [s.cpu_seconds() for s in servers]
        boot_seconds = await boot(servers, peers, args.stations)
        boot_cpu = [s.cpu_seconds() - c for s, c in zip(servers, cpu0, strict=True)]
        await asyncio.sleep(SETTLE)
        counts = await hosted(servers[0])
        before_db, before = database.sample(), await summed(peers)
        cpu0, t0 = [s.cpu_seconds() for s in servers], time.perf_counter()
        await asyncio.sleep(args.seconds)
        cpu1, t1 = [s.cpu_seconds() for s in servers], time.perf_counter()
        after_db, after = database.sample(), await summed(peers)
        rows, frame_bytes = database.frames_bytes()
        processes = []
        for s, rss0, c0, c1, bc in zip(servers, base_rss, cpu0, cpu1, boot_cpu, strict=True):
            n = counts.get(s.pid, 0)
            rss = s.rss_kib()
            processes.append(
                {
                    "pid": s.pid,
                    "stations": n,
                    "boot_cpu_seconds": bc,
                    "cpu_percent": 100 * (c1 - c0) / (t1 - t0),
                    "base_rss_mib": rss0 / 1024,
                    "rss_mib": rss / 1024,
                    "rss_kib_each": (rss - rss0) / max(n, 1),
                }
            )
        calls = {
            m: calls_of(after, m) - calls_of(before, m)
            for m in after["calls"]
            if calls_of(after, m) != calls_of(before, m)
        }
        return {
            "boot_seconds": boot_seconds,
            "processes": processes,
            "seconds": t1 - t0,
            "calls": calls,
            "connected": after["connected"],
            "disconnects": after["disconnects"] - before["disconnects"],
            "db": {k: after_db[k] - before_db[k] for k in after_db},
            "db_size": after_db["size"],
            "frames": (rows, frame_bytes),
            "strict_failures": sum(len(p.strict_failures) for p in peers),
            "peers": len(peers),
        }


async def takeover_run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as stack:
        peers, servers = await start_cluster(stack, args, url, args.takeover_stations)
        total = args.takeover_stations
        await boot(servers, peers, total)
        await asyncio.sleep(SETTLE)
        survivor, victim = servers[0], servers[-1]
        held = (await hosted(survivor)).get(victim.pid, 0)
        before = await summed(peers)
        cpu0 = [s.cpu_seconds() for s in servers[:-1]]
        assert victim.proc is not None
        killed = time.perf_counter()
        os.kill(victim.pid, signal.SIGKILL)  # this PID only
        victim.proc.wait(timeout=30)

        async def gone() -> bool:
            return (await summed(peers))["disconnects"] >= before["disconnects"] + held

        seen_gone = await wait_until(gone, "the victim's stations disconnected at the peer")

        async def first_back() -> bool:
            return (await summed(peers))["connects"] > before["connects"]

        first = await wait_until(first_back, "a first station back")

        async def all_back() -> bool:
            now = await summed(peers)
            return now["connected"] >= total and now["connects"] >= before["connects"] + held

        done = await wait_until(all_back, "every station connected again")
        after = await summed(peers)
        cpu = sum(s.cpu_seconds() for s in servers[:-1]) - sum(cpu0)
        return {
            "stations": total,
            "held": held,
            "gone_seconds": seen_gone - killed,
            "first_seconds": first - killed,
            "all_seconds": done - killed,
            "boots": calls_of(after, "BootNotification") - calls_of(before, "BootNotification"),
            "survivor_cpu_seconds": cpu,
            "survivor_rss_mib": [s.rss_kib() / 1024 for s in servers[:-1]],
            "strict_failures": sum(len(p.strict_failures) for p in peers),
        }


def report(args: argparse.Namespace, bare: list[dict], ours: dict[str, Any]) -> None:
    strict = not args.no_strict
    print(
        f"cluster: {args.stations} stations (ac-7kw-1c, 1.6) on {args.processes} processes, one "
        f"PostgreSQL, {ours['peers']} ocpp-rpc peer(s) (strict={strict}), default lease 10 s"
    )
    print(f"  machine: {machine()}")
    bare_boot = max(b["boot_seconds"] for b in bare)
    print(
        f"  boot storm: all Accepted + StatusNotifications in {ours['boot_seconds']:.2f} s; "
        f"baseline ({len(bare)} bare-client processes) {bare_boot:.2f} s; "
        f"ratio {ours['boot_seconds'] / bare_boot:.2f}"
    )
    for p in ours["processes"]:
        print(
            f"    process {p['pid']}: {p['stations']} stations, boot CPU "
            f"{p['boot_cpu_seconds']:.2f} s, RSS {p['base_rss_mib']:.1f} MiB empty -> "
            f"{p['rss_mib']:.1f} MiB, {p['rss_kib_each']:.1f} KiB per station"
        )
    beats = ours["calls"].get("Heartbeat", 0) / ours["seconds"]
    print(
        f"  idle, Heartbeat every {args.heartbeat} s, window {ours['seconds']:.0f} s: "
        f"{beats:.1f} heartbeats/s (expected {args.stations / args.heartbeat:.1f}), calls "
        f"{ours['calls']}, connected {ours['connected']}, disconnects {ours['disconnects']}, "
        f"strict failures {ours['strict_failures']}"
    )
    bare_cpu = [100 * b["cpu_seconds"] / b["seconds"] for b in bare]
    bare_rss = ", ".join(f"{b['rss_kib_each']:.1f}" for b in bare)
    for p in ours["processes"]:
        print(f"    process {p['pid']}: CPU {p['cpu_percent']:.2f} % of one core")
    total = sum(p["cpu_percent"] for p in ours["processes"])
    print(
        f"    all processes: CPU {total:.2f} % of one core; baseline {sum(bare_cpu):.2f} % "
        f"({len(bare)} processes: " + ", ".join(f"{c:.2f} %" for c in bare_cpu) + f"; "
        f"{bare_rss} KiB per connection); ratio {total / max(sum(bare_cpu), 1e-9):.2f}"
    )
    db, s = ours["db"], ours["seconds"]
    per = args.stations
    written = db["inserted"] + db["updated"] + db["deleted"]
    print(
        f"  PostgreSQL over the window: {db['commits'] / s:.1f} commits/s, rows inserted "
        f"{db['inserted'] / s:.1f}/s, updated {db['updated'] / s:.1f}/s, deleted "
        f"{db['deleted'] / s:.1f}/s ({1e3 * written / s / per:.2f} rows/s per 1 000 stations), "
        f"WAL {db['wal'] / s / 1024:.1f} KiB/s (server-wide), database "
        f"+{db['size'] / 1024:.0f} KiB -> {ours['db_size'] / 2**20:.1f} MiB, backends' CPU "
        f"{100 * db['backend_cpu'] / s:.2f} % of one core"
    )
    rows, size = ours["frames"]
    print(f"    frame log: {rows} rows, {size / 2**20:.1f} MiB ({size / max(rows, 1):.0f} B/row)")


def report_takeover(t: dict[str, Any]) -> None:
    print(
        f"  takeover: kill -9 of a process hosting {t['held']} of {t['stations']} stations: "
        f"gone at the peer after {t['gone_seconds']:.2f} s, first back after "
        f"{t['first_seconds']:.2f} s, all connected again after {t['all_seconds']:.2f} s "
        f"({t['boots']} BootNotifications by then); survivor CPU "
        f"{t['survivor_cpu_seconds']:.2f} s, RSS "
        + ", ".join(f"{r:.1f} MiB" for r in t["survivor_rss_mib"])
        + f"; strict failures {t['strict_failures']}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=20000)
    parser.add_argument("--takeover-stations", type=int, default=10000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--heartbeat", type=int, default=30, help="HeartbeatInterval, seconds")
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window")
    parser.add_argument("--postgres", default=POSTGRES, help="a server's maintenance database")
    parser.add_argument("--no-strict", action="store_true", help="ocpp-rpc strict mode off")
    parser.add_argument("--skip-takeover", action="store_true")
    args = parser.parse_args()
    if args.processes < 2:
        parser.error("--processes: at least 2 (one is killed)")
    limit = per_process_limit()
    print(f"load average at start {load()}; {limit} stations per peer process (RLIMIT_NOFILE)")
    async with contextlib.AsyncExitStack() as stack:
        peers = [
            await stack.enter_async_context(
                OcppRpcPeer(protocols=("ocpp1.6",), strict=not args.no_strict, quiet=True)
            )
            for _ in range(math.ceil(args.stations / limit))
        ]
        bare = await baseline_run(args, peers)
    print(f"load average after the baseline {load()}")
    with fresh_database(args.postgres) as url:
        ours = await cluster_run(args, url)
    report(args, bare, ours)
    print(f"  load average after the cluster run {load()}")
    if not args.skip_takeover:
        with fresh_database(args.postgres) as url:
            report_takeover(await takeover_run(args, url))
        print(f"  load average at the end {load()}")


if __name__ == "__main__":
    asyncio.run(main())
