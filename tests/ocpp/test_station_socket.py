"""The station's picows client against a `websockets` server: what RpcConnection relies on
(subprotocol, fragmented messages joined, close codes as ConnectionClosed, refusals as
InvalidStatus) holds on the wire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus
from websockets.http11 import Response

from voltlab.fleet.driver.security import describe_connect_error
from voltlab.ocpp.connection import RpcConnection
from voltlab.ocpp.errors import ConnectionLost
from voltlab.ocpp.station_socket import open_station_socket

Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def ws_server(handler: Handler, **options: Any) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"], **options) as server:  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp/CS1"


async def test_subprotocol_headers_and_echo() -> None:
    seen: dict[str, Any] = {}

    async def handler(ws: ServerConnection) -> None:
        seen["path"] = ws.request.path
        seen["auth"] = ws.request.headers.get("Authorization")
        async for message in ws:
            await ws.send(f"echo:{message}")

    async with ws_server(handler) as url:
        sock = await open_station_socket(url, "ocpp1.6", headers={"Authorization": "Basic eA=="})
        assert sock.subprotocol == "ocpp1.6"
        await sock.send('[2,"1","Heartbeat",{}]')
        assert await sock.recv() == 'echo:[2,"1","Heartbeat",{}]'
        await sock.close()
    assert seen == {"path": "/ocpp/CS1", "auth": "Basic eA=="}


async def test_fragmented_message_is_joined() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(["[3,", '"7",', "{}]"])  # three frames, one message
        await ws.wait_closed()

    async with ws_server(handler) as url:
        sock = await open_station_socket(url, "ocpp1.6")
        assert await asyncio.wait_for(sock.recv(), 5) == '[3,"7",{}]'
        await sock.close()


@pytest.mark.parametrize(
    ("code", "error"), [(1000, ConnectionClosedOK), (4001, ConnectionClosedError)]
)
async def test_close_from_the_csms_ends_recv(code: int, error: type[Exception]) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("last")
        await ws.close(code, "bye")

    async with ws_server(handler) as url:
        sock = await open_station_socket(url, "ocpp1.6")
        assert await asyncio.wait_for(sock.recv(), 5) == "last"
        with pytest.raises(error) as raised:
            await asyncio.wait_for(sock.recv(), 5)
        assert raised.value.rcvd is not None and raised.value.rcvd.code == code
        with pytest.raises(error):
            await sock.send("after close")


async def test_refused_upgrade_is_invalid_status_with_the_body() -> None:
    def refuse(connection: ServerConnection, request: Any) -> Response:
        return Response(401, "Unauthorized", Headers(), b"wrong password")

    async def handler(ws: ServerConnection) -> None:  # never reached
        await ws.close()

    async with ws_server(handler, process_request=refuse) as url:
        with pytest.raises(InvalidStatus) as raised:
            await open_station_socket(url, "ocpp1.6")
    assert raised.value.response.status_code == 401
    described = describe_connect_error(raised.value)
    assert "401 Unauthorized" in described and "wrong password" in described


async def test_no_subprotocol_chosen_is_reported_as_none() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:  # offers no subprotocol
        port = server.sockets[0].getsockname()[1]
        sock = await open_station_socket(f"ws://127.0.0.1:{port}/x", "ocpp1.6")
        assert sock.subprotocol is None
        await sock.close()


async def test_rpc_connection_on_a_station_socket_gets_every_message_delivered() -> None:
    # RpcConnection runs on StationSocket.deliver_to (messages pushed from picows' callback,
    # no reader task): answers, incoming CALLs, a malformed frame, binary ignored, and the
    # CSMS closing the connection all behave as on the recv() loop.
    received: list[Any] = []
    answered = asyncio.Event()

    async def csms(ws: ServerConnection) -> None:
        await ws.send(b"\x00binary")  # not OCPP-J: logged and ignored
        await ws.send('[2,"in-1","Reset",{"type":"Soft"}]')
        received.append(json.loads(await ws.recv()))  # the CALLRESULT to Reset
        await ws.send("[2,")  # malformed: answered with a CALLERROR, id -1
        received.append(json.loads(await ws.recv()))
        answered.set()
        for _ in range(3):
            call = json.loads(await ws.recv())
            received.append(call[2])
            await ws.send(json.dumps([3, call[1], {"currentTime": "2024-05-01T12:00:00Z"}]))
        await ws.close(1000)

    async def handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"status": "Accepted"}

    frames: list[tuple[str, str]] = []
    async with ws_server(csms) as url:
        sock = await open_station_socket(url, "ocpp1.6")
        rpc = RpcConnection(
            sock, "ocpp1.6", handler=handler, on_frame=lambda d, t: frames.append((d, t))
        )
        reader = asyncio.create_task(rpc.run())
        await asyncio.wait_for(answered.wait(), 5)
        for _ in range(3):
            assert await rpc.call("Heartbeat", {}) == {"currentTime": "2024-05-01T12:00:00Z"}
        await asyncio.wait_for(reader, 5)  # the CSMS's close ends run()
    assert received == [
        [3, "in-1", {"status": "Accepted"}],
        [4, "-1", "FormationViolation", received[1][3], {}],
        "Heartbeat",
        "Heartbeat",
        "Heartbeat",
    ]
    assert rpc.closed
    assert [d for d, _ in frames] == ["in", "in", "out", "in", "out"] + ["out", "in"] * 3
    with pytest.raises(ConnectionLost):
        await rpc.call("Heartbeat", {})
