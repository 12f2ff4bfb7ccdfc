"""Command fan-out: one `POST /ocpp/commands/start-session` aimed at a whole location of N
chargers of a `voltlab serve` process, booted against an independent CSMS (npm ocpp-rpc, strict
schema validation on or off). Prints the time to the 202 answer, the time until every station's
StartTransaction was on the wire (counted by the CSMS), failed_count, and a ratio against a
baseline measured in the same run: N bare `websockets` clients in one Python process, booted
against the same kind of peer, each sending what a station sends for that command
(StatusNotification Preparing, Authorize, StartTransaction) and awaiting the answers.

    python3 bench/fanout.py --chargers 1000 [--no-strict]

Loopback only; every wait is bounded in time."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from support import (
    DEADLINE,
    PER_LOCATION,
    OcppRpcPeer,
    VoltlabServer,
    calls_of,
    create_fleet,
    machine,
    wait_until,
)

FAST_POLL = 0.05  # seconds between two looks at the peer's StartTransaction count
ID_TAG = "BENCH"


async def started_by(peer: OcppRpcPeer, n: int, timeout: float = DEADLINE) -> float:
    """perf_counter() when the peer has counted n StartTransactions (polled every FAST_POLL)."""
    deadline = time.monotonic() + timeout
    while calls_of(await peer.counts(), "StartTransaction") < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n} StartTransactions not reached within {timeout:.0f} s")
        await asyncio.sleep(FAST_POLL)
    return time.perf_counter()


async def voltlab_run(args: argparse.Namespace, peer: OcppRpcPeer) -> dict[str, Any]:
    n = args.chargers
    async with VoltlabServer() as server:
        (location_id,) = await create_fleet(server, n, csms_url=peer.url)

        async def booted() -> bool:
            counts = await peer.counts()
            return (
                calls_of(counts, "BootNotification") >= n
                and calls_of(counts, "StatusNotification") >= 2 * n
            )

        await wait_until(booted, "all chargers booted")
        await asyncio.sleep(2.0)  # the boot's state writes settle
        cpu0 = server.cpu_seconds()
        event = {"id_tag": ID_TAG, "connector_id": 1, "duration_seconds": 3600}
        started = time.perf_counter()
        body = await server.post(
            "/ocpp/commands/start-session", {"target": {"location_id": location_id}, "event": event}
        )
        answered = time.perf_counter()
        done = await started_by(peer, n - body["failed_count"])
        return {
            "api_seconds": answered - started,
            "wire_seconds": done - started,
            "cpu_seconds": server.cpu_seconds() - cpu0,
            "targeted": body["targeted_count"],
            "queued": body["queued_count"],
            "failed": body["failed_count"],
        }


async def call(ws: ClientConnection, message_id: str, action: str, payload: dict[str, Any]) -> Any:
    await ws.send(json.dumps([2, message_id, action, payload]))
    return json.loads(await ws.recv())


async def baseline_run(args: argparse.Namespace, peer: OcppRpcPeer) -> float:
    """Bare clients boot; timed: StatusNotification Preparing, Authorize, StartTransaction."""
    n = args.chargers
    opened: list[ClientConnection] = []

    async def station(i: int) -> None:
        ws = await connect(
            f"{peer.url}/BARE-{i:05d}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            open_timeout=60,
            compression=None,
        )
        opened.append(ws)
        await call(
            ws,
            f"b{i}",
            "BootNotification",
            {"chargePointVendor": "Bare", "chargePointModel": "Client"},
        )
        for c in (0, 1):
            await call(
                ws,
                f"s{i}-{c}",
                "StatusNotification",
                {"connectorId": c, "errorCode": "NoError", "status": "Available"},
            )

    async def session(i: int, ws: ClientConnection) -> None:
        await call(
            ws,
            f"p{i}",
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"},
        )
        answer = await call(ws, f"a{i}", "Authorize", {"idTag": ID_TAG})
        assert answer[2]["idTagInfo"]["status"] == "Accepted", answer
        start = {
            "connectorId": 1,
            "idTag": ID_TAG,
            "meterStart": 0,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        answer = await call(ws, f"t{i}", "StartTransaction", start)
        assert "transactionId" in answer[2], answer

    try:
        await asyncio.wait_for(asyncio.gather(*(station(i) for i in range(n))), DEADLINE)
        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(session(i, ws) for i, ws in enumerate(opened))), DEADLINE
        )
        elapsed = time.perf_counter() - started
        assert calls_of(await peer.counts(), "StartTransaction") >= n
        return elapsed
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--chargers",
        type=int,
        default=PER_LOCATION,
        help=f"chargers in the one location (at most {PER_LOCATION})",
    )
    parser.add_argument("--no-strict", action="store_true", help="ocpp-rpc strict mode off")
    args = parser.parse_args()
    if not 1 <= args.chargers <= PER_LOCATION:
        parser.error(f"--chargers takes 1 to {PER_LOCATION}")
    strict = not args.no_strict
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict, quiet=True) as peer:
        baseline = await baseline_run(args, peer)
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=strict, quiet=True) as peer:
        figures = await voltlab_run(args, peer)
        strict_failures = len(peer.strict_failures)
    print(
        f"fan-out: start-session on a location of {args.chargers} chargers, model ac-7kw-1c, "
        f"ocpp-rpc strict={strict}"
    )
    print(f"  machine: {machine()}")
    print(
        f"  voltlab: 202 in {1000 * figures['api_seconds']:.0f} ms (targeted "
        f"{figures['targeted']}, queued {figures['queued']}, failed_count {figures['failed']})"
    )
    print(
        f"  voltlab: every StartTransaction on the wire {figures['wire_seconds']:.2f} s after "
        f"the POST (polled every {1000 * FAST_POLL:.0f} ms), CPU {figures['cpu_seconds']:.2f} s, "
        f"strict failures {strict_failures}"
    )
    print(
        f"  baseline (bare websockets clients, same kind of peer, StatusNotification + "
        f"Authorize + StartTransaction each): {baseline:.2f} s"
    )
    print(f"  ratio voltlab / baseline: {figures['wire_seconds'] / baseline:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
