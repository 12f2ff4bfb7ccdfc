"""Where we let an eMSP send us: every outgoing OCPI call goes to a URL the eMSP chose (the
versions URL in its credentials, the details and module URLs it lists, a command's
response_url), so a token holder can point the server at any address.

Two defences:
- connect failures read the same whatever happened (refused, timed out, unresolvable, an open
  port that does not speak HTTP): the error text is no port scanner;
- with VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS=1 (off by default: a local eMSP is the common case)
  a URL whose host resolves to a loopback, private, link-local, multicast, reserved or
  otherwise non-global address is refused before any connection, every resolved address is
  checked, the address actually connected to is checked again (DNS rebinding), and redirects
  are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from typing import Any

import httpx

REFUSE_PRIVATE_PEERS_ENV = "VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS"
# One text for every way a connection can fail, so it tells nothing about the target.
UNREACHABLE = "the peer could not be reached or did not answer HTTP"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PeerAddressRefused(Exception):
    """The URL's host is an address this server was told not to call."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PeerUnreachable(Exception):
    """Resolving the host failed (reported with the uniform UNREACHABLE text)."""


def refusal_reason(address: IpAddress) -> str | None:
    """Why a peer at `address` is refused when private peers are, or None for a global one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def env_refuses_private_peers() -> bool:
    return os.environ.get(REFUSE_PRIVATE_PEERS_ENV, "").strip().lower() in ("1", "true", "yes")


class PeerAddressPolicy:
    def __init__(self, refuse_private: bool) -> None:
        self.refuse_private = refuse_private

    async def check_url(self, url: str) -> None:
        """Raise PeerAddressRefused if the policy forbids the URL's host (every address it
        resolves to is checked), PeerUnreachable if it cannot be resolved."""
        if not self.refuse_private:
            return
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise PeerUnreachable(str(exc)) from exc
        host = parsed.host
        if not host:
            raise PeerUnreachable("no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        for address in await _resolve(host, port):
            reason = refusal_reason(address)
            if reason is not None:
                shown = host if host == str(address) else f"{host} ({address})"
                raise PeerAddressRefused(
                    f"{shown} is a {reason} address, and this server refuses private peer "
                    f"addresses ({REFUSE_PRIVATE_PEERS_ENV})"
                )

    def check_connected(self, response: httpx.Response) -> None:
        """Check the address the answer came from: a name may resolve differently at connect
        time than when check_url looked (DNS rebinding)."""
        if not self.refuse_private:
            return
        stream: Any = response.extensions.get("network_stream")
        server = stream.get_extra_info("server_addr") if stream is not None else None
        if not server:
            return
        try:
            address = ipaddress.ip_address(str(server[0]).split("%", 1)[0])
        except ValueError:
            return
        reason = refusal_reason(address)
        if reason is not None:
            raise PeerAddressRefused(
                f"the answer came from {address}, a {reason} address, and this server refuses "
                f"private peer addresses ({REFUSE_PRIVATE_PEERS_ENV})"
            )


async def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%", 1)[0])]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise PeerUnreachable(str(exc)) from exc
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise PeerUnreachable("no address")
    return addresses
