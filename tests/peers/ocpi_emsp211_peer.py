"""An independent OCPI 2.1.1 eMSP for tests: extrawest-ocpi's 2.1.1 modules in the same venv
as the 2.2.1 peer, running ``tests/peers/ocpi_emsp/emsp_211.py``::

    async with OcpiEmsp211Peer() as emsp:
        reg = await emsp.register(cpo["ocpi_peer_url"], cpo["token_a"])
        pages = await emsp.get("locations", params={"limit": 1}, follow=True)
        start = await emsp.command("START_SESSION", {...}, command_id="start-1")
        result = await emsp.wait_for_command_result("start-1")   # a 2.1.1 CommandResponse

Same control protocol and event shapes as :class:`OcpiEmspPeer`; the differences are 2.1.1's:
tokens travel unencoded (``auth["matches"] == "token_b"`` when the CPO sent token B as is),
credentials are flat (``register(...)["party"]`` holds the CPO's country_code, party_id and
business_details), and there is no ``roles`` argument, ``push_token`` or real-time
authorization. ``raw`` sends its token as given (2.1.1 encodes nothing).
"""

from __future__ import annotations

from typing import Any

from .ocpi_emsp_peer import PEER_DIR, OcpiEmspPeer, PeerError

SCRIPT_211 = PEER_DIR / "emsp_211.py"


class OcpiEmsp211Peer(OcpiEmspPeer):
    peer_name = "OCPI 2.1.1 eMSP peer"
    script = SCRIPT_211

    async def register(  # type: ignore[override]
        self, versions_url: str, token_a: str, *, strict: bool = True
    ) -> dict:
        """The 2.1.1 credentials handshake with Token A, then versions and details again with
        Token C. Returns ``{"token_b", "token_c", "versions_url", "version_url", "endpoints",
        "party", "exchanges", "validation"}``; raises PeerError on a non-2xx answer, an OCPI
        status other than 1000, or (``strict``) when py_ocpi's 2.1.1 models reject an answer."""
        result = await self.op(
            "register", versions_url=versions_url, token_a=token_a, strict=strict
        )
        self.token_c = result["token_c"]
        self.registration = result
        return result

    async def raw_exchange(  # type: ignore[override]
        self,
        method: str,
        url: str,
        token: str | None,
        body: Any = None,
        *,
        encode: bool = False,
        headers: dict | None = None,
        params: dict | None = None,
    ) -> dict:
        """Any request with ``Authorization: Token <token>`` (none when ``token`` is None)."""
        no_token = True if token is None else None
        reply = await self._request(
            "raw",
            method=method,
            url=url,
            token=token,
            no_token=no_token,
            body=body,
            params=params,
        )
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise PeerError(
                f"raw failed: {err.get('code')}: {err.get('message')}",
                code=err.get("code", "error"),
                details=err.get("details"),
            )
        return reply["result"]


__all__ = ["OcpiEmsp211Peer", "PeerError"]
