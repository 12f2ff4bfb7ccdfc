"""The misbehaving mode of the 2.2.1 eMSP peer: a script of violations of OCPI 2.2.1.

The control op ``misbehave`` adds to the peer's script a list of steps ``{"violation": KIND, ...}``;
each step is used once (``"times": n`` for n uses, ``-1`` for the rest of the run), by the
first exchange it matches (``method`` and a ``path`` substring, when given), in script order.
Every use prints an event ``{"event": "violated", "violation": KIND, "method", "path", ...}``
so a test knows exactly what the peer did wrong, and how often.

Server side (the peer's answers to the CPO's pushes and calls):

- ``bad_envelope``: HTTP 200 with ``{"ok": true}``, no OCPI envelope;
- ``unknown_status``: HTTP 200, envelope with ``status_code`` 1234 (OCPI defines none);
- ``http_error``: HTTP 422 with an envelope (2001) - a valid request got an HTTP error;
- ``reject``: HTTP 200 with status_code 2001: a valid object refused;
- ``no_echo``: py_ocpi's answer without the X-Request-ID / X-Correlation-ID echo;
- ``refuse_base64``: 401 to ``Token base64(token B)``; the plain token is taken instead;
- ``dead_endpoint`` (``module``): the version details publish that module at a closed port.

Client side (the peer's requests to the CPO):

- ``plain_token``: the credentials token goes as is, not Base64 encoded;
- ``omit_request_ids``: no X-Request-ID / X-Correlation-ID;
- ``foreign_routing``: OCPI-from-country-code/-party-id of a party the credentials did not name;
- ``duplicate_role``: the credentials list the EMSP role twice;
- ``foreign_party_token``: a pushed Token goes under party ``ZZZ``, not one of our roles;
- ``ignore_link``: following pages, the next offset is computed (offset + limit + ``skip``)
  instead of taken from the Link;
- ``limit_above_x_limit``: the next paged GET asks for ten times the X-Limit it was given.

Without a script the peer keeps the rules: its requests carry X-Request-ID and
X-Correlation-ID and its answers repeat them (py_ocpi does neither; the recorder adds them).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

SERVER_KINDS = frozenset(
    {
        "bad_envelope",
        "unknown_status",
        "http_error",
        "reject",
        "no_echo",
        "refuse_base64",
        "dead_endpoint",
    }
)
CLIENT_KINDS = frozenset(
    {
        "plain_token",
        "omit_request_ids",
        "foreign_routing",
        "duplicate_role",
        "foreign_party_token",
        "ignore_link",
        "limit_above_x_limit",
    }
)
# Answers the peer makes itself instead of py_ocpi's: (HTTP status, body).
CANNED = {
    "bad_envelope": (200, {"ok": True}),
    "unknown_status": (200, {"data": None, "status_code": 1234}),
    "http_error": (422, {"data": None, "status_code": 2001, "status_message": "nope"}),
    "reject": (200, {"data": None, "status_code": 2001, "status_message": "Rejected"}),
}


def dead_port() -> int:
    """A port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Script:
    def __init__(self, emit: Callable[[dict], None]) -> None:
        self._emit = emit
        self.steps: list[dict] = []

    def load(self, steps: list[dict]) -> dict:
        for step in steps:
            kind = step.get("violation")
            if kind not in SERVER_KINDS | CLIENT_KINDS:
                raise ValueError(f"unknown violation {kind!r}")
        self.steps += [dict(step, times=step.get("times", 1)) for step in steps]
        return {"steps": len(self.steps)}

    def take(self, kinds: frozenset[str], method: str, path: str, **info) -> dict | None:
        """The first step of one of `kinds` matching this exchange, used once."""
        for step in self.steps:
            if step["violation"] not in kinds:
                continue
            if step.get("method") and step["method"].upper() != method.upper():
                continue
            if step.get("path") and step["path"] not in path:
                continue
            if step["times"] > 0:
                step["times"] -= 1
                if step["times"] == 0:
                    self.steps.remove(step)
            self._emit(
                {
                    "event": "violated",
                    "violation": step["violation"],
                    "method": method.upper(),
                    "path": path,
                    **info,
                }
            )
            return step
        return None

    def peek(self, kind: str) -> dict | None:
        return next((step for step in self.steps if step["violation"] == kind), None)


def canned_body(kind: str, timestamp: str) -> tuple[int, bytes]:
    status, body = CANNED[kind]
    if "status_code" in body:
        body = dict(body, timestamp=timestamp)
    return status, json.dumps(body).encode()


def publish_dead(details_body: bytes, module: str) -> bytes:
    """Version details with `module`'s URL moved to a closed port."""
    body = json.loads(details_body)
    for endpoint in (body.get("data") or {}).get("endpoints") or []:
        if endpoint.get("identifier") == module:
            endpoint["url"] = f"http://127.0.0.1:{dead_port()}/ocpi/emsp/2.2.1/{module}"
    return json.dumps(body).encode()
