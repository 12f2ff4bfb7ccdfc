"""Boot storm: N stations created through the Gateway API of a `voltlab serve` process boot
against an independent CSMS (npm ocpp-rpc, strict or not). Prints seconds until every station
was Accepted and reported its connectors, the serve process's RSS (base and per station) and
CPU seconds, and a ratio against a baseline measured in the same run: N bare websockets clients
in one Python process doing the same BootNotification + StatusNotifications.

    python3 bench/boot_storm.py --stations 1000 [--model ac-7kw-1c] [--no-strict]

Loopback only; every loop is bounded in count and time."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from peers.ocpp_rpc_peer import OcppRpcPeer  # noqa: E402

API_KEY = "vl_bench_" + "b" * 32
PER_LOCATION = 1000
DEADLINE = 600.0  # seconds any phase may take


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_for(predicate, what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        await asyncio.sleep(0.05)


def booted(peer: OcppRpcPeer, stations: int, statuses_each: int) -> bool:
    boots = statuses = 0
    for event in peer.events:
        if event.get("event") == "call":
            if event["method"] == "BootNotification":
                boots += 1
            elif event["method"] == "StatusNotification":
                statuses += 1
    return boots >= stations and statuses >= stations * statuses_each


async def voltlab_run(args: argparse.Namespace, peer: OcppRpcPeer) -> dict[str, float]:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="voltlab-bench-"))
    env = dict(
        os.environ,
        VOLTLAB_DATABASE_URL=f"sqlite:///{workdir / 'voltlab.db'}",
        VOLTLAB_API_KEY=API_KEY,
        VOLTLAB_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    log = open(workdir / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "voltlab", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            timeout=120,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("voltlab serve did not start")
                await asyncio.sleep(0.1)
            base_rss, base_cpu = rss_kib(proc.pid), cpu_seconds(proc.pid)
            connectors = 1 if args.model == "ac-7kw-1c" else 2
            started = time.perf_counter()
            remaining, index = args.stations, 0
            while remaining > 0:
                count = min(PER_LOCATION, remaining)
                response = await http.post(
                    "/ocpp/locations",
                    json={
                        "name": f"bench-{index}",
                        "csms_url": peer.url,
                        "ocpp_version": "ocpp1.6",
                        "chargers": count,
                        "model": args.model,
                        "identity_prefix": f"B{index:02d}-",
                    },
                )
                response.raise_for_status()
                remaining -= count
                index += 1
            created = time.perf_counter() - started
            await wait_for(
                lambda: booted(peer, args.stations, connectors + 1), "all stations booted"
            )
            elapsed = time.perf_counter() - started
            await asyncio.sleep(2.0)  # let buffered state writes settle before measuring memory
            rss = rss_kib(proc.pid)
            return {
                "api_seconds": created,
                "boot_seconds": elapsed,
                "base_rss_mib": base_rss / 1024,
                "rss_per_station_kib": (rss - base_rss) / args.stations,
                "cpu_seconds": cpu_seconds(proc.pid) - base_cpu,
            }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def baseline_run(args: argparse.Namespace, peer: OcppRpcPeer) -> float:
    """Bare clients: connect, BootNotification, StatusNotification per connector + 0."""
    connectors = 1 if args.model == "ac-7kw-1c" else 2
    boot = {"chargePointVendor": "Bare", "chargePointModel": "Client"}

    async def station(i: int) -> None:
        async with connect(
            f"{peer.url}/BARE-{i:05d}", subprotocols=["ocpp1.6"], open_timeout=60
        ) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps([2, f"b{i}", "BootNotification", boot]))
            await ws.recv()
            for c in range(connectors + 1):
                status = {"connectorId": c, "errorCode": "NoError", "status": "Available"}
                await ws.send(json.dumps([2, f"s{i}-{c}", "StatusNotification", status]))
                await ws.recv()

    started = time.perf_counter()
    limit = asyncio.Semaphore(500)  # a bounded number of handshakes in flight

    async def bounded(i: int) -> None:
        async with limit:
            await station(i)

    await asyncio.wait_for(asyncio.gather(*(bounded(i) for i in range(args.stations))), DEADLINE)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--model", default="ac-7kw-1c", choices=["ac-7kw-1c", "ac-22kw-2c"])
    parser.add_argument("--no-strict", action="store_true")
    args = parser.parse_args()
    strict = not args.no_strict
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict) as peer:
        baseline = await baseline_run(args, peer)
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict) as peer:
        figures = await voltlab_run(args, peer)
    print(f"boot storm: {args.stations} stations, model {args.model}, ocpp-rpc strict={strict}")
    print(
        f"  voltlab: all Accepted + statuses in {figures['boot_seconds']:.2f} s "
        f"(API calls {figures['api_seconds']:.2f} s), CPU {figures['cpu_seconds']:.2f} s"
    )
    print(
        f"  voltlab: RSS base {figures['base_rss_mib']:.1f} MiB, "
        f"{figures['rss_per_station_kib']:.1f} KiB per connected station"
    )
    print(f"  baseline (bare websockets clients, same peer): {baseline:.2f} s")
    print(f"  ratio voltlab / baseline: {figures['boot_seconds'] / baseline:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
