"""Test harness for the built-in CSMS: a recording listener, the CSMS mounted on a FastAPI app
served by uvicorn on 127.0.0.1 (port 0) in this event loop, and a raw OCPP-J client that
sends exactly the frames a test writes.

The fixtures live here, not in a ``conftest.py``: this folder has no ``__init__.py``, so a
conftest here would be imported as the top-level module ``conftest`` and shadow
``tests/conftest.py`` for the test modules that ``from support import wait_until``.
Test modules import the fixture functions (``live_fixture``, ``start_csms_fixture``); the
fixtures themselves are named ``live`` and ``start_csms``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, WebSocket
from websockets.asyncio.client import ClientConnection, connect

from voltlab.csms.events import CsmsTransaction, IdTagStatus, MeterSample
from voltlab.csms.server import BuiltinCsms

CPO = "cpo-1"


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)


@dataclass
class Heard:
    kind: str
    cpo_id: str
    identity: str
    data: dict[str, Any]


class ListenerBroke(RuntimeError):
    """Raised by RecordingListener methods named in ``failing``."""


@dataclass
class RecordingListener:
    """Records every listener call; answers id tags from ``decisions`` (default Accepted)."""

    decisions: dict[str, IdTagStatus] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)  # method names that raise
    delays: dict[str, float] = field(default_factory=dict)  # method name -> seconds
    heard: list[Heard] = field(default_factory=list)

    async def _note(self, kind: str, cpo_id: str, identity: str, **data: Any) -> None:
        delay = self.delays.get(kind)
        if delay:
            await asyncio.sleep(delay)
        self.heard.append(Heard(kind, cpo_id, identity, data))
        if kind in self.failing:
            raise ListenerBroke(f"{kind} failed on purpose")

    def of(self, kind: str, identity: str | None = None) -> list[Heard]:
        return [
            h for h in self.heard if h.kind == kind and (identity is None or h.identity == identity)
        ]

    def txs(self, kind: str, identity: str | None = None) -> list[CsmsTransaction]:
        return [h.data["tx"] for h in self.of(kind, identity)]

    async def authorize(self, cpo_id: str, identity: str, id_tag: str) -> IdTagStatus:
        await self._note("authorize", cpo_id, identity, id_tag=id_tag)
        return self.decisions.get(id_tag, IdTagStatus.accept())

    async def station_registered(self, cpo_id: str, identity: str, boot: dict[str, Any]) -> None:
        await self._note("station_registered", cpo_id, identity, boot=boot)

    async def station_disconnected(self, cpo_id: str, identity: str) -> None:
        await self._note("station_disconnected", cpo_id, identity)

    async def connector_status(
        self,
        cpo_id: str,
        identity: str,
        connector_id: int,
        status: str,
        error_code: str,
        timestamp: datetime,
    ) -> None:
        await self._note(
            "connector_status",
            cpo_id,
            identity,
            connector_id=connector_id,
            status=status,
            error_code=error_code,
            timestamp=timestamp,
        )

    async def transaction_started(self, cpo_id: str, tx: CsmsTransaction) -> None:
        await self._note("transaction_started", cpo_id, tx.identity, tx=tx)

    async def meter_values(
        self, cpo_id: str, tx: CsmsTransaction, samples: list[MeterSample]
    ) -> None:
        await self._note("meter_values", cpo_id, tx.identity, tx=tx, samples=samples)

    async def transaction_stopped(self, cpo_id: str, tx: CsmsTransaction) -> None:
        await self._note("transaction_stopped", cpo_id, tx.identity, tx=tx)


def csms_app(csms: BuiltinCsms) -> FastAPI:
    app = FastAPI()

    @app.websocket("/csms/{cpo_id}/{identity}")
    async def station_endpoint(websocket: WebSocket, cpo_id: str, identity: str) -> None:
        await csms.serve(websocket, cpo_id, identity)

    return app


class LiveCsms:
    """A BuiltinCsms behind uvicorn on an ephemeral loopback port."""

    def __init__(self, csms: BuiltinCsms, listener: RecordingListener, port: int = 0) -> None:
        self.csms = csms
        self.listener = listener
        config = uvicorn.Config(
            csms_app(csms), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port
        self.stopped = False

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/csms"

    @property
    def url(self) -> str:
        """The csms_url of a station of CPO ``cpo-1`` (the station appends its identity)."""
        return f"{self.base_url}/{CPO}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        await wait_until(lambda: self.server.started or self._task.done(), timeout=10)
        if self._task.done():
            self._task.result()  # surface the startup error
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.stopped = True
        await self.csms.close()
        self.server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=10)


class RawStation:
    """An OCPP-J client under the test's full control."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self._ids = itertools.count(1)

    @classmethod
    async def connect(
        cls, live: LiveCsms, identity: str, subprotocols: tuple[str, ...] = ("ocpp1.6",)
    ) -> RawStation:
        websocket = await connect(
            f"{live.url}/{identity}",
            subprotocols=list(subprotocols),  # type: ignore[arg-type]
            open_timeout=5,
        )
        return cls(websocket)

    async def send(self, frame: list[Any] | str) -> None:
        await self.websocket.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> list[Any]:
        return json.loads(await asyncio.wait_for(self.websocket.recv(), timeout))

    async def call(self, action: str, payload: dict[str, Any], timeout: float = 5.0) -> list[Any]:
        """Send a CALL; return the CALLRESULT or CALLERROR frame answering it."""
        message_id = f"m{next(self._ids)}"
        await self.send([2, message_id, action, payload])
        while True:
            frame = await self.recv(timeout)
            if frame[0] in (3, 4) and frame[1] == message_id:
                return frame

    async def result(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        frame = await self.call(action, payload)
        assert frame[0] == 3, frame
        return frame[2]

    async def boot(self) -> dict[str, Any]:
        return await self.result(
            "BootNotification", {"chargePointVendor": "Raw", "chargePointModel": "Client"}
        )

    async def close(self) -> None:
        await self.websocket.close()


StartCsms = Callable[..., Awaitable[LiveCsms]]


@pytest.fixture(name="start_csms")
async def start_csms_fixture() -> AsyncIterator[StartCsms]:
    """Start a CSMS with a RecordingListener (or the given listener) behind uvicorn."""
    started: list[LiveCsms] = []

    async def start(listener: Any = None, *, port: int = 0, **options: Any) -> LiveCsms:
        listener = listener if listener is not None else RecordingListener()
        options.setdefault("heartbeat_interval", 60)
        live = LiveCsms(BuiltinCsms(listener, **options), listener, port)
        await live.start()
        started.append(live)
        return live

    yield start
    for live in reversed(started):
        if not live.stopped:
            await live.stop()


@pytest.fixture(name="live")
async def live_fixture(start_csms: StartCsms) -> LiveCsms:
    return await start_csms()
