"""Steady state: N stations of a `voltlab serve` process in transactions, each sending MeterValues
every MeterValueSampleInterval simulated seconds (VOLTLAB_TIME_SCALE speeds the clock up), to an
independent CSMS (npm ocpp-rpc, strict schema validation on or off). Prints MeterValues per
second, the serve process's CPU % and OCPP round trips per CPU-second over a window, and ratios
against baselines measured in the same run: N bare `websockets` clients in one Python process
sending a MeterValues frame of the same size to a `websockets` echo server, as fast as they can
and paced at the stations' rate.

    python3 bench/steady_state.py --stations 200 [--seconds 20] [--time-scale 60] [--no-strict]

Loopback only; every wait is bounded in time."""

from __future__ import annotations

import argparse
import asyncio
import json
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
    thread_cpu_seconds,
    wait_until,
)

SETTLE = 3.0  # real seconds after the last StartTransaction before the window opens
# One MeterValues CALL as voltlab sends it for ac-7kw-1c (the four default sampled measurands).
SAMPLE = {"context": "Sample.Periodic", "format": "Raw", "location": "Outlet"}
READINGS = [
    ("123.3", "Energy.Active.Import.Register", "Wh"),
    ("7400.0", "Power.Active.Import", "W"),
    ("32.2", "Current.Import", "A"),
    ("230.0", "Voltage", "V"),
]
METER_VALUES: dict[str, Any] = {
    "connectorId": 1,
    "meterValue": [
        {
            "timestamp": "2026-01-01T00:00:00.000Z",
            "sampledValue": [
                {"value": v, **SAMPLE, "measurand": m, "unit": u} for v, m, u in READINGS
            ],
        }
    ],
    "transactionId": 1,
}

ECHO_SERVER = """
import asyncio, json, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for message in ws:
        await ws.send(message)
async def run():
    async with serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        print(json.dumps(server.sockets[0].getsockname()[1]), flush=True)
        await asyncio.sleep(float(sys.argv[1]))  # bounded: the parent stops it sooner
asyncio.run(run())
"""

# argv: url, connections, seconds, period (0: as fast as possible), payload (JSON)
ECHO_CLIENTS = """
import asyncio, json, os, sys, time
from websockets.asyncio.client import connect
url, n, seconds, period = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
payload, most = json.loads(sys.argv[5]), int(seconds / period) + 1 if period else 10**6
def cpu():
    t = os.times()
    return t.user + t.system
async def client(ws, i, start):
    done, until = 0, start + seconds
    await asyncio.sleep(period * i / n)  # spread the phases
    while done < most and time.perf_counter() < until:
        await ws.send(json.dumps([2, f"{i}-{done}", "MeterValues", payload]))
        json.loads(await ws.recv())
        done += 1
        if period:
            await asyncio.sleep(max(0.0, start + period * (i / n + done) - time.perf_counter()))
    return done
async def run():
    sockets = [await connect(url, compression=None, ping_interval=None) for _ in range(n)]
    start, cpu0 = time.perf_counter(), cpu()
    counts = await asyncio.gather(*(client(ws, i, start) for i, ws in enumerate(sockets)))
    result = {"round_trips": sum(counts), "cpu_seconds": cpu() - cpu0,
              "seconds": time.perf_counter() - start}
    await asyncio.gather(*(ws.close() for ws in sockets))
    print(json.dumps(result), flush=True)
asyncio.run(run())
"""


async def baseline_run(args: argparse.Namespace, period: float) -> dict[str, Any]:
    server = await python_child(ECHO_SERVER, str(DEADLINE))
    try:
        port = await child_json(server, timeout=60)
        clients = await python_child(
            ECHO_CLIENTS,
            f"ws://127.0.0.1:{port}",
            str(args.stations),
            str(args.seconds),
            str(period),
            json.dumps(METER_VALUES),
        )
        try:
            return await child_json(clients)
        finally:
            await stop_child(clients)
    finally:
        await stop_child(server)


def per_cpu_second(figures: dict[str, Any]) -> float:
    return figures["round_trips"] / max(figures["cpu_seconds"], 1e-9)


async def command_statuses(server: VoltlabServer, location_ids: list[str]) -> dict[str, int]:
    """How many of the locations' command records are in each status (pages of 500)."""
    assert server.http is not None
    statuses: dict[str, int] = {}
    for location_id in location_ids:
        params: dict[str, Any] = {"location_id": location_id, "limit": 500}
        for _ in range(100):
            body = (await server.http.get("/ocpp/commands", params=params)).json()
            for item in body["items"]:
                statuses[item["status"]] = statuses.get(item["status"], 0) + 1
            if not body.get("next_cursor"):
                break
            params["cursor"] = body["next_cursor"]
    return statuses


async def command(server: VoltlabServer, slug: str, ids: list[str], event: dict[str, Any]) -> int:
    """The command on every location; returns the failed_count summed."""
    bodies = [
        await server.post(f"/ocpp/commands/{slug}", {"target": {"location_id": i}, "event": event})
        for i in ids
    ]
    return sum(body["failed_count"] for body in bodies)


