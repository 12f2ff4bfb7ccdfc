"""The station's WebSocket link to its CSMS: connect with the station's subprotocol and security
profile, reconnect with exponential backoff and jitter.

The link owns the socket and its `RpcConnection` only: it reports each connection and its end
(`on_connected`, `on_disconnected`); registration (BootNotification, heartbeats) is the
station machine's, which the link asks (`registered`) before it lets a CALL other than
BootNotification through."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from voltlab.clock import Clock
from voltlab.fleet.driver.security import (
    connect_kwargs,
    describe_connect_error,
    raised_security,
    security_profile,
)
from voltlab.ocpp.connection import NORMAL_CLOSE_CODES, FrameTally, Handler, RpcConnection
from voltlab.ocpp.findings import FrameEvidence, Observation, RpcObserver
from voltlab.ocpp.station_socket import open_station_socket

log = logging.getLogger(__name__)

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
        supported_actions: frozenset[str],
        clock: Clock,
        on_frame: Callable[[str, str], None],
        on_state: Callable[[], None],
        registered: Callable[[], bool],
        call_timeout: float = 30.0,
        connect_gate: asyncio.Semaphore | None = None,
        observer: RpcObserver | None = None,
        may_send: Callable[[], bool] | None = None,
        tally: FrameTally | None = None,
    ) -> None:
        """`tally`: counts each frame of the connection (the fleet's metrics)."""
        self.identity = identity
        self._may_send = may_send  # the hosting process's lease (RpcConnection's fence)
        self.url = csms_url.rstrip("/") + "/" + identity
        self.version = version
        self.security = security or {}
        # As configured; a security-profile upgrade connects with more (`use_profile`).
        self._configured = (self.security, csms_url)
        self._supported_actions = supported_actions
        self.clock = clock
        self._on_frame = on_frame
        self._tally = tally
        self._on_state = on_state
        self._registered = registered
        self.call_timeout = call_timeout
        # Shared by a fleet: how many opening handshakes may be in flight at once.
        self._connect_gate = connect_gate
        self._observer = observer  # rules about the CSMS (ocpp/findings.py)
        self.connection = "stopped"  # connecting | connected | disconnected | stopped
        # The security profile of the open connection (None without one).
        self.connected_profile: int | None = None
        self.last_error: str | None = None
        self._rpc: RpcConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._wanted = False
        self._reconnect_now: asyncio.Future[None] | None = None  # only while backing off
        # A simulated network partition: no connection until this many real seconds pass
        # (the station keeps running meanwhile; its transaction messages queue offline).
        self._partition: asyncio.Future[None] | None = None
        self._partition_seconds = 0.0

    # Given by `listen`: the station's driver, built after the link (it calls the link).
    _handler: Handler
    _on_connected: Callable[[], None]
    _on_disconnected: Callable[[], None]
    _on_connect_failed: Callable[[], None] | None = None

    def listen(
        self,
        handler: Handler,
        on_connected: Callable[[], None],
        on_disconnected: Callable[[], None],
        on_connect_failed: Callable[[], None] | None = None,
    ) -> None:
        """Who hears from the link, before it starts: `handler` answers the CSMS's requests,
        `on_connected` / `on_disconnected` hear of each connection and its end,
        `on_connect_failed` of each attempt that brought none (before the next one)."""
        self._handler = handler
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._on_connect_failed = on_connect_failed

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
        if self._rpc is not None:
            reason = "server shutting down" if close_code == 1001 else "station stopped"
            await self._rpc.close(close_code, reason)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None
        self._set_connection("stopped")

    async def restart(self) -> None:
        """Reset: close the connection and connect again at once."""
        if self._reconnect_now is not None and not self._reconnect_now.done():
            self._reconnect_now.set_result(None)
        if self._rpc is not None:
            await self._rpc.close(1000, "reset")

    async def partition(self, seconds: float) -> None:
        """A network partition of `seconds` simulated seconds: the socket is dropped without a
        closing handshake (the CSMS sees an abnormal closure, 1006) and no connection is tried
        until the partition ends; then the link connects again at once."""
        self._partition_seconds = self.clock.real_seconds(seconds)
        if self._partition is None or self._partition.done():
            self._partition = asyncio.get_running_loop().create_future()
        if self._reconnect_now is not None and not self._reconnect_now.done():
            self._reconnect_now.set_result(None)
        if self._rpc is not None:
            await self._rpc.abort("network partition (simulated)")

    async def _sit_out_partition(self) -> None:
        partition = self._partition
        if partition is None:
            return
        self._partition = None
        self._set_connection("disconnected")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(partition, timeout=self._partition_seconds)

    def use_profile(
        self,
        profile: int,
        csms_ca_pem: str | None,
        client: tuple[str, str] | None = None,
        *,
        csms_url: str | None = None,
        password: str | None = None,
    ) -> None:
        """Connect with security `profile` (to `csms_url`, when given; with `password` for
        Basic auth, when given) from the next connection on (the machine's
        `UseSecurityProfile`); the configured profile without a URL connects as configured."""
        security, csms_url = raised_security(
            *self._configured,
            profile,
            csms_ca_pem=csms_ca_pem,
            client=client,
            to=csms_url,
            password=password,
        )
        self.security = security
        self.url = csms_url.rstrip("/") + "/" + self.identity

    @property
    def connected(self) -> bool:
        return self._rpc is not None and not self._rpc.closed

    def last_exchange(self) -> tuple[str, str, str, str] | None:
        """The last CALL answered on the open connection: (message id, action, the CALL's
        text, the answer's text); None without a connection."""
        rpc = self._rpc
        return None if rpc is None else rpc.last_exchange

    @property
    def online(self) -> bool:
        """Connected, and accepted by the CSMS on this connection (the machine knows)."""
        return self.connected and self._registered()

    def call(
        self,
        action: str,
        payload: dict[str, Any],
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> Coroutine[Any, Any, dict[str, Any]]:
        """Send a CALL once registered (BootNotification goes through `call_raw`);
        `before_send`: see `RpcConnection.call`. The RPC's own coroutine, not one wrapping it
        (one frame less per call); raises NotConnected at once."""
        if not self.online or self._rpc is None:
            raise NotConnected(f"{self.identity} is not connected to its CSMS")
        return self._rpc.call(action, payload, timeout=self.call_timeout, before_send=before_send)

    async def send(self, action: str, payload: dict[str, Any]) -> None:
        """Send a 2.1 SEND (unconfirmed, never answered) once registered."""
        if not self.online or self._rpc is None:
            raise NotConnected(f"{self.identity} is not connected to its CSMS")
        await self._rpc.send_unconfirmed(action, payload)

    async def call_raw(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send any CALL on the open socket, registered or not (BootNotification,
        proxy-message)."""
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
            await self._sit_out_partition()
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
                log.debug("not connected: %s", self.last_error)
                self._set_connection("disconnected")
                self._connect_failed()
                await self._backoff(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            if websocket.subprotocol != self.version:
                self.last_error = f"CSMS did not accept subprotocol {self.version}"
                self._subprotocol_violation(websocket.subprotocol)
                await websocket.close(1002, "subprotocol")
                self._set_connection("disconnected")
                self._connect_failed()
                await self._backoff(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            self.last_error = None
            await self._serve(websocket)
            self._set_connection("disconnected")
            if self._partition is not None:
                backoff = 1.0

    def _connect_failed(self) -> None:
        # The next attempt may go elsewhere (2.x: the next network profile, B10).
        if self._on_connect_failed is not None:
            self._on_connect_failed()

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
            handler=self._handler,
            on_frame=self._on_frame,
            call_timeout=self.call_timeout,
            supported_actions=self._supported_actions,
            observer=self._observer,
            may_send=self._may_send,
            tally=self._tally,
        )
        self._rpc = rpc
        self.connected_profile = security_profile(self.security)
        log.debug(
            "connected to %s (%s, profile %s)", self.url, self.version, self.connected_profile
        )
        self._set_connection("connected")
        self._on_connected()
        try:
            await rpc.run()  # read in this task: one task fewer per station
        finally:
            log.debug("connection to %s ended", self.url)
            self._rpc = None
            self.connected_profile = None
            self._close_violation(websocket)
            self._on_disconnected()

    # -- rules about the CSMS's handshake and close ------------------------------------------

    def _subprotocol_violation(self, chosen: str | None) -> None:
        if self._observer is None:
            return
        came = "none" if not chosen else repr(chosen)
        handshake = f"HTTP/1.1 101 Switching Protocols; Sec-WebSocket-Protocol: {chosen or '-'}"
        self._observer.violation(
            Observation(
                "rpc-subprotocol",
                f"the station offered {self.version!r}; the CSMS's handshake chose {came}",
                (FrameEvidence("in", None, None, handshake),),
            )
        )

    def _close_violation(self, websocket: Any) -> None:
        peer_close = getattr(websocket, "peer_close", None)
        if self._observer is None or peer_close is None:
            return  # no close frame from the CSMS (a dropped connection) says nothing here
        code, reason = peer_close
        if code in NORMAL_CLOSE_CODES:
            return
        self._observer.violation(
            Observation(
                "rpc-abnormal-close",
                f"expected close code 1000, 1001, 1012 or 1013; the CSMS closed with {code} "
                f"{reason!r}",
                (FrameEvidence("in", None, None, f"close {code} {reason}"),),
            )
        )
