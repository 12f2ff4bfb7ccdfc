"""The URL an eMSP hands us in its credentials makes the server call it (issue 10, item 8):
connect failures must read the same whatever is at the address (no port-state oracle), and
with VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS=1 loopback/private addresses are refused before any
connection. Every address used here is on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from voltlab.ocpi.peer_address import refusal_reason

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[int]:
    """A raw loopback TCP server (not HTTP); yields its port."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def speak_another_protocol(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
    await writer.drain()
    writer.close()


async def stay_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(10)  # longer than the harness client's 3 s read timeout
    writer.close()


def credentials(url: str) -> dict[str, Any]:
    return {
        "token": "emsp-token-b-0123456789",
        "url": url,
        "roles": [
            {
                "role": "EMSP",
                "party_id": "EMS",
                "country_code": "NL",
                "business_details": {"name": "Fake eMSP"},
            }
        ],
    }


async def register_with(harness: Any, token_a: str, url: str) -> dict[str, Any]:
    body = credentials(url)
    response = await harness.client.post(
        "/ocpi/2.2.1/credentials", json=body, headers=harness.auth(token_a)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_connect_failures_read_the_same_whatever_listens(
    harness: Any, unreachable_versions_url: str
) -> None:
    closed = unreachable_versions_url
    async with (
        tcp_server(close_at_once) as hang_up,
        tcp_server(speak_another_protocol) as other,
        tcp_server(stay_silent) as silent,
    ):
        targets = {
            "closed port": closed,
            "open port, closes at once": f"http://127.0.0.1:{hang_up}/emsp/versions",
            "open port, not HTTP": f"http://127.0.0.1:{other}/emsp/versions",
            "open port, silent (timeout)": f"http://127.0.0.1:{silent}/emsp/versions",
        }
        messages = {}
        for name, url in targets.items():
            body = await register_with(harness, harness.register(f"cpo-{len(messages)}"), url)
            assert body["status_code"] == 3001, (name, body)
            # The URL is the caller's own input; everything else must be identical.
            messages[name] = body["status_message"].replace(url, "<url>")
    for name, message in messages.items():
        print(f"{name}: {message}")
    assert len(set(messages.values())) == 1, messages
    text = next(iter(messages.values()))
    for leak in ("Connect", "Refused", "refused", "Protocol", "Timeout", "Errno", "Read"):
        assert leak not in text, text


@pytest.fixture
def refuse_private_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS", "1")


@pytest.fixture
def guarded(refuse_private_peers: None, harness: Any) -> Any:
    """Our CPO side started with VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS=1 (the setting is read
    when the service is built, after refuse_private_peers set it)."""
    return harness


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_refused_private_peer_is_an_ocpi_error_naming_the_reason(
    guarded: Any, emsp: Any, host: str
) -> None:
    url = emsp.versions_url().replace("127.0.0.1", host)
    body = await register_with(guarded, guarded.register(), url)
    print(body["status_message"])
    assert body["status_code"] == 3001, body
    assert "loopback" in body["status_message"], body
    assert "VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS" in body["status_message"], body
    assert emsp.requests == [], "the refused peer was called anyway"
    # Nothing was stored: the CPO is not registered.
    assert guarded.service.peer_state("cpo-1")["registered"] is False


async def test_without_the_setting_a_loopback_emsp_registers(harness: Any, emsp: Any) -> None:
    """Off by default: local eMSPs are the common case."""
    token_c = await harness.registered_cpo(emsp)
    assert token_c and [r.path for r in emsp.requests] == ["/emsp/versions", "/emsp/2.2.1/details"]


async def test_a_redirect_is_not_followed(harness: Any, emsp: Any) -> None:
    """A versions URL answering 302 to another address does not make us call that address."""
    location = emsp.versions_url().encode()

    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n"
            b"Connection: close\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    async with tcp_server(redirect) as port:
        body = await register_with(
            harness, harness.register(), f"http://127.0.0.1:{port}/emsp/versions"
        )
    assert body["status_code"] == 3001, body
    assert "302" in body["status_message"], body
    assert emsp.requests == [], "the redirect was followed"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),
        ("93.184.215.14", None),
        ("2a00:1450:4001:80b::200e", None),
    ],
)
def test_refusal_reason_per_address(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


def point_sessions_endpoint(harness: Any, url: str) -> None:
    """The eMSP listed `url` as its sessions endpoint (its version details are its to write)."""
    from voltlab.store.ocpi_models import OcpiCredentials

    with harness.database.session() as session:
        row = session.get(OcpiCredentials, "cpo-1")
        row.peer_endpoints = [e for e in row.peer_endpoints if e["identifier"] != "sessions"] + [
            {"identifier": "sessions", "role": "RECEIVER", "url": url}
        ]


async def test_push_failures_read_the_same_in_the_push_log(
    harness: Any, emsp: Any, unreachable_versions_url: str
) -> None:
    """The push log (shown to the org) is no port scanner either: the eMSP chooses its module
    URLs, so a closed port and an open non-HTTP one must leave the same error text."""
    await harness.registered_cpo(emsp)
    closed = unreachable_versions_url.rsplit("/", 2)[0]
    async with tcp_server(speak_another_protocol) as other:
        for name, base in (("closed", closed), ("other", f"http://127.0.0.1:{other}")):
            point_sessions_endpoint(harness, f"{base}/sessions")
            await harness.service.session_changed(
                "cpo-1", {"id": f"S-{name}", "last_updated": "2026-01-01T00:00:00Z"}
            )
            await harness.service.drain()
    errors = {
        entry["object"]: entry["error"]
        for entry in harness.service.push_log("cpo-1")
        if entry["module"] == "sessions"
    }
    print(errors)
    assert set(errors) == {"session:S-closed", "session:S-other"}, errors
    assert len(set(errors.values())) == 1, errors
    for leak in ("Connect", "Refused", "refused", "Protocol", "Errno"):
        assert leak not in errors["session:S-closed"], errors
