"""The station's picows client against a `websockets` server: what RpcConnection relies on
(subprotocol, fragmented messages joined, close codes as ConnectionClosed, refusals as
InvalidStatus) holds on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus
from websockets.http11 import Response

from voltlab.fleet.security import describe_connect_error
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
