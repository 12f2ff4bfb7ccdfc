"""The charging station's WebSocket client on `picows` (a Cython WebSocket protocol), with the
small surface `RpcConnection` uses: `subprotocol`, `send()`, `recv()` and `close()`.

Why not the `websockets` client used elsewhere: a 10 000-station fleet lives in one process,
and picows costs about a third of the CPU per connection and per frame (bench/boot_storm.py).
Its failures are translated into the `websockets` exception types the rest of voltlab (and
`describe_connect_error`) already speak: `InvalidStatus`, `InvalidHandshake`, `InvalidURI`,
`ConnectionClosed`."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Mapping

from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSHandshakeError,
    WSInvalidStatusError,
    WSInvalidURL,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)
from websockets.datastructures import Headers
from websockets.exceptions import (
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import Close
from websockets.http11 import Response

__all__ = ["StationSocket", "open_station_socket"]

NORMAL_CLOSURES = (1000, 1001)
READ_BUFFER_BYTES = 1024


class StationSocket(WSListener):
    """One open connection: incoming text messages queue up for `recv()`, or go straight to
    the receiver given to `deliver_to()`."""

    def __init__(self, max_size: int) -> None:
        self.transport: WSTransport | None = None
        self.subprotocol: str | None = None
        self.max_size = max_size
        # Rarely more than one message waits: a list is a tenth of an empty deque's size.
        self._messages: list[str | bytes] = []
        # recv()'s wake-up; while delivering, resolved when the connection closes.
        self._waiter: asyncio.Future[None] | None = None
        self._receiver: Callable[[str | bytes], None] | None = None
        self._fragments: list[bytes] = []
        self._fragment_bytes = 0
        self._fragment_type: WSMsgType | None = None
        self._close: Close | None = None  # the peer's close frame, if it sent one
        self._closed = False

    # -- picows callbacks --------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT or kind == WSMsgType.BINARY:
            if frame.fin:
                self._deliver(self._payload(kind, frame.get_payload_as_bytes()))
            else:
                self._fragment_type = kind
                self._fragments = [frame.get_payload_as_bytes()]
                self._fragment_bytes = len(self._fragments[0])
        elif kind == WSMsgType.CONTINUATION and self._fragment_type is not None:
            part = frame.get_payload_as_bytes()
            self._fragments.append(part)
            self._fragment_bytes += len(part)
            if self._fragment_bytes > self.max_size:
                self._fail(WSCloseCode.MESSAGE_TOO_BIG, "message too big")
                return
            if frame.fin:
                kind, self._fragment_type = self._fragment_type, None
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(self._payload(kind, data))
        elif kind == WSMsgType.CLOSE:
            code = frame.get_close_code()
            # A close frame without a reason has no message (None), not an empty one.
            message = frame.get_close_message() or b""
            self._close = Close(code.value, message.decode(errors="replace"))
            transport.send_close(code)  # answer the closing handshake, then hang up
            transport.disconnect()
        # PING is answered by picows itself (enable_auto_pong); PONG needs nothing.

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._closed = True
        self._wake()

    @property
    def peer_close(self) -> tuple[int, str] | None:
        """The code and reason of the close frame the peer sent, if it sent one."""
        return None if self._close is None else (self._close.code, self._close.reason)

    # -- the interface RpcConnection uses ----------------------------------------------------

    async def recv(self) -> str | bytes:
        while not self._messages:
            if self._closed:
                raise self._closed_error()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._messages.pop(0)

    def deliver_to(self, receiver: Callable[[str | bytes], None] | None) -> asyncio.Future[None]:
        """Call `receiver` with each message as it arrives (from picows' frame callback, in
        order; messages already queued first) instead of queueing it for `recv()`; None queues
        again. Returns a future resolved when the connection is closed."""
        self._receiver = receiver
        while receiver is not None and self._receiver is receiver and self._messages:
            receiver(self._messages.pop(0))
        closed = self._waiter
        if closed is None or receiver is None:
            closed = asyncio.get_running_loop().create_future()
        if receiver is not None:
            self._waiter = closed
        if self._closed and not closed.done():
            closed.set_result(None)
        return closed

    async def send(self, text: str) -> None:
        self.send_now(text)

    def send_now(self, text: str) -> None:
        """Write a text message at once (picows writes without waiting): `RpcConnection` calls
        this instead of awaiting `send`, one coroutine less per frame."""
        if self._closed or self.transport is None:
            raise self._closed_error()
        self.transport.send(WSMsgType.TEXT, text.encode())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        transport = self.transport
        if transport is None or self._closed:
            return
        if self._close is None:
            transport.send_close(WSCloseCode(code), reason.encode())
        transport.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(transport.wait_disconnected(), 5)

    async def abort(self) -> None:
        """Hang up without a close frame (a network failure, as the peer sees it)."""
        transport = self.transport
        if transport is None or self._closed:
            return
        transport.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(transport.wait_disconnected(), 5)

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _payload(kind: WSMsgType, data: bytes) -> str | bytes:
        if kind == WSMsgType.BINARY:
            return data
        return data.decode("utf-8", "replace")

    def _deliver(self, message: str | bytes) -> None:
        receiver = self._receiver
        if receiver is not None:
            receiver(message)
            return
        self._messages.append(message)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, code: WSCloseCode, reason: str) -> None:
        if self.transport is not None:
            self.transport.send_close(code, reason.encode())
            self.transport.disconnect()

    def _closed_error(self) -> ConnectionClosedOK | ConnectionClosedError:
        close = self._close
        if close is not None and close.code in NORMAL_CLOSURES:
            return ConnectionClosedOK(close, None)
        return ConnectionClosedError(close, None)


async def open_station_socket(
    url: str,
    subprotocol: str,
    *,
    headers: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    open_timeout: float = 10.0,
    max_size: int = 2**22,
) -> StationSocket:
    """Connect and complete the WebSocket handshake offering `subprotocol`."""
    extra = {"Sec-WebSocket-Protocol": subprotocol, **(headers or {})}

    def listener() -> StationSocket:
        return StationSocket(max_size)

    try:
        async with asyncio.timeout(open_timeout):
            transport, socket = await ws_connect(
                listener,
                url,
                ssl_context=ssl_context,
                websocket_handshake_timeout=open_timeout,
                extra_headers=extra,
                max_frame_size=max_size,
                max_redirects=0,
                enable_auto_pong=True,
                # picows' default 16 KiB read buffer per connection would be most of a
                # station's memory; OCPP-J frames are small and the buffer grows when needed.
                read_buffer_init_size=READ_BUFFER_BYTES,
                # The event loop's own transport: aiofastnet's costs ~6 KB more per connection.
                use_aiofastnet=False,
            )
    except WSInvalidStatusError as exc:
        raise _invalid_status(exc) from exc
    except WSInvalidURL as exc:
        raise InvalidURI(url, str(exc)) from exc
    except WSHandshakeError as exc:
        raise InvalidHandshake(str(exc)) from exc
    except WSError as exc:
        raise InvalidHandshake(str(exc)) from exc
    assert isinstance(socket, StationSocket)
    socket.transport = transport
    response = transport.response
    chosen = response.headers.get("sec-websocket-protocol") if response is not None else None
    socket.subprotocol = str(chosen) if chosen else None
    return socket


def _invalid_status(exc: WSHandshakeError) -> InvalidStatus:
    response = exc.response
    status = int(response.status) if response is not None else 0
    body = exc.raw_body or (response.body if response is not None else b"") or b""
    return InvalidStatus(Response(status, "", Headers(), bytes(body)))
