"""`describe_connect_error` always names a cause, even for exceptions that carry no message
(issue 10: `wss://` to a plain port left "cannot reach CSMS: " with nothing after it)."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
from websockets.exceptions import InvalidHandshake, InvalidURI

from voltlab.fleet.driver.security import SecurityConfigError, describe_connect_error
from voltlab.ocpp.station_socket import open_station_socket


def chained(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(),
        ConnectionAbortedError(),
        EOFError(),
        OSError(),
        Exception(),
        RuntimeError(""),
        InvalidHandshake(""),
        chained(InvalidHandshake(""), OSError()),
        InvalidURI("", ""),
        socket.gaierror(),
        ssl.SSLError(),
        SecurityConfigError(""),
    ],
    ids=lambda exc: type(exc).__name__,
)
@pytest.mark.parametrize("url", [None, "ws://127.0.0.1:1/ocpp", "wss://127.0.0.1:1/ocpp"])
def test_every_description_names_a_cause(exc: Exception, url: str | None) -> None:
    text = describe_connect_error(exc, url)
    _, _, cause = text.rpartition(": ")
    assert cause.strip(" ()[]"), text
    assert not text.rstrip().endswith(":"), text


async def test_wss_to_a_plain_tcp_port() -> None:
    """The case issue 10 reported, on a real socket: the server reads the TLS ClientHello and
    closes, which the client sees as a reset with no message."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    url = f"wss://127.0.0.1:{port}/ocpp/CP-1"
    try:
        with pytest.raises(Exception) as raised:
            await open_station_socket(
                url, "ocpp1.6", ssl_context=ssl.create_default_context(), open_timeout=5
            )
    finally:
        server.close()
        await server.wait_closed()
    text = describe_connect_error(raised.value, url)
    assert text.startswith("TLS handshake failed"), text
    assert type(raised.value).__name__ in text or "Error" in text
