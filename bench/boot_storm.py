"""Boot storm: N stations created through the Gateway API of a `voltlab serve` process boot
against an independent CSMS (npm ocpp-rpc, strict schema validation on or off). Prints seconds
until every station was Accepted and reported all its connectors, the serve process's RSS (base
and per connected station) and CPU seconds, and a ratio against a baseline measured in the same
run: N bare `websockets` clients in one Python process sending the same BootNotification and
StatusNotifications to the same peer.

    python3 bench/boot_storm.py --stations 10000 [--model ac-22kw-2c] [--no-strict]

Loopback only; every wait is bounded in time."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import connect

from support import (
    DEADLINE,
    OcppRpcPeer,
    VoltlabServer,
    calls_of,
    create_fleet,
    machine,
    wait_until,
)
from voltlab.fleet.hosting.runtime import MAX_CONNECTING

CONNECTORS = {"ac-7kw-1c": 1, "ac-22kw-2c": 2}


def all_booted(counts: dict, stations: int, statuses_each: int) -> bool:
    return (
        calls_of(counts, "BootNotification") >= stations
        and calls_of(counts, "StatusNotification") >= stations * statuses_each
    )


async def voltlab_run(args: argparse.Namespace, peer: OcppRpcPeer) -> dict[str, float]:
    statuses_each = CONNECTORS[args.model] + 1  # connector 0 reports too
    async with VoltlabServer() as server:
        base_rss, base_cpu = server.rss_kib(), server.cpu_seconds()
        started = time.perf_counter()
        await create_fleet(server, args.stations, csms_url=peer.url, model=args.model)
        created = time.perf_counter() - started

        async def booted() -> bool:
            return all_booted(await peer.counts(), args.stations, statuses_each)

        done = await wait_until(booted, "all stations booted")
        cpu = server.cpu_seconds() - base_cpu
        await asyncio.sleep(2.0)  # the first batched state writes land before memory is read
        rss = server.rss_kib()
        return {
            "api_seconds": created,
            "boot_seconds": done - started,
            "base_rss_mib": base_rss / 1024,
            "rss_per_station_kib": (rss - base_rss) / args.stations,
            "cpu_seconds": cpu,
        }


async def baseline_run(args: argparse.Namespace, peer: OcppRpcPeer) -> float:
    """Bare clients: connect, BootNotification, one StatusNotification per connector and 0."""
    statuses_each = CONNECTORS[args.model] + 1
    boot = {"chargePointVendor": "Bare", "chargePointModel": "Client"}
    opened: list = []

    # As many handshakes in flight as voltlab allows itself (MAX_CONNECTING in
    # fleet/hosting/runtime.py): more overflow the peer's accept queue and cost a one-second
    # SYN retry.
    gate = asyncio.Semaphore(MAX_CONNECTING)

    async def station(i: int) -> None:
        async with gate:
            ws = await connect(
                f"{peer.url}/BARE-{i:05d}",
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                open_timeout=60,
                compression=None,
            )
        opened.append(ws)  # stays connected, as a booted station does
        await ws.send(json.dumps([2, f"b{i}", "BootNotification", boot]))
        await ws.recv()
        for c in range(statuses_each):
            status = {"connectorId": c, "errorCode": "NoError", "status": "Available"}
            await ws.send(json.dumps([2, f"s{i}-{c}", "StatusNotification", status]))
            await ws.recv()

    started = time.perf_counter()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(station(i) for i in range(args.stations))), DEADLINE
        )
        elapsed = time.perf_counter() - started
        assert all_booted(await peer.counts(), args.stations, statuses_each)
        return elapsed
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--model", default="ac-7kw-1c", choices=sorted(CONNECTORS))
    parser.add_argument("--no-strict", action="store_true", help="ocpp-rpc strict mode off")
    args = parser.parse_args()
    strict = not args.no_strict
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict, quiet=True) as peer:
        baseline = await baseline_run(args, peer)
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict, quiet=True) as peer:
        figures = await voltlab_run(args, peer)
        strict_failures = len(peer.strict_failures)
    print(f"boot storm: {args.stations} stations, model {args.model}, ocpp-rpc strict={strict}")
    print(f"  machine: {machine()}")
    print(
        f"  voltlab: all Accepted + StatusNotifications in {figures['boot_seconds']:.2f} s "
        f"(API calls {figures['api_seconds']:.2f} s), CPU {figures['cpu_seconds']:.2f} s, "
        f"strict failures {strict_failures}"
    )
    print(
        f"  voltlab: RSS base {figures['base_rss_mib']:.1f} MiB, "
        f"{figures['rss_per_station_kib']:.1f} KiB per connected station"
    )
    print(f"  baseline (bare websockets clients, same peer): {baseline:.2f} s")
    print(f"  ratio voltlab / baseline: {figures['boot_seconds'] / baseline:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
