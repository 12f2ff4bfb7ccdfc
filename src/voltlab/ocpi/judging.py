"""The rules about the eMSP (`ocpi/findings.py`) as checks on what crosses the wire: pure
functions of one request or answer, plus the little memory paging needs (which Links this
process gave each CPO's eMSP). Cheap on the good path: a few header and dict lookups per
exchange; evidence is built only when a check fails (by the caller, `OcpiCore.judge`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voltlab.ocpi.findings import OcpiObservation, is_defined_status

V221 = "2.2.1"

# HTTP statuses an answer may carry without having reached the OCPI layer (transport, auth,
# unknown resource, the credentials 405s, overload); any other 4xx to a request carrying
# valid JSON to an existing endpoint breaks "a HTTP error MUST NOT be returned".
_TRANSPORT_STATUSES = frozenset({401, 403, 404, 405, 408, 413, 429})


def _has(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def check_answer(
    version: str,
    sent: Mapping[str, str],
    status: int,
    payload: Any,
    received: Mapping[str, str],
) -> list[OcpiObservation]:
    """The eMSP's answer to one of our requests: envelope, status codes, echoed ids.
    `sent` are the request headers we sent, `received` the answer's (lower-case names)."""
    found: list[OcpiObservation] = []
    ok_http = 200 <= status < 300
    code = payload.get("status_code") if isinstance(payload, dict) else None
    if ok_http:
        problems = []
        if not isinstance(payload, dict):
            problems.append("the body is not a JSON object")
        else:
            if not isinstance(code, int) or isinstance(code, bool):
                problems.append(f"status_code is {code!r}, not an int")
            if not isinstance(payload.get("timestamp"), str):
                problems.append(f"timestamp is {payload.get('timestamp')!r}, not a DateTime")
        if problems:
            found.append(
                OcpiObservation(
                    "ocpi-envelope",
                    "expected {data, status_code (int), status_message?, timestamp} with HTTP "
                    f"{status}; came: " + "; ".join(problems),
                )
            )
    if isinstance(code, int) and not isinstance(code, bool):
        if not is_defined_status(code):
            found.append(
                OcpiObservation(
                    "ocpi-status-code",
                    "expected an OCPI status_code OCPI defines (1000, 2000-2004, 3000-3003, "
                    f"4000-4003 or a custom x9xx); came {code} with HTTP {status}",
                )
            )
        elif not ok_http and 1000 <= code < 2000:
            found.append(
                OcpiObservation(
                    "ocpi-status-code",
                    f"expected HTTP 2xx with success status_code {code}; came HTTP {status}",
                )
            )
    if 400 <= status < 500 and status not in _TRANSPORT_STATUSES:
        found.append(
            OcpiObservation(
                "ocpi-status-code",
                "expected HTTP 200/201 with the problem in status_code (the request was valid "
                f"JSON to an existing endpoint, so it reached the OCPI layer); came HTTP {status}",
            )
        )
    if version == V221:
        missing = [
            f"{name} {expected!r} came back as {_has(received, name.lower())!r}"
            for name in ("X-Request-ID", "X-Correlation-ID")
            if (expected := sent.get(name)) is not None and _has(received, name.lower()) != expected
        ]
        if missing:
            found.append(
                OcpiObservation(
                    "ocpi-request-ids-not-echoed",
                    "expected the answer to repeat the request's ids; " + "; ".join(missing),
                )
            )
    return found


def check_request(
    version: str,
    headers: Mapping[str, str],
    token_was_encoded: bool,
    module: str,
    roles: Sequence[Mapping[str, Any]],
    registered: bool,
) -> list[OcpiObservation]:
    """One request from the eMSP (authenticated, lower-case header names)."""
    found: list[OcpiObservation] = []
    if version == V221 and not token_was_encoded:
        found.append(
            OcpiObservation(
                "ocpi-token-encoding",
                "expected 'Authorization: Token <Base64 of the credentials token>' (2.2.1); "
                "came the token as is",
            )
        )
    elif version != V221 and token_was_encoded:
        found.append(
            OcpiObservation(
                "ocpi-token-encoding",
                "expected 'Authorization: Token <the credentials token as is>' (2.1.1); came "
                "its Base64 encoding",
            )
        )
    if version == V221:
        absent = [n for n in ("X-Request-ID", "X-Correlation-ID") if not _has(headers, n.lower())]
        if absent:
            found.append(
                OcpiObservation(
                    "ocpi-request-ids-missing",
                    "expected X-Request-ID and X-Correlation-ID on every request; came without "
                    + " and ".join(absent),
                )
            )
        country = _has(headers, "ocpi-from-country-code")
        party = _has(headers, "ocpi-from-party-id")
        if (
            registered
            and roles
            and country is not None
            and party is not None
            and not party_in_roles(roles, country, party)
        ):
            found.append(
                OcpiObservation(
                    "ocpi-credentials-roles",
                    f"expected OCPI-from-country-code/-party-id of a role the eMSP gave in "
                    f"the credentials ({describe_roles(roles)}); came {country}/{party} "
                    f"({module})",
                )
            )
    return found


