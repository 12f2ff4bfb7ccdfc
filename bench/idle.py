"""Idle fleet: N stations of a `voltlab serve` process connected to an independent CSMS (npm
ocpp-rpc, strict schema validation on or off) and doing nothing but a Heartbeat every --heartbeat
seconds (the interval the CSMS returns in BootNotification). Prints the serve process's CPU % of
one core over a window, the heartbeats per second the CSMS saw, RSS per connected station, and a
ratio against a baseline measured in the same run: N bare `websockets` clients held open in one
Python process sending a Heartbeat every --heartbeat seconds (phases spread) to the same kind of
peer, its CPU % over a window of the same length.

    python3 bench/idle.py --stations 10000 [--heartbeat 30] [--seconds 60] [--no-strict]

Loopback only; every wait is bounded in time."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from support import (
    DEADLINE,
    OcppRpcPeer,
    VoltlabServer,
    calls_of,
    child_json,
    create_fleet,
    machine,
    python_child,
    stop_child,
    wait_until,
)

SETTLE = 5.0  # seconds between the last station booted and the window

# argv: url, connections, heartbeat, settle, seconds; prints one JSON line with its figures
BARE_STATIONS = """
import asyncio, json, os, resource, sys, time
from websockets.asyncio.client import connect
url, n, beat = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
settle, seconds = float(sys.argv[4]), float(sys.argv[5])
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
        ws = await connect(f"{url}/IDLE-{i:05d}", subprotocols=["ocpp1.6"], open_timeout=60,
                           compression=None, ping_interval=None)
        boot = {"chargePointVendor": "Bare", "chargePointModel": "Client"}
        await ws.send(json.dumps([2, f"b{i}", "BootNotification", boot]))
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
    rss0, gate = rss_kib(), asyncio.Semaphore(200)
    sockets = await asyncio.gather(*(open_station(i, gate) for i in range(n)))
    start = time.perf_counter()
    until = start + settle + seconds + beat  # the last loop ends on its own after the window
    loops = [asyncio.create_task(beat_loop(i, ws, start, until)) for i, ws in enumerate(sockets)]
    await asyncio.sleep(settle)
    cpu0, sent0, t0 = cpu(), sent, time.perf_counter()
    await asyncio.sleep(seconds)
    result = {"cpu_seconds": cpu() - cpu0, "seconds": time.perf_counter() - t0,
              "heartbeats": sent - sent0, "rss_kib_each": (rss_kib() - rss0) / n}
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets))
    print(json.dumps(result), flush=True)
asyncio.run(run())
"""


async def baseline_run(args: argparse.Namespace, peer: OcppRpcPeer) -> dict[str, Any]:
    child = await python_child(
        BARE_STATIONS,
        f"{peer.url}",
        str(args.stations),
        str(args.heartbeat),
        str(SETTLE),
        str(args.seconds),
    )
    try:
        return await child_json(child, timeout=DEADLINE + SETTLE + args.seconds)
    finally:
        await stop_child(child)


async def voltlab_run(args: argparse.Namespace, peer: OcppRpcPeer) -> dict[str, Any]:
    n = args.stations
    async with VoltlabServer() as server:
        base_rss, cpu0 = server.rss_kib(), server.cpu_seconds()
        await asyncio.sleep(SETTLE)  # the server alone, for reference
        base_cpu = (server.cpu_seconds() - cpu0) / SETTLE
        await create_fleet(server, n, csms_url=peer.url)

        async def booted() -> bool:
            counts = await peer.counts()
            return (
                calls_of(counts, "BootNotification") >= n
                and calls_of(counts, "StatusNotification") >= 2 * n
            )

        await wait_until(booted, "all stations booted")
        await asyncio.sleep(SETTLE)
        loop = asyncio.get_running_loop()
        before, cpu0, start = await peer.counts(), server.cpu_seconds(), loop.time()
        await asyncio.sleep(args.seconds)
        after, cpu1, end = await peer.counts(), server.cpu_seconds(), loop.time()
        calls = {m: calls_of(after, m) - calls_of(before, m) for m in after["calls"]}
        return {
            "seconds": end - start,
            "cpu_seconds": cpu1 - cpu0,
            "heartbeats": calls.pop("Heartbeat", 0),
            "other_calls": {m: c for m, c in calls.items() if c},
            "connected": after["connected"],
            "disconnects": after["disconnects"],
            "base_rss_mib": base_rss / 1024,
            "base_cpu_percent": 100 * base_cpu,
            "rss_kib_each": (server.rss_kib() - base_rss) / n,
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=10000)
    parser.add_argument("--heartbeat", type=int, default=30, help="HeartbeatInterval, seconds")
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window")
    parser.add_argument("--no-strict", action="store_true", help="ocpp-rpc strict mode off")
    args = parser.parse_args()
    strict = not args.no_strict
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict, quiet=True) as peer:
        baseline = await baseline_run(args, peer)
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict, quiet=True) as peer:
        await peer.set_boot(interval=args.heartbeat)  # before any station boots
        figures = await voltlab_run(args, peer)
        strict_failures = len(peer.strict_failures)
    ours = 100 * figures["cpu_seconds"] / figures["seconds"]
    beats = figures["heartbeats"] / figures["seconds"]
    theirs = 100 * baseline["cpu_seconds"] / baseline["seconds"]
    expected = args.stations / args.heartbeat
    print(
        f"idle: {args.stations} stations, HeartbeatInterval {args.heartbeat} s, window "
        f"{args.seconds:g} s, ocpp-rpc strict={strict}"
    )
    print(f"  machine: {machine()}")
    print(
        f"  voltlab: CPU {ours:.2f} % of one core, {beats:.1f} heartbeats/s "
        f"(expected {expected:.1f}), other calls {figures['other_calls']}, "
        f"connected {figures['connected']}, disconnects {figures['disconnects']}, "
        f"strict failures {strict_failures}"
    )
    if args.seconds % args.heartbeat:
        print(
            "  note: the window is not a multiple of the interval; voltlab's stations booted "
            "together and beat nearly in phase, so their heartbeats/s is skewed"
        )
    print(
        f"  voltlab: with no stations CPU {figures['base_cpu_percent']:.2f} % of one core, "
        f"RSS {figures['base_rss_mib']:.1f} MiB; "
        f"{figures['rss_kib_each']:.1f} KiB per connected station"
    )
    print(
        f"  baseline (bare websockets clients in one process, same kind of peer): CPU "
        f"{theirs:.2f} % of one core, {baseline['heartbeats'] / baseline['seconds']:.1f} "
        f"heartbeats/s, {baseline['rss_kib_each']:.1f} KiB per connection"
    )
    print(f"  ratio voltlab / baseline (CPU %): {ours / max(theirs, 1e-9):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
