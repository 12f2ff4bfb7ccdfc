"""The station's WebSocket link to its CSMS: connect with the station's subprotocol and security
profile, boot, heartbeat, reconnect with exponential backoff and jitter.

The link owns the `RpcConnection`; the runner asks it for `call()` and learns about
(re)registration through `on_registered`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from voltlab.clock import Clock, TimerHandle
from voltlab.fleet.adapter import ProtocolAdapter
from voltlab.fleet.security import connect_kwargs, describe_connect_error
from voltlab.ocpp.connection import RpcConnection
from voltlab.ocpp.errors import CallErrorReceived, CallTimeout, ConnectionLost, OcppError
from voltlab.ocpp.station_socket import open_station_socket

log = logging.getLogger(__name__)

DEFAULT_RETRY_INTERVAL = 30  # seconds to wait after Pending/Rejected with interval 0
MAX_BACKOFF = 60.0


class NotConnected(Exception):
    """The station has no accepted connection to its CSMS right now."""


class StationLink:
    def __init__(
        self,
        *,
        identity: str,
        csms_url: str,
        version: str,
        security: dict[str, Any] | None,
        adapter: ProtocolAdapter,
        clock: Clock,
        on_frame: Callable[[str, str], None],
        on_registered: Callable[[], Awaitable[None]],
        on_state: Callable[[], None],
        heartbeat_interval: Callable[[], int],
        set_heartbeat_interval: Callable[[int], None],
        call_timeout: float = 30.0,
        connect_gate: asyncio.Semaphore | None = None,
    ) -> None:
        self.identity = identity
        self.url = csms_url.rstrip("/") + "/" + identity
        self.version = version
        self.security = security or {}
        self.adapter = adapter
        self.clock = clock
        self._on_frame = on_frame
        self._on_registered = on_registered
        self._on_state = on_state
        self._heartbeat_interval = heartbeat_interval
        self._set_heartbeat_interval = set_heartbeat_interval
        self.call_timeout = call_timeout
        # Shared by a fleet: how many opening handshakes may be in flight at once.
        self._connect_gate = connect_gate
        self.connection = "stopped"  # connecting | connected | disconnected | stopped
        self.registration: str | None = None
        self.last_error: str | None = None
        self.boot_reason = "PowerUp"
        self._rpc: RpcConnection | None = None
        self._accepted = False  # registered on the current connection
        self._task: asyncio.Task[None] | None = None
        self._heartbeat: TimerHandle | None = None
        self._wanted = False
        self._reconnect_now: asyncio.Future[None] | None = None  # only while backing off

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._wanted = True
        self.connection = "connecting"
        self._task = asyncio.create_task(self._run(), name=f"link:{self.identity}")

    async def stop(self, close_code: int = 1000) -> None:
        """Close the connection (1000; 1001 "going away" when the server shuts down)."""
        self._wanted = False
        self._cancel_heartbeat()
        if self._rpc is not None:
            reason = "server shutting down" if close_code == 1001 else "station stopped"
            await self._rpc.close(close_code, reason)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None
        self._set_connection("stopped")

    async def restart(self, reason: str) -> None:
        """Reset: close the connection and boot again at once."""
        self.boot_reason = reason
        if self._reconnect_now is not None and not self._reconnect_now.done():
            self._reconnect_now.set_result(None)
        if self._rpc is not None:
            await self._rpc.close(1000, "reset")

    @property
    def online(self) -> bool:
        return self._rpc is not None and not self._rpc.closed and self._accepted

    async def call(
        self,
        action: str,
        payload: dict[str, Any],
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Send a CALL once registered (BootNotification goes through `_boot` only);
        `before_send`: see `RpcConnection.call`."""
        if not self.online or self._rpc is None:
            raise NotConnected(f"{self.identity} is not connected to its CSMS")
        return await self._rpc.call(
            action, payload, timeout=self.call_timeout, before_send=before_send
        )

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send any CALL on the open socket, registered or not (proxy-message, TriggerMessage)."""
        if self._rpc is None or self._rpc.closed:
            raise NotConnected(f"{self.identity} is not connected to its CSMS")
        return await self._rpc.call(action, payload, timeout=self.call_timeout)

    # -- the connection loop ------------------------------------------------------------------

    def _set_connection(self, state: str) -> None:
        self.connection = state
        self._on_state()

    async def _run(self) -> None:
        backoff = 1.0
        while self._wanted:
            self._set_connection("connecting")
            try:
                # Security profile 1: Basic auth; 2: TLS + Basic; 3: mutual TLS.
                security = connect_kwargs(self.security, self.identity, self.url)
                async with self._connect_gate or contextlib.nullcontext():
                    websocket = await open_station_socket(
                        self.url,
                        self.version,
                        headers=security.get("additional_headers"),
                        ssl_context=security.get("ssl"),
                        open_timeout=10,
                        max_size=2**22,
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to connect is reported and retried
                self.last_error = describe_connect_error(exc, self.url)
                self._set_connection("disconnected")
                await self._backoff(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            if websocket.subprotocol != self.version:
                self.last_error = f"CSMS did not accept subprotocol {self.version}"
                await websocket.close(1002, "subprotocol")
                self._set_connection("disconnected")
                await self._backoff(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            self.last_error = None
            await self._serve(websocket)
            self._set_connection("disconnected")

    async def _backoff(self, seconds: float) -> None:
        # Jitter spreads a fleet's reconnects so they do not hit the CSMS at one instant.
        # Station time: a fast simulated clock reconnects proportionally faster.
        delay = self.clock.real_seconds(seconds * random.uniform(0.5, 1.5))
        wake = self._reconnect_now = asyncio.get_running_loop().create_future()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake, timeout=delay)
        finally:
            self._reconnect_now = None

    async def _serve(self, websocket: Any) -> None:
        rpc = RpcConnection(
            websocket,
            self.version,
            handler=self.adapter.handle,
            on_frame=self._on_frame,
            call_timeout=self.call_timeout,
            supported_actions=self.adapter.supported_actions,
        )
        self._rpc = rpc
        self._accepted = False
        self.registration = None
        self._set_connection("connected")
        booter = asyncio.create_task(self._boot(), name=f"boot:{self.identity}")
        try:
            await rpc.run()  # read in this task: one task fewer per station
        finally:
            booter.cancel()
            self._cancel_heartbeat()
            self._accepted = False
            self._rpc = None
            if not booter.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await booter

    async def _boot(self) -> None:
        assert self._rpc is not None
        while True:
            try:
                answer = await self.adapter.boot(self.boot_reason)
            except (CallErrorReceived, CallTimeout, OcppError) as exc:
                self.last_error = f"BootNotification failed: {exc}"
                self._on_state()
                await self.clock.sleep(DEFAULT_RETRY_INTERVAL)
                continue
            except (ConnectionLost, NotConnected):
                return
            self.registration = answer.status
            self._on_state()
            if answer.status == "Accepted":
                if answer.interval > 0:
                    self._set_heartbeat_interval(answer.interval)
                break
            await self.clock.sleep(answer.interval or DEFAULT_RETRY_INTERVAL)
        self.boot_reason = "PowerUp"
        self._accepted = True
        self._schedule_heartbeat()
        await self._on_registered()

    async def boot_again(self) -> None:
        """TriggerMessage(BootNotification): boot on the open connection, keep registration."""
        answer = await self.adapter.boot("Triggered")
        self.registration = answer.status
        if answer.status == "Accepted" and answer.interval > 0:
            self._set_heartbeat_interval(answer.interval)
        self._on_state()

    # -- heartbeat ----------------------------------------------------------------------------

    def _schedule_heartbeat(self) -> None:
        self._cancel_heartbeat()
        interval = self._heartbeat_interval()
        if interval > 0:
            self._heartbeat = self.clock.call_later(interval, self._heartbeat_due)

    def _cancel_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    def heartbeat_interval_changed(self) -> None:
        if self.online:
            self._schedule_heartbeat()

    def _heartbeat_due(self) -> None:
        self._heartbeat = None
        if not self.online:
            return
        asyncio.create_task(self._send_heartbeat())
        self._schedule_heartbeat()

    async def _send_heartbeat(self) -> None:
        try:
            await self.adapter.heartbeat()
        except (NotConnected, ConnectionLost, CallTimeout, CallErrorReceived, OcppError) as exc:
            log.debug("%s heartbeat failed: %s", self.identity, exc)
