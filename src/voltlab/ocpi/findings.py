"""Findings about the eMSP under test, as a virtual CPO sees it: the rules, and the evidence
of one violation (the HTTP exchange, Token redacted).

The counterpart of `voltlab.ocpp.findings` for OCPI: a rule is a stable slug with a severity,
a title and where OCPI says so, per version ("OCPI 2.2.1 transport_and_format §Unique message
IDs" names the chapter of the 2.2.1 specification and its section; 2.1.1's chapters are the
markdown files of that release). Rows go to the same `findings` table as the OCPP findings,
with `cpo_id` set and `charger_id` null. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from voltlab.ocpp.findings import Severity


@dataclass(frozen=True, slots=True)
class OcpiRule:
    slug: str
    severity: Severity
    title: str
    spec_221: str
    spec_211: str | None  # None: 2.1.1 has no such rule (the rule is not judged there)

    def spec_ref(self, version: str) -> str:
        if version == "2.1.1" and self.spec_211 is not None:
            return self.spec_211
        return self.spec_221


_T221 = "OCPI 2.2.1 transport_and_format"
_S221 = "OCPI 2.2.1 status_codes"
_T211 = "OCPI 2.1.1 transport_and_format"
_S211 = "OCPI 2.1.1 status_codes"

RULES: dict[str, OcpiRule] = {
    rule.slug: rule
    for rule in (
        OcpiRule(
            "ocpi-envelope",
            "error",
            "The eMSP's answer is not an OCPI response envelope",
            f"{_T221} §Response format",
            f"{_T211} §Response format",
        ),
        OcpiRule(
            "ocpi-status-code",
            "error",
            "The eMSP answered with a wrong HTTP or OCPI status code",
            f"{_S221} §Status codes (1xxx, 2xxx, 3xxx, 4xxx)",
            f"{_S211} §Status codes",
        ),
        OcpiRule(
            "ocpi-token-encoding",
            "error",
            "The credentials token in the Authorization header is wrongly encoded",
            f"{_T221} §Authorization header (the token Base64 encoded)",
            f"{_T211} §Request format (the token as is)",
        ),
        OcpiRule(
            "ocpi-request-ids-missing",
            "warning",
            "A request from the eMSP lacks X-Request-ID or X-Correlation-ID",
            f"{_T221} §Unique message IDs",
            None,
        ),
        OcpiRule(
            "ocpi-request-ids-not-echoed",
            "warning",
            "The eMSP's answer does not repeat the request's X-Request-ID or X-Correlation-ID",
            f"{_T221} §Unique message IDs",
            None,
        ),
        OcpiRule(
            "ocpi-push-rejected",
            "error",
            "The eMSP refused a valid object the CPO pushed",
            f"{_S221} §Status codes; {_T221} §Client Owned Object Push",
            f"{_S211} §Status codes; {_T211} §Client owned object push",
        ),
        OcpiRule(
            "ocpi-push-unreachable",
            "error",
            "The eMSP's endpoint could not be reached for a push",
            f"{_T221} §Pull and Push; OCPI 2.2.1 credentials §Interfaces and endpoints",
            f"{_T211} §Pull and Push; OCPI 2.1.1 credentials §Interfaces and endpoints",
        ),
        OcpiRule(
            "ocpi-command-result-failed",
            "error",
            "The eMSP's response_url did not take the CommandResult",
            "OCPI 2.2.1 mod_commands §eMSP Interface (POST to response_url)",
            "OCPI 2.1.1 mod_commands §eMSP Interface (POST to response_url)",
        ),
        OcpiRule(
            "ocpi-credentials-roles",
            "error",
            "The eMSP acts as a party its credentials roles do not name",
            "OCPI 2.2.1 credentials §Credentials object (roles: unique role, party_id, "
            f"country_code; the parties a client pushes Client Owned Objects as); {_T221} "
            "§Message Routing Headers",
            "OCPI 2.1.1 credentials §Credentials object (party_id, country_code)",
        ),
        OcpiRule(
            "ocpi-paging-ignores-link",
            "warning",
            "The eMSP skipped objects instead of following the Link to the next page",
            f"{_T221} §Paginated Response (Link; X-Limit)",
            f"{_T211} §Paginated Response (Link; X-Limit)",
        ),
        OcpiRule(
            "ocpi-paging-limit-above-x-limit",
            "info",
            "The eMSP asked for more objects per page than the X-Limit it was given",
            f"{_T221} §Paginated Request (limit), §Paginated Response (X-Limit)",
            f"{_T211} §Paginated Request (limit), §Paginated Response (X-Limit)",
        ),
    )
}


def ocpi_rule(slug: str) -> OcpiRule:
    return RULES[slug]


@dataclass(frozen=True, slots=True)
class OcpiObservation:
    """One violation of `rule` by the eMSP of one CPO: what was expected and what came."""

    rule: str
    detail: str


# Status codes OCPI defines (status_codes chapter): the generic ones and the custom ranges.
_DEFINED_CODES = frozenset({1000, 2000, 2001, 2002, 2003, 2004, 3000, 3001, 3002, 3003})
_DEFINED_CODES |= frozenset({4000, 4001, 4002, 4003})
_CUSTOM_RANGES = ((1900, 1999), (2900, 2999), (3900, 3999), (4900, 4999))


def is_defined_status(code: int) -> bool:
    return code in _DEFINED_CODES or any(low <= code <= high for low, high in _CUSTOM_RANGES)


# Evidence: the headers that can show a violation (Authorization redacted); bodies capped.
EVIDENCE_HEADERS = (
    "authorization",
    "x-request-id",
    "x-correlation-id",
    "ocpi-from-country-code",
    "ocpi-from-party-id",
    "ocpi-to-country-code",
    "ocpi-to-party-id",
    "link",
    "x-total-count",
    "x-limit",
    "content-type",
    "location",
)
MAX_BODY_CHARS = 8000


def redact_authorization(value: str) -> str:
    """`Token <redacted, Base64>` or `Token <redacted, plain>`: the shape, never the token."""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if not token:
        return scheme
    try:
        base64.b64decode(token, validate=True).decode("utf-8")
        shape = "Base64"
    except (binascii.Error, UnicodeDecodeError, ValueError):
        shape = "plain"
    return f"{scheme} <redacted, {shape}, {len(token)} characters>"


def evidence_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower not in EVIDENCE_HEADERS:
            continue
        kept[lower] = redact_authorization(value) if lower == "authorization" else value
    return kept


def _redact_tokens(value: Any) -> Any:
    """Credentials objects carry the tokens themselves: `token` fields are redacted (a Token
    object of the tokens module has `uid`, not `token`, and is kept)."""
    if isinstance(value, dict):
        return {
            key: "<redacted>" if key == "token" and isinstance(item, str) else _redact_tokens(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_tokens(item) for item in value]
    return value


def evidence_body(raw: bytes | str | None) -> Any:
    """A body as JSON when it is JSON (tokens redacted), else its text; capped in size."""
    if raw is None or raw in (b"", ""):
        return None
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        redacted = _redact_tokens(json.loads(text))
    except (ValueError, RecursionError):  # not JSON, or nested deeper than we follow
        return text[:MAX_BODY_CHARS]
    if len(text) > MAX_BODY_CHARS:
        shown = json.dumps(redacted)[:MAX_BODY_CHARS]
        return f"{shown}… ({len(text)} characters in all)"
    return redacted


@dataclass(frozen=True, slots=True)
class HttpEvidence:
    """One HTTP exchange between the CPO and the eMSP. `direction`: "in" (the eMSP called
    the CPO) or "out" (the CPO called the eMSP); `status` None when no answer came."""

    direction: str
    method: str
    url: str
    status: int | None
    request_headers: Mapping[str, str]
    request_body: Any
    response_headers: Mapping[str, str]
    body: Any  # the response body
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "direction": self.direction,
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "request_headers": dict(self.request_headers),
            "request_body": self.request_body,
            "response_headers": dict(self.response_headers),
            "body": self.body,
        }
        if self.error is not None:
            out["error"] = self.error
        return out
