"""Running one OCPI request: credentials-token auth, the envelope, error mapping, request and
correlation ids, routing headers and the incoming traffic counter.

Every OCPI route body is `run_endpoint(...)` around a small handler. Errors are mapped here, not
by app-level exception handlers, because the router is mounted into an app we do not own (its
handlers answer in the Gateway API's `{"detail": ...}` shape, not OCPI's envelope).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from voltlab.log_context import bind, bound
from voltlab.ocpi import repo
from voltlab.ocpi.core import OcpiCore
from voltlab.ocpi.credentials_tokens import hash_token, header_token_candidates
from voltlab.ocpi.envelope import (
    OcpiError,
    OcpiReply,
    OcpiStatus,
    envelope,
    not_found,
    unauthorized,
)
from voltlab.ocpi.findings import HttpEvidence, evidence_body, evidence_headers
from voltlab.ocpi.judging import check_request
from voltlab.ocpi.peer import CpoLink

log = logging.getLogger(__name__)

# Modules a Token A may open (transport chapter: only credentials and versions - details is
# part of the versions module).
TOKEN_A_MODULES: frozenset[str] = frozenset({"versions", "details", "credentials"})
CONFIGURATION_MODULES: frozenset[str] = TOKEN_A_MODULES


@dataclass(frozen=True)
class Caller:
    """Who is calling: the CPO the credentials token belongs to, and which token it was."""

    link: CpoLink
    token_kind: str  # "A" or "C"
    token: str  # the plaintext token as presented (to echo it in GET credentials)
    version: str  # the OCPI version in the URL
    token_encoded: bool = True  # the header carried the token Base64 encoded

    @property
    def cpo_id(self) -> str:
        return self.link.cpo_id


Handler = Callable[[Caller], Awaitable[OcpiReply]]


def authenticate(session: Session, header: str | None, version: str, module: str) -> Caller:
    candidates = header_token_candidates(header)
    if not candidates:
        raise unauthorized("Missing or malformed Authorization header (expected 'Token ...')")
    by_hash = {hash_token(candidate): candidate for candidate in candidates}
    found = repo.find_by_token_hashes(session, list(by_hash))
    if found is None:
        raise unauthorized("Unknown credentials token")
    row, kind = found
    if row.revoked:
        raise unauthorized("Credentials revoked: this CPO no longer exists")
    if kind == "A":
        if row.token_c_hash is not None:
            raise unauthorized("Token A is no longer valid after registration; use Token C")
        if module not in TOKEN_A_MODULES:
            raise unauthorized(f"Token A only opens versions and credentials, not {module}")
    presented = next(
        candidate
        for digest, candidate in by_hash.items()
        if digest in (row.token_a_hash, row.token_c_hash)
    )
    if module != "versions" and version != row.version:
        raise not_found(
            OcpiStatus.UNSUPPORTED_VERSION,
            f"This CPO speaks OCPI {row.version}, not {version}",
        )
    return Caller(
        link=CpoLink.from_row(row),
        token_kind=kind,
        token=presented,
        version=version,
        token_encoded=presented != candidates[0],  # the first candidate is the value as is
    )


async def run_endpoint(
    core: OcpiCore,
    request: Request,
    *,
    version: str,
    module: str,
    handler: Handler,
) -> Response:
    # The caller's CPO is bound once known (log lines name it), for this request only.
    with bound(cpo_id=None):
        return await _answer(core, request, version, module, handler)


async def _answer(
    core: OcpiCore, request: Request, version: str, module: str, handler: Handler
) -> Response:
    request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    correlation_id = request.headers.get("x-correlation-id") or str(uuid.uuid4())
    caller: Caller | None = None
    try:
        caller = await core.db(authenticate, request.headers.get("authorization"), version, module)
        bind(cpo_id=caller.cpo_id)
        reply = await handler(caller)
    except OcpiError as error:
        reply = OcpiReply(
            data=error.data,
            status_code=error.status_code,
            message=error.message,
            http_status=error.http_status,
        )
    except Exception:  # a bug of ours must still answer in OCPI's format
        log.exception("OCPI %s %s failed", request.method, request.url.path)
        reply = OcpiReply(
            status_code=OcpiStatus.SERVER_ERROR, message="Internal error", http_status=500
        )
    headers = {"X-Request-ID": request_id, "X-Correlation-ID": correlation_id}
    if caller is not None and version == "2.2.1" and module not in CONFIGURATION_MODULES:
        headers.update(routing_headers(caller.link))
    headers.update(reply.headers)
    if reply.http_status == 401:
        headers["WWW-Authenticate"] = "Token"
    response = JSONResponse(
        envelope(reply.data, reply.status_code, reply.message, core.now()),
        status_code=reply.http_status,
        headers=headers,
    )
    core.metrics.request("in", module, request.method, reply.http_status)
    if caller is not None:
        await core.count(
            caller.cpo_id,
            "in",
            module,
            reply.http_status,
            reply.status_code,
            method=request.method,
            url=str(request.url),
        )
        await _judge_request(core, request, caller, module, reply, response)
    return response


async def _judge_request(
    core: OcpiCore,
    request: Request,
    caller: Caller,
    module: str,
    reply: OcpiReply,
    response: Response,
) -> None:
    """The rules about the eMSP's request (ocpi/judging.py), recorded with the exchange."""
    link = caller.link
    observations = check_request(
        link.version,
        request.headers,
        caller.token_encoded,
        module,
        link.peer_roles,
        link.registered,
    )
    observations += reply.observations
    if not observations:
        return
    evidence = HttpEvidence(
        direction="in",
        method=request.method,
        url=str(request.url),
        status=response.status_code,
        request_headers=evidence_headers(request.headers.items()),
        request_body=evidence_body(await request.body()),
        response_headers=evidence_headers(response.headers.items()),
        body=evidence_body(bytes(response.body)),
    )
    await core.record_findings(link.cpo_id, link.version, observations, [evidence])


def routing_headers(link: CpoLink) -> dict[str, str]:
    """OCPI 2.2.1 message routing headers. We are always the "from" party of what we send
    (responses and our own requests); the eMSP is the "to" party when we know it."""
    headers = {
        "OCPI-from-country-code": link.country_code,
        "OCPI-from-party-id": link.party_id,
    }
    party = link.peer_party()
    if party is not None:
        headers["OCPI-to-country-code"] = party[0]
        headers["OCPI-to-party-id"] = party[1]
    return headers


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object. Unparseable JSON is a transport error (HTTP 400);
    valid JSON of the wrong shape reached the OCPI layer (2001)."""
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nested deeper than the parser can go (the gateway refuses such
        # bodies before routing; this router may also run without that guard).
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise OcpiError(
            OcpiStatus.INVALID_PARAMETERS, f"Body is not valid JSON: {reason}", http_status=400
        ) from exc
    if not isinstance(payload, dict):
        raise OcpiError(OcpiStatus.INVALID_PARAMETERS, "Body must be a JSON object")
    return payload