def party_in_roles(roles: Sequence[Mapping[str, Any]], country: str, party: str) -> bool:
    return any(
        str(role.get("country_code", "")).upper() == country.upper()
        and str(role.get("party_id", "")).upper() == party.upper()
        for role in roles
    )


def describe_roles(roles: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(
        f"{role.get('role')} {role.get('country_code')}/{role.get('party_id')}" for role in roles
    )


def check_roles(roles: Sequence[Mapping[str, Any]]) -> list[OcpiObservation]:
    """The roles of a credentials object: every (role, party_id, country_code) unique."""
    seen: set[tuple[str, str, str]] = set()
    twice: list[str] = []
    for role in roles:
        key = (
            str(role.get("role", "")).upper(),
            str(role.get("party_id", "")).upper(),
            str(role.get("country_code", "")).upper(),
        )
        if key in seen:
            twice.append(f"{key[0]} {key[2]}/{key[1]}")
        seen.add(key)
    if not twice:
        return []
    return [
        OcpiObservation(
            "ocpi-credentials-roles",
            "expected every role to have a unique combination of role, party_id and "
            "country_code; came more than once: " + ", ".join(twice),
        )
    ]


@dataclass(frozen=True)
class IssuedLink:
    next_offset: int
    x_limit: int


class PagingMemory:
    """The last 'next' Link given per (CPO, module, filters), and which (CPO, module) were
    told X-Limit. In memory: after a restart a skipped page may go unjudged, never misjudged.
    Bounded (least recently used entries go)."""

    def __init__(self, size: int = 4096) -> None:
        self._links: OrderedDict[tuple[str, str, tuple[tuple[str, str], ...]], IssuedLink] = (
            OrderedDict()
        )
        self._told: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._size = size

    def judge(
        self,
        cpo_id: str,
        module: str,
        filters: tuple[tuple[str, str], ...],
        offset: int,
        asked_limit: int | None,
    ) -> list[OcpiObservation]:
        """A paged GET as asked (before it is answered)."""
        found: list[OcpiObservation] = []
        told = self._told.get((cpo_id, module))
        if asked_limit is not None and told is not None and asked_limit > told:
            found.append(
                OcpiObservation(
                    "ocpi-paging-limit-above-x-limit",
                    f"expected limit <= {told}, the X-Limit of the previous {module} page; "
                    f"came limit={asked_limit}",
                )
            )
        link = self._links.get((cpo_id, module, _key(filters)))
        if link is not None and offset > link.next_offset:
            found.append(
                OcpiObservation(
                    "ocpi-paging-ignores-link",
                    f"expected the next {module} page at offset={link.next_offset} (the Link "
                    f"given); came offset={offset}: objects {link.next_offset} to {offset - 1} "
                    "were never fetched",
                )
            )
        return found

    def answered(
        self,
        cpo_id: str,
        module: str,
        filters: tuple[tuple[str, str], ...],
        next_offset: int | None,
        x_limit: int,
    ) -> None:
        told_key = (cpo_id, module)
        self._told[told_key] = x_limit
        self._told.move_to_end(told_key)
        key = (cpo_id, module, _key(filters))
        if next_offset is None:
            self._links.pop(key, None)
        else:
            self._links[key] = IssuedLink(next_offset, x_limit)
            self._links.move_to_end(key)
        while len(self._links) > self._size:
            self._links.popitem(last=False)
        while len(self._told) > self._size:
            self._told.popitem(last=False)


def _key(filters: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(filters))
