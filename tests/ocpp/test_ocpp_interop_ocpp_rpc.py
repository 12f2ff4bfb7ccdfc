"""Interop with an RPC stack we did not write: the npm ``ocpp-rpc`` CSMS in strict mode.

The peer (tests/peers/ocpp_rpc/csms.js) validates every frame against the OCA schemas in
both directions, so a frame we get wrong shows up as a strict_failure or bad_message.
Installs the peer's node_modules on first use, like the other peer tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from voltlab.ocpp.connection import RpcConnection
from voltlab.ocpp.versions import OCPP16, OCPP201

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "ocpp_rpc"
NODE = shutil.which("node")


@pytest.fixture(autouse=True, scope="module")
def _node_peer_installed() -> None:
    # The peer is part of the test suite: install it (npm ci) rather than skip without it.
    from peers.ocpp_rpc_peer import ensure_node_modules

    ensure_node_modules()


class NodeCsms:
    """Drives csms.js over stdin/stdout: commands out, replies and events in."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            message = json.loads(line)
            future = self._replies.pop(message.get("reply_to", -1), None)
            if future is not None:
                future.set_result(message)
            else:
                await self.events.put(message)

    async def command(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[command_id] = future
        self.process.stdin.write(
            (json.dumps({"id": command_id, "op": op, **fields}) + "\n").encode()
        )
        await self.process.stdin.drain()
        return await asyncio.wait_for(future, 5.0)

    async def event(self, kind: str, **match: Any) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(self.events.get(), 5.0)
            assert message.get("event") not in ("strict_failure", "bad_message"), message
            if message.get("event") == kind and all(message.get(k) == v for k, v in match.items()):
                return message

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # csms.js shuts down when stdin closes
        try:
            await asyncio.wait_for(self.process.wait(), 5.0)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()


@contextlib.asynccontextmanager
async def node_csms() -> AsyncIterator[tuple[NodeCsms, int]]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(PEER_DIR / "csms.js"),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--protocols",
        f"{OCPP16},{OCPP201}",
        cwd=PEER_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    peer = NodeCsms(process)
    try:
        listening = await peer.event("listening")
        yield peer, int(listening["port"])
    finally:
        await peer.stop()


RESET = {OCPP16: {"type": "Soft"}, OCPP201: {"type": "OnIdle"}}
BOOT = {
    OCPP16: {"chargePointVendor": "voltlab", "chargePointModel": "VL-1"},
    OCPP201: {"reason": "PowerUp", "chargingStation": {"model": "VL-1", "vendorName": "voltlab"}},
}
UNLOCK = {OCPP16: {"connectorId": 1}, OCPP201: {"evseId": 1, "connectorId": 1}}


async def station_handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"status": "Accepted"}


@pytest.mark.parametrize("version", [OCPP16, OCPP201])
async def test_station_against_ocpp_rpc_csms(version: str) -> None:
    async with (
        node_csms() as (csms, port),
        connect(
            f"ws://127.0.0.1:{port}/VL0001",
            subprotocols=[version],  # type: ignore[list-item]
        ) as websocket,
    ):
        station = RpcConnection(
            websocket, version, handler=station_handler, supported_actions={"Reset"}
        )
        read_loop = asyncio.create_task(station.run())
        await csms.event("connected", identity="VL0001", protocol=version)

        boot = await station.call("BootNotification", BOOT[version])
        assert boot["status"] == "Accepted"

        reply = await csms.command("call", identity="VL0001", method="Reset", params=RESET[version])
        assert reply == {
            "reply_to": reply["reply_to"],
            "ok": True,
            "result": {"status": "Accepted"},
        }

        reply = await csms.command(
            "call", identity="VL0001", method="UnlockConnector", params=UNLOCK[version]
        )
        assert reply["ok"] is False and reply["error"]["code"] == "NotSupported"

        await csms.command("send_raw", identity="VL0001", text='[2,"raw-1","NoSuchAction",{}]')
        frame = await csms.event("frame", direction="in", identity="VL0001")
        while frame["frame"][1] != "raw-1":
            frame = await csms.event("frame", direction="in", identity="VL0001")
        assert frame["frame"][:3] == [4, "raw-1", "NotImplemented"]

        await station.close()
        await asyncio.wait_for(read_loop, 5.0)
