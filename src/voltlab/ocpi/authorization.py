"""Authorizing an eMSP Token at our CPO: the stored Token and its whitelist rule first, the
eMSP's real-time authorization endpoint when the rule asks for it (tokens module)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.orm import Session

from voltlab.ocpi import repo
from voltlab.ocpi.core import OcpiCore, ocpi_status_of
from voltlab.ocpi.credentials_tokens import authorization_header
from voltlab.ocpi.envelope import OcpiStatus
from voltlab.ocpi.peer import CpoLink
from voltlab.ocpi.peer_address import PeerAddressRefused, PeerUnreachable
from voltlab.ocpi.web import routing_headers

log = logging.getLogger(__name__)

ALLOWED_TYPES = frozenset({"ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"})


@dataclass(frozen=True)
class TokenAuthorization:
    allowed: str  # ALLOWED | BLOCKED | EXPIRED | NO_CREDIT | NOT_ALLOWED
    token: dict[str, Any] | None
    source: str  # "local" (stored Token) | "realtime" (the eMSP answered)
    authorization_reference: str | None = None


def _load(
    session: Session, cpo_id: str, uid: str, token_type: str
) -> tuple[dict[str, Any] | None, CpoLink | None]:
    return repo.find_received_token(session, cpo_id, uid, token_type), repo.get_link(
        session, cpo_id
    )


async def authorize(
    core: OcpiCore,
    cpo_id: str,
    uid: str,
    token_type: str,
    location_id: str | None,
    evse_uids: list[str] | None,
) -> TokenAuthorization:
    token, link = await core.db(_load, cpo_id, uid, token_type)
    local: TokenAuthorization | None = None
    whitelist = token.get("whitelist") if token is not None else None
    if token is not None:
        local = TokenAuthorization("ALLOWED" if token.get("valid") else "BLOCKED", token, "local")
        # ALWAYS: real-time is not allowed; ALLOWED: we may choose, and local is immediate.
        if whitelist in ("ALWAYS", "ALLOWED"):
            return local
    # ALLOWED_OFFLINE and NEVER ask the eMSP, even for a token stored as invalid (its state
    # may have changed, tokens module WhitelistType); unknown tokens ask it too.
    realtime = await _realtime(core, link, uid, token_type, location_id, evse_uids, token)
    if realtime is not None:
        return realtime
    if local is not None and whitelist != "NEVER":
        return local  # ALLOWED_OFFLINE: the eMSP could not be reached
    return TokenAuthorization("NOT_ALLOWED", token, "local")


async def _realtime(
    core: OcpiCore,
    link: CpoLink | None,
    uid: str,
    token_type: str,
    location_id: str | None,
    evse_uids: list[str] | None,
    stored: dict[str, Any] | None,
) -> TokenAuthorization | None:
    """The eMSP's verdict, or None when it cannot give one (not registered, no tokens
    endpoint, unreachable, server error, refused our credentials)."""
    if link is None or not link.can_push:
        return None
    endpoint = link.endpoint("tokens")
    if endpoint is None:
        return None
    assert link.token_b is not None
    url = f"{endpoint.rstrip('/')}/{quote(uid, safe='')}/authorize"
    headers = {
        "Authorization": authorization_header(link.token_b, base64_encoded=link.token_b_base64),
        "X-Request-ID": str(uuid.uuid4()),
        "X-Correlation-ID": str(uuid.uuid4()),
    }
    if link.version == "2.2.1":
        headers.update(routing_headers(link))
    body: dict[str, Any] | None = None
    if location_id is not None:
        body = {"location_id": location_id}
        if evse_uids:
            body["evse_uids"] = list(evse_uids)
    try:
        await core.peer_policy.check_url(url)
        response = await core.http.post(
            url, params={"type": token_type}, json=body, headers=headers, follow_redirects=False
        )
        core.peer_policy.check_connected(response)
    except PeerAddressRefused as exc:
        log.info("real-time authorization of %s not asked: %s", uid, exc.reason)
        return None
    except (httpx.HTTPError, PeerUnreachable) as exc:
        log.info("real-time authorization of %s at the eMSP failed: %s", uid, exc)
        await core.count(link.cpo_id, "out", "tokens", None, None, method="POST", url=url)
        return None
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    ocpi_status = ocpi_status_of(payload)
    await core.count(
        link.cpo_id, "out", "tokens", response.status_code, ocpi_status, method="POST", url=url
    )
    await core.judge_answer(link.cpo_id, link.version, headers, body, response, payload)
    if response.status_code == 404 or ocpi_status == OcpiStatus.UNKNOWN_TOKEN:
        return TokenAuthorization("NOT_ALLOWED", stored, "realtime")
    data = payload.get("data") if isinstance(payload, dict) else None
    if (
        200 <= response.status_code < 300
        and isinstance(data, dict)
        and data.get("allowed") in ALLOWED_TYPES
    ):
        token = data.get("token") if isinstance(data.get("token"), dict) else stored
        reference = data.get("authorization_reference")
        return TokenAuthorization(
            str(data["allowed"]),
            token,
            "realtime",
            str(reference) if reference is not None else None,
        )
    return None