async def voltlab_run(args: argparse.Namespace, peer: OcppRpcPeer) -> dict[str, Any]:
    n = args.stations
    async with VoltlabServer(VOLTLAB_TIME_SCALE=str(args.time_scale)) as server:
        ids = await create_fleet(server, n, csms_url=peer.url)

        async def booted() -> bool:
            counts = await peer.counts()
            return (
                calls_of(counts, "BootNotification") >= n
                and calls_of(counts, "StatusNotification") >= 2 * n
            )

        async def configured() -> bool:
            statuses = await command_statuses(server, ids)
            return sum(statuses.values()) >= n and not {"queued", "running"} & statuses.keys()

        async def charging() -> bool:
            return calls_of(await peer.counts(), "StartTransaction") >= n

        await wait_until(booted, "all stations booted")
        event = {"key": "MeterValueSampleInterval", "value": str(args.sample_interval)}
        failed = await command(server, "configuration", ids, event)
        await wait_until(configured, "MeterValueSampleInterval set on every station")
        config = await command_statuses(server, ids)
        event = {"id_tag": "BENCH", "connector_id": 1, "duration_seconds": 86400}
        failed += await command(server, "start-session", ids, event)
        await wait_until(charging, "every station in a transaction")
        await asyncio.sleep(SETTLE)
        loop = asyncio.get_running_loop()
        before, cpu0, start = await peer.counts(), server.cpu_seconds(), loop.time()
        threads0 = thread_cpu_seconds(server.pid)
        await asyncio.sleep(args.seconds)
        after, cpu1, end = await peer.counts(), server.cpu_seconds(), loop.time()
        threads1 = thread_cpu_seconds(server.pid)
        calls = {m: calls_of(after, m) - calls_of(before, m) for m in after["calls"]}
        frames = sum(after[k] - before[k] for k in ("frames_in", "frames_out"))
        return {
            "seconds": end - start,
            "cpu_seconds": cpu1 - cpu0,
            "main_thread_cpu": threads1[0] - threads0[0],
            "other_threads_cpu": threads1[1] - threads0[1],
            "failed": failed,
            "meter_values": calls.get("MeterValues", 0),
            "round_trips": sum(calls.values()),
            "frames": frames,
            "config": config,
            "rss_mib": server.rss_kib() / 1024,
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument(
        "--sample-interval",
        type=int,
        default=60,
        help="MeterValueSampleInterval, simulated seconds (its default is 60)",
    )
    parser.add_argument("--no-strict", action="store_true", help="ocpp-rpc strict mode off")
    args = parser.parse_args()
    strict = not args.no_strict
    period = args.sample_interval / args.time_scale  # real seconds between two samples
    flat_out, paced = await baseline_run(args, 0.0), await baseline_run(args, period)
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict, quiet=True) as peer:
        await peer.set_boot(interval=86400)  # a heartbeat a simulated day keeps them out
        figures = await voltlab_run(args, peer)
        strict_failures = len(peer.strict_failures)
    ours, seconds = per_cpu_second(figures), figures["seconds"]
    frame_bytes = len(json.dumps([2, "0123456789ab-99", "MeterValues", METER_VALUES]))
    print(
        f"steady state: {args.stations} stations charging, time scale {args.time_scale:g}, "
        f"MeterValueSampleInterval {args.sample_interval} s, ocpp-rpc strict={strict}"
    )
    print(f"  machine: {machine()}")
    print(
        f"  voltlab: configuration commands {figures['config']}, commands failed at submit "
        f"{figures['failed']}, strict failures {strict_failures}"
    )
    print(
        f"  voltlab: {figures['meter_values'] / seconds:.1f} MeterValues/s (expected "
        f"{args.stations / period:.1f}), {figures['round_trips']} round trips and "
        f"{figures['frames']} frames in {seconds:.1f} s, CPU "
        f"{100 * figures['cpu_seconds'] / seconds:.1f} % of one core, "
        f"RSS {figures['rss_mib']:.1f} MiB"
    )
    print(f"  voltlab: {ours:.0f} round trips per CPU-second")
    per_trip = 1e6 / max(figures["round_trips"], 1)
    print(
        f"  voltlab: per round trip {per_trip * figures['main_thread_cpu']:.0f} us CPU on the "
        f"event loop, {per_trip * figures['other_threads_cpu']:.0f} us in other threads "
        "(frame log and state writes, library threads)"
    )
    for name, base in (("as fast as possible", flat_out), (f"paced, one per {period:g} s", paced)):
        print(
            f"  baseline ({args.stations} bare websockets clients, {frame_bytes}-byte frame to "
            f"an echo server, {name}): {base['round_trips']} round trips in "
            f"{base['seconds']:.1f} s, CPU {base['cpu_seconds']:.2f} s, "
            f"{per_cpu_second(base):.0f} round trips per CPU-second"
        )
    print(
        f"  ratio voltlab / baseline as fast as possible (round trips per CPU-second): "
        f"{ours / per_cpu_second(flat_out):.2f}"
    )
    print(f"  ratio voltlab / baseline paced at the same rate: {ours / per_cpu_second(paced):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
