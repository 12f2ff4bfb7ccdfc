"""A Starlette WebSocket dressed as the socket `RpcConnection` expects (the websockets API).

`RpcConnection` was written against ``websockets``: ``recv()`` ends the read loop by raising
``websockets.exceptions.ConnectionClosed``, and a failed ``send()`` must raise the same so
the call in flight fails with ConnectionLost. Starlette speaks ASGI messages instead, and
reports the end of a connection three ways: a ``websocket.disconnect`` message,
``WebSocketDisconnect`` (send on a connection the client dropped, via the server's OSError),
or ``RuntimeError`` (any use after a close). All three become ``ConnectionClosed`` here,
carrying the close code when the server reported one (1006 "abnormal closure" otherwise).

Once the application has sent its own close, ``recv()`` raises at once instead of waiting
for the server to echo a disconnect, so a connection closed locally always stops reading.
"""

from __future__ import annotations

import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close

ABNORMAL_CLOSURE = 1006
NO_STATUS = 1005


def _closed_error(received: Close | None, sent: Close | None) -> ConnectionClosed:
    frame = received or sent
    if frame is not None and frame.code in (1000, 1001):
        return ConnectionClosedOK(received, sent)
    return ConnectionClosedError(received, sent)


class StarletteSocket:
    """send / recv / close over an accepted ``starlette.websockets.WebSocket``."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._received: Close | None = None  # the peer's close, as the server reported it
        self._sent: Close | None = None  # our close
        self._gone = False  # no more traffic possible in either direction

    @property
    def closed(self) -> bool:
        return self._gone or self._sent is not None

    @property
    def close_code(self) -> int | None:
        frame = self._received or self._sent
        return None if frame is None else frame.code

    async def recv(self) -> str | bytes:
        if self.closed:
            raise _closed_error(self._received, self._sent)
        try:
            message = await self.websocket.receive()
        except (WebSocketDisconnect, RuntimeError) as exc:
            self._lost()
            raise _closed_error(self._received, self._sent) from exc
        if message["type"] == "websocket.disconnect":
            code = message.get("code") or NO_STATUS
            self._received = Close(code, message.get("reason") or "")
            self._gone = True
            raise _closed_error(self._received, self._sent)
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    async def send(self, text: str) -> None:
        if self.closed:
            raise _closed_error(self._received, self._sent)
        try:
            await self.websocket.send_text(text)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            self._lost()
            raise _closed_error(self._received, self._sent) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send our close frame once; a connection already gone is left alone."""
        if self.closed:
            return
        self._sent = Close(code, reason)
        # The peer may vanish at the same moment; closing is best effort by nature.
        with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
            await self.websocket.close(code, reason)

    def _lost(self) -> None:
        self._gone = True
        if self._received is None:
            self._received = Close(ABNORMAL_CLOSURE, "")
