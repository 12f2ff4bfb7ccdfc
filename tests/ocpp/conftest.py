"""Fixtures for the voltlab.ocpp tests: real websockets pairs on 127.0.0.1.

No ``__init__.py`` in this folder on purpose: as a package named ``ocpp`` it could shadow
the site-packages ``ocpp`` distribution that carries the OCA schemas.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

try:  # run from a checkout without `pip install -e .`
    import voltlab  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402

from voltlab.ocpp.connection import RpcConnection  # noqa: E402


class RawPeer:
    """The far end of a link, driven frame by frame so tests see exactly what was sent."""

    def __init__(self, websocket: ServerConnection | ClientConnection) -> None:
        self.websocket = websocket

    async def send(self, frame: list[Any] | str | bytes) -> None:
        if isinstance(frame, list):
            frame = json.dumps(frame)
        await self.websocket.send(frame)

    async def recv_text(self, timeout: float = 2.0) -> str:
        text = await asyncio.wait_for(self.websocket.recv(), timeout)
        assert isinstance(text, str)
        return text

    async def recv(self, timeout: float = 2.0) -> list[Any]:
        return json.loads(await self.recv_text(timeout))

    async def expect_silence(self, duration: float = 0.2) -> None:
        # Cancelling recv() is safe in websockets' asyncio API: no message is lost.
        try:
            frame = await asyncio.wait_for(self.websocket.recv(), duration)
        except TimeoutError:
            return
        raise AssertionError(f"expected no frame, got {frame!r}")

    async def close(self) -> None:
        await self.websocket.close()


class Lab:
    """Opens websockets server/client pairs and runs RpcConnections; cleans up after."""

    def __init__(self, stack: contextlib.AsyncExitStack) -> None:
        self._stack = stack
        self._connections: list[RpcConnection] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def pair(self, version: str) -> tuple[ServerConnection, ClientConnection]:
        accepted: asyncio.Queue[ServerConnection] = asyncio.Queue()

        async def on_connect(websocket: ServerConnection) -> None:
            await accepted.put(websocket)
            await websocket.wait_closed()  # the test, not this handler, owns the socket

        server = await self._stack.enter_async_context(
            serve(on_connect, "127.0.0.1", 0, subprotocols=[version])  # type: ignore[list-item]
        )
        port = next(iter(server.sockets)).getsockname()[1]
        client = await self._stack.enter_async_context(
            connect(f"ws://127.0.0.1:{port}", subprotocols=[version])  # type: ignore[list-item]
        )
        server_side = await asyncio.wait_for(accepted.get(), 2.0)
        assert client.subprotocol == version
        return server_side, client

    async def raw_and_rpc(self, version: str, **options: Any) -> tuple[RawPeer, RpcConnection]:
        """A raw peer on the server side and a running RpcConnection on the client side."""
        server_side, client = await self.pair(version)
        options.setdefault("handler", _no_handler)
        return RawPeer(server_side), self.run(RpcConnection(client, version, **options))

    def run(self, connection: RpcConnection) -> RpcConnection:
        self._connections.append(connection)
        self._tasks.append(asyncio.create_task(connection.run()))
        return connection

    def read_loop(self, connection: RpcConnection) -> asyncio.Task[None]:
        return self._tasks[self._connections.index(connection)]

    async def aclose(self) -> None:
        for connection in self._connections:
            await connection.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _no_handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError(f"unexpected incoming call {action}")


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    async with contextlib.AsyncExitStack() as stack:
        lab = Lab(stack)
        try:
            yield lab
        finally:
            await lab.aclose()
