"""An OCPI 2.2.1 eMSP test peer built on extrawest-ocpi (``py_ocpi``).

Run it with the peer's own virtualenv (pydantic 1, FastAPI 0.101), never with
the project's interpreter::

    tests/peers/ocpi_emsp/.venv/bin/python emsp.py [--port 0] [--token-b TOKEN]
        [--country-code NL] [--party-id EXP] [--name "Voltlab test eMSP"]

The server side is py_ocpi's ``get_application`` for version 2.2.1, role EMSP,
modules credentials, locations, sessions, cdrs, tariffs (receiver), tokens and
commands (sender). py_ocpi's routers and pydantic models parse and validate
every request body; this file only supplies the in-memory storage (Crud), the
model adapters (Adapter) and the token check (Authenticator).

Control: JSON lines.

stdout (one object per line)::

    {"event": "listening", "port": N, "base_url": ..., "versions_url": ..., "token_b": ...}
    {"event": "received", "seq": n, "method", "path", "query", "headers", "body",
     "status", "response", "ocpi_status", "validation_errors", "auth"}
    {"reply_to": id, "ok": true, "result": ...}
    {"reply_to": id, "ok": false, "error": {"code", "message", "details"}}

stdin: ``{"id": n, "op": "...", ...}`` with op one of ping, state, register,
get, command, push_token, add_token, set_authorization, raw, misbehave (a script of
violations of OCPI: ``misbehave.py``; events ``{"event": "violated", ...}``). The event for a
request is written before the response leaves the server, and the reply to a
command is written after every event that came before it, so a ``ping`` makes
the client's event list current. Closing stdin stops the peer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import re
import secrets
import socket
import sys
import traceback
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

VERSION = "2.2.1"

# --------------------------------------------------------------------------- output


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(o):
    if isinstance(o, (bytes, bytearray)):
        return o.decode("utf-8", errors="replace")
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_body(raw: bytes):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def header_dict(pairs) -> dict:
    """Lower-case names; repeated headers joined with ', '."""
    out: dict[str, str] = {}
    for name, value in pairs:
        name = name.decode("latin-1").lower() if isinstance(name, bytes) else name.lower()
        value = value.decode("latin-1") if isinstance(value, bytes) else value
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def validation_errors(exc) -> list:
    return json.loads(json.dumps(exc.errors(), default=str))


class OpError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


# --------------------------------------------------------------------------- arguments

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--token-b", default=None, help="the token we hand to the CPO")
parser.add_argument("--country-code", default="NL")
parser.add_argument("--party-id", default="EXP")
parser.add_argument("--name", default="Voltlab test eMSP")
parser.add_argument("--http-timeout", type=float, default=15.0)
ARGS = parser.parse_args()

# py_ocpi reads its settings (host used in every URL it publishes, scheme,
# trailing slash) from the environment when it is imported: bind first, so the
# real port is known, then import.
LISTEN = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
LISTEN.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
LISTEN.bind(("127.0.0.1", ARGS.port))
LISTEN.listen(128)
PORT = LISTEN.getsockname()[1]
HOST = f"127.0.0.1:{PORT}"
BASE_URL = f"http://{HOST}"

os.environ.update(
    {
        "OCPI_HOST": HOST,
        "PROTOCOL": "http",
        "OCPI_PREFIX": "ocpi",
        "PUSH_PREFIX": "push",
        # Published module URLs carry no trailing slash, so `{url}/{cc}/{pid}/{id}` is right.
        "TRAILING_SLASH": "false",
        "ENVIRONMENT": "production",
        "NO_AUTH": "false",
        "COUNTRY_CODE": ARGS.country_code,
        "PARTY_ID": ARGS.party_id,
        "PROJECT_NAME": "voltlab-ocpi-emsp-peer",
        "BACKEND_CORS_ORIGINS": "[]",
    }
)

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from misbehave import Script, canned_body, publish_dead  # noqa: E402
from py_ocpi import get_application  # noqa: E402
from py_ocpi.core.authentication.authenticator import Authenticator  # noqa: E402
from py_ocpi.core.enums import Action, ModuleID, RoleEnum  # noqa: E402
from py_ocpi.modules.cdrs.v_2_2_1.schemas import Cdr  # noqa: E402
from py_ocpi.modules.commands.v_2_2_1.schemas import (  # noqa: E402
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from py_ocpi.modules.credentials.v_2_2_1.schemas import Credentials  # noqa: E402
from py_ocpi.modules.locations.v_2_2_1.schemas import Location  # noqa: E402
from py_ocpi.modules.sessions.v_2_2_1.schemas import Session  # noqa: E402
from py_ocpi.modules.tariffs.v_2_2_1.schemas import Tariff  # noqa: E402
from py_ocpi.modules.tokens.v_2_2_1.schemas import AuthorizationInfo, Token  # noqa: E402
from py_ocpi.modules.versions.enums import VersionNumber  # noqa: E402
from py_ocpi.modules.versions.schemas import Version  # noqa: E402
from py_ocpi.modules.versions.v_2_2_1.schemas import VersionDetail  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from starlette.routing import Match  # noqa: E402

OCPI_BASE = f"{BASE_URL}/ocpi"
VERSIONS_URL = f"{OCPI_BASE}/versions"
DETAILS_URL = f"{OCPI_BASE}/{VERSION}/details"
MODULE_BASE = f"{OCPI_BASE}/emsp/{VERSION}"

# Models py_ocpi validates objects with, per module, for what we pull from the CPO.
MODULE_MODELS = {
    "locations": Location,
    "sessions": Session,
    "cdrs": Cdr,
    "tariffs": Tariff,
    "tokens": Token,
}
COMMAND_MODELS = {
    "START_SESSION": StartSession,
    "STOP_SESSION": StopSession,
    "RESERVE_NOW": ReserveNow,
    "CANCEL_RESERVATION": CancelReservation,
    "UNLOCK_CONNECTOR": UnlockConnector,
}


# --------------------------------------------------------------------------- state


class State:
    def __init__(self) -> None:
        self.token_b: str = ARGS.token_b or ("b-" + secrets.token_hex(16))
        # tokens the CPO may use to call us (py_ocpi calls them "token C": ours, given away)
        self.accepted_tokens: list[str] = []
        self.token_c: str | None = None  # the CPO's token, for our calls to it
        self.cpo_versions_url: str | None = None
        self.cpo_version_url: str | None = None
        self.cpo_endpoints: list[dict] = []
        self.cpo_roles: list[dict] = []
        # module -> key -> object (keys: "cc/pid/id" lower case; cdrs: id)
        self.objects: dict[str, dict[str, dict]] = {
            "locations": {},
            "sessions": {},
            "tariffs": {},
            "cdrs": {},
        }
        self.tokens: dict[str, dict] = {}  # "uid/type" (lower) -> Token dict
        self.authorization: dict[str, str] = {}  # uid lower -> AllowedType
        self.command_results: dict[str, list[dict]] = {}
        self.auth_refs = 0
        # Sessions as an eMSP following the sessions module merges them (merge_session_push):
        # key "cc/pid/id" lower case -> Session. py_ocpi's own store replaces charging_periods
        # on PATCH; this one appends them, as the PATCH rule says.
        self.merged_sessions: dict[str, dict] = {}
        # After each merged push: {"key", "method", "periods", "period_kwh", "kwh"}
        self.merge_steps: list[dict] = []
        self.x_limits: dict[str, int] = {}  # module -> the X-Limit the CPO announced
        # After a refuse_base64 step: the CPO sends token B as is, which we take.
        self.plain_token_b = False

    def our_credentials(self) -> dict:
        return {
            "token": self.token_b,
            "url": VERSIONS_URL,
            "roles": [
                {
                    "role": "EMSP",
                    "party_id": ARGS.party_id,
                    "country_code": ARGS.country_code,
                    "business_details": {"name": ARGS.name},
                }
            ],
        }

    def dump(self) -> dict:
        return {
            "token_b": self.token_b,
            "token_c": self.token_c,
            "accepted_tokens": self.accepted_tokens,
            "cpo_versions_url": self.cpo_versions_url,
            "cpo_version_url": self.cpo_version_url,
            "cpo_endpoints": self.cpo_endpoints,
            "cpo_roles": self.cpo_roles,
            "locations": self.objects["locations"],
            "sessions": self.objects["sessions"],
            "tariffs": self.objects["tariffs"],
            "cdrs": self.objects["cdrs"],
            "tokens": self.tokens,
            "command_results": self.command_results,
            "merged_sessions": self.merged_sessions,
            "merge_steps": self.merge_steps,
        }


STATE = State()
SCRIPT = Script(emit)
ECHOED = (b"x-request-id", b"x-correlation-id")


def _key(*parts) -> str:
    return "/".join(str(p).lower() for p in parts)


def _plain(data):
    """py_ocpi model dicts hold str/float subclasses and enums: make plain JSON."""
    return json.loads(json.dumps(data, default=_json_default))


# --------------------------------------------------------------------------- py_ocpi hooks


class PeerAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return list(STATE.accepted_tokens)

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        # We never hand out a token A: registration is started by us.
        return []


class PeerCrud:
    """In-memory storage behind py_ocpi's eMSP routers."""

    @staticmethod
    async def get(module, role, id, *args, **kwargs):
        cc, pid = kwargs.get("country_code"), kwargs.get("party_id")
        if module == ModuleID.credentials_and_registration:
            return STATE.our_credentials() if id in STATE.accepted_tokens else None
        if module in (ModuleID.locations, ModuleID.sessions, ModuleID.tariffs):
            return STATE.objects[module.value].get(_key(cc, pid, id))
        if module == ModuleID.cdrs:
            return STATE.objects["cdrs"].get(_key(id))
        if module == ModuleID.tokens:
            token_type = kwargs.get("token_type")
            type_value = getattr(token_type, "value", token_type)
            for tok in STATE.tokens.values():
                if str(tok["uid"]).lower() == str(id).lower() and (
                    type_value is None or tok["type"] == type_value
                ):
                    return tok
            return None
        if module == ModuleID.commands:
            results = STATE.command_results.get(str(id))
            return results[-1] if results else None
        return None

    @staticmethod
    async def list(module, role, filters, *args, **kwargs):
        if module != ModuleID.tokens:
            return [], 0, True
        items = sorted(STATE.tokens.values(), key=lambda t: (t["last_updated"], t["uid"]))
        date_from, date_to = filters.get("date_from"), filters.get("date_to")

        def stamp(t):
            return datetime.fromisoformat(t["last_updated"].replace("Z", "+00:00"))

        if date_from is not None:
            items = [t for t in items if stamp(t) >= _aware(date_from)]
        if date_to is not None:
            items = [t for t in items if stamp(t) < _aware(date_to)]
        offset, limit = int(filters.get("offset") or 0), int(filters.get("limit") or 50)
        page = items[offset : offset + limit]
        return page, len(items), offset + limit >= len(items)

    @staticmethod
    async def create(module, role, data, *args, **kwargs):
        data = _plain(data)
        if module in (ModuleID.locations, ModuleID.sessions, ModuleID.tariffs):
            key = _key(kwargs.get("country_code"), kwargs.get("party_id"), data["id"])
            STATE.objects[module.value][key] = data
            return data
        if module == ModuleID.cdrs:
            STATE.objects["cdrs"][_key(data["id"])] = data
            return data
        if module == ModuleID.credentials_and_registration:
            # Only reachable with a token A, and we issue none.
            return STATE.our_credentials()
        return data

    @staticmethod
    async def update(module, role, data, id, *args, **kwargs):
        data = _plain(data)
        if module in (ModuleID.locations, ModuleID.sessions, ModuleID.tariffs):
            key = _key(kwargs.get("country_code"), kwargs.get("party_id"), id)
            STATE.objects[module.value][key] = data
            return data
        if module == ModuleID.commands:
            STATE.command_results.setdefault(str(id), []).append(data)
            return data
        if module == ModuleID.credentials_and_registration:
            # PUT /credentials from the CPO: it hands us a new token C and URL.
            creds = data["credentials"]
            STATE.token_c = creds["token"]
            STATE.cpo_versions_url = creds["url"]
            STATE.cpo_roles = creds.get("roles") or []
            endpoints = data.get("endpoints") or {}
            if isinstance(endpoints, dict) and "endpoints" in endpoints:
                STATE.cpo_endpoints = endpoints["endpoints"]
            return STATE.our_credentials()
        return data

    @staticmethod
    async def delete(module, role, id, *args, **kwargs):
        if module == ModuleID.credentials_and_registration:
            if id in STATE.accepted_tokens:
                STATE.accepted_tokens.remove(id)
            STATE.token_c = None

    @staticmethod
    async def do(module, role, action, *args, data=None, **kwargs):
        if module == ModuleID.tokens and action == Action.authorize_token:
            token = await PeerCrud.get(
                ModuleID.tokens, role, data["token_uid"], token_type=data.get("token_type")
            )
            if token is None:
                return None
            allowed = STATE.authorization.get(str(data["token_uid"]).lower(), "ALLOWED")
            STATE.auth_refs += 1
            info = {
                "allowed": allowed,
                "token": token,
                "authorization_reference": f"auth-{STATE.auth_refs}",
            }
            if data.get("location_reference"):
                info["location"] = data["location_reference"]
            return info
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class PeerAdapter:
    """py_ocpi's adapters: turn stored dicts back into its models (validated again)."""

    @staticmethod
    def location_adapter(data, version=VersionNumber.v_2_2_1):
        return Location(**data)

    @staticmethod
    def session_adapter(data, version=VersionNumber.v_2_2_1):
        return Session(**data)

    @staticmethod
    def cdr_adapter(data, version=VersionNumber.v_2_2_1):
        return Cdr(**data)

    @staticmethod
    def tariff_adapter(data, version=VersionNumber.v_2_2_1):
        return Tariff(**data)

    @staticmethod
    def credentials_adapter(data, version=VersionNumber.v_2_2_1):
        return Credentials(**data)

    @staticmethod
    def token_adapter(data, version=VersionNumber.v_2_2_1):
        return Token(**data)

    @staticmethod
    def authorization_adapter(data, version=VersionNumber.v_2_2_1):
        return AuthorizationInfo(**data)

    @staticmethod
    def command_response_adapter(data, version=VersionNumber.v_2_2_1):
        return CommandResponse(**data)

    @staticmethod
    def command_result_adapter(data, version=VersionNumber.v_2_2_1):
        return CommandResult(**data)


OCPI_APP = get_application(
    version_numbers=[VersionNumber.v_2_2_1],
    roles=[RoleEnum.emsp],
    crud=PeerCrud,
    modules=[
        ModuleID.credentials_and_registration,
        ModuleID.locations,
        ModuleID.sessions,
        ModuleID.cdrs,
        ModuleID.tariffs,
        ModuleID.tokens,
        ModuleID.commands,
    ],
    authenticator=PeerAuthenticator,
    adapter=PeerAdapter,
)


# --------------------------------------------------------------------------- recorder


class Recorder:
    """ASGI wrapper: records every request and the answer py_ocpi gave.

    It also smooths three transport details py_ocpi gets in the way of:
    - collection routes are declared with a trailing slash (``/cdrs/``,
      ``/tokens/``, ``/credentials/``); a request without it would get a 307
      redirect. The path is rewritten before routing (the event keeps the
      original path).
    - py_ocpi answers POST tokens/{uid}/authorize with a one-element list as
      ``data``; the spec's answer is the AuthorizationInfo object itself, so the
      list is unwrapped (``_authorization_object``).
    - py_ocpi builds the tokens ``Link`` header as ``https://HOST/ocpi/cpo/...``
      with ``date_from=None`` in it, and the CDR ``Location`` header with
      https; on Python 3.11 both also read ``VersionNumber.v_2_2_1`` and
      ``ModuleID.cdrs`` where ``2.2.1`` and ``cdrs`` belong. They are
      rewritten to our real URLs.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.seq = 0

    def _route_path(self, scope) -> str:
        path = scope["path"]
        if path.endswith("/"):
            return path
        probe = dict(scope, path=path + "/")
        exact = dict(scope)
        for route in self.app.router.routes:
            if route.matches(exact)[0] == Match.FULL:
                return path
        for route in self.app.router.routes:
            if route.matches(probe)[0] == Match.FULL:
                return path + "/"
        return path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        original_path = scope["path"]
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw_body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw_body, "more_body": False}
            return await receive()

        route_path = self._route_path(scope)
        if route_path != original_path:
            scope = dict(scope, path=route_path, raw_path=route_path.encode())

        method = scope["method"]
        request_headers = header_dict(scope.get("headers", []))
        # The request's ids, repeated in the answer (OCPI 2.2.1 "Unique message IDs"; py_ocpi
        # does not), unless the script says otherwise.
        echo = [
            (n, request_headers[n.decode()].encode())
            for n in ECHOED
            if n.decode() in request_headers
        ]
        # One step per answer, the first of the script that matches it.
        step = SCRIPT.take(
            frozenset({"bad_envelope", "unknown_status", "http_error", "reject", "no_echo"}),
            method,
            original_path,
        )
        if step is not None and step["violation"] == "no_echo":
            echo, step = [], None
        if step is None:
            step = self._token_encoding(scope, method, original_path)
        if step is not None:
            await self._canned(scope, send, original_path, raw_body, step, echo)
            return
        if STATE.plain_token_b:
            scope = _encode_plain_token_b(scope)
        dead = None
        if method == "GET" and original_path.rstrip("/").endswith("/details"):
            dead = SCRIPT.take(frozenset({"dead_endpoint"}), method, original_path)

        status = {"code": None, "headers": []}
        out_chunks = []
        authorize = method == "POST" and original_path.rstrip("/").endswith("/authorize")
        authorize = authorize or dead is not None  # both rewrite the body
        held_start = []

        def rewrite(raw: bytes) -> bytes:
            if dead is not None:
                return publish_dead(raw, dead["module"])
            return _authorization_object(raw)

        async def capture(message):
            if message["type"] == "http.response.start":
                headers = [_fix_header(n, v) for n, v in message.get("headers", [])]
                headers = [(n, v) for n, v in headers if n.lower() not in ECHOED] + echo
                message = dict(message, headers=headers)
                status["code"] = message["status"]
                status["headers"] = headers
                if authorize:
                    held_start.append(message)  # sent with the rewritten body
                    return
                await send(message)
                return
            if authorize and message["type"] == "http.response.body":
                out_chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = rewrite(b"".join(out_chunks))
                start = held_start.pop()
                headers = [(n, v) for n, v in start["headers"] if n.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                status["headers"] = headers
                self._emit(scope, original_path, raw_body, status, body)
                await send(dict(start, headers=headers))
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            if message["type"] == "http.response.body":
                out_chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._emit(scope, original_path, raw_body, status, b"".join(out_chunks))
            await send(message)

        await self.app(scope, replay, capture)

    def _token_encoding(self, scope, method: str, path: str) -> dict | None:
        """refuse_base64: 401 to Token base64(token B); from then on token B as is is ours."""
        if SCRIPT.peek("refuse_base64") is None:
            return None
        auth = describe_auth(header_dict(scope.get("headers", [])).get("authorization"))
        if auth is None or auth["matches"] != "token_b":
            return None
        step = SCRIPT.take(frozenset({"refuse_base64"}), method, path)
        if step is not None:
            STATE.plain_token_b = True
        return step

    async def _canned(self, scope, send, path, raw_body, step, echo) -> None:
        kind = step["violation"]
        if kind == "refuse_base64":
            status_code, body = (
                401,
                json.dumps(
                    {
                        "data": None,
                        "status_code": 2000,
                        "status_message": "Unauthorized",
                        "timestamp": now_iso(),
                    }
                ).encode(),
            )
        else:
            status_code, body = canned_body(kind, now_iso())
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += echo
        self._emit(scope, path, raw_body, {"code": status_code, "headers": headers}, body)
        await send({"type": "http.response.start", "status": status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _emit(self, scope, path, raw_body, status, raw_response) -> None:
        self.seq += 1
        headers = header_dict(scope.get("headers", []))
        response = parse_body(raw_response)
        ocpi_status = response.get("status_code") if isinstance(response, dict) else None
        if status["code"] == 200 and ocpi_status == 1000:
            merge_session_push(scope["method"], path, parse_body(raw_body))
        errors = None
        if status["code"] == 422 and isinstance(response, dict):
            errors = response.get("detail")
        emit(
            {
                "event": "received",
                "seq": self.seq,
                "method": scope["method"],
                "path": path,
                "query": scope.get("query_string", b"").decode("latin-1"),
                "headers": headers,
                "body": parse_body(raw_body),
                "status": status["code"],
                "response_headers": header_dict(status["headers"]),
                "response": response,
                "ocpi_status": ocpi_status,
                "validation_errors": errors,
                "auth": describe_auth(headers.get("authorization")),
            }
        )


def _encode_plain_token_b(scope):
    """The CPO sends token B as is (after refuse_base64): py_ocpi wants it Base64 encoded."""
    headers = []
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            auth = describe_auth(value.decode("latin-1"))
            if auth is not None and auth["matches"] == "token_b_unencoded":
                value = f"Token {b64(STATE.token_b)}".encode()
        headers.append((name, value))
    return dict(scope, headers=headers)


def _authorization_object(raw: bytes) -> bytes:
    """py_ocpi answers real-time authorization with ``data: [AuthorizationInfo]``; the tokens
    module's POST {uid}/authorize answers ``data: AuthorizationInfo`` (one object)."""
    body = parse_body(raw)
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        body["data"] = data[0]
        return json.dumps(body, default=_json_default).encode()
    return raw


SESSIONS_PATH = f"/ocpi/emsp/{VERSION}/sessions/"


def merge_session_push(method: str, path: str, body) -> None:
    """Keep STATE.merged_sessions the way the OCPI 2.2.1 sessions module (Receiver PUT/PATCH)
    says: PUT replaces the Session (its charging_periods too); a PATCH overwrites the fields it
    carries, except charging_periods, which it SHALL add to the existing list (an omitted or
    empty list changes nothing)."""
    if method not in ("PUT", "PATCH") or not path.startswith(SESSIONS_PATH):
        return
    if not isinstance(body, dict):
        return
    key = _key(*path[len(SESSIONS_PATH) :].strip("/").split("/"))
    if method == "PUT":
        merged = dict(body)
    else:
        merged = dict(STATE.merged_sessions.get(key) or {})
        for field, value in body.items():
            if field == "charging_periods":
                merged["charging_periods"] = list(merged.get("charging_periods") or []) + list(
                    value or []
                )
            else:
                merged[field] = value
    STATE.merged_sessions[key] = merged
    periods = merged.get("charging_periods") or []
    STATE.merge_steps.append(
        {
            "key": key,
            "method": method,
            "periods": len(periods),
            "period_kwh": sum(
                d.get("volume") or 0
                for p in periods
                for d in p.get("dimensions") or []
                if d.get("type") == "ENERGY"
            ),
            "kwh": merged.get("kwh"),
        }
    )


def _fix_header(name: bytes, value: bytes):
    if name.lower() in (b"link", b"location"):
        text = value.decode("latin-1")
        # py_ocpi formats str enums into f-strings: on Python 3.11 that gives
        # ".../VersionNumber.v_2_2_1/ModuleID.cdrs/..." instead of ".../2.2.1/cdrs/..."
        text = text.replace("VersionNumber.v_2_2_1", VERSION)
        text = re.sub(r"ModuleID\.(\w+)", lambda m: ModuleID[m.group(1)].value, text)
        text = text.replace(f"https://{HOST}/", f"http://{HOST}/")
        text = text.replace(f"/ocpi/cpo/{VERSION}/", f"/ocpi/emsp/{VERSION}/")

        def clean(match):
            parts = urlsplit(match.group(1))
            query = [(k, v) for k, v in parse_qsl(parts.query) if v != "None"]
            path = parts.path.rstrip("/")
            return "<" + urlunsplit(parts._replace(path=path, query=urlencode(query))) + ">"

        text = re.sub(r"<([^>]*)>", clean, text)
        return name, text.encode("latin-1")
    return name, value


def describe_auth(header: str | None) -> dict | None:
    """What token the caller used, and whether it was base64 encoded as 2.2.1 wants."""
    if header is None:
        return None
    parts = header.split(None, 1)
    scheme = parts[0] if parts else ""
    raw = parts[1].strip() if len(parts) > 1 else ""
    decoded = None
    try:
        decoded = base64.b64decode(raw.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        decoded = None
    if decoded is not None and decoded == STATE.token_b:
        matches = "token_b"
    elif raw == STATE.token_b:
        matches = "token_b_unencoded"
    else:
        matches = None
    return {
        "scheme": scheme,
        "token": raw,
        "decoded": decoded,
        "base64": decoded is not None,
        "matches": matches,
    }


APP = Recorder(OCPI_APP)


# --------------------------------------------------------------------------- client side


class Client:
    """Our calls to the CPO."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(timeout=ARGS.http_timeout, follow_redirects=False)

    async def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None,
        encode: bool = True,
        body=None,
        params=None,
        headers: dict | None = None,
    ) -> dict:
        path = urlsplit(url).path
        send_headers = {}
        if SCRIPT.take(frozenset({"plain_token"}), method, path) is not None:
            encode = False
        if token is not None:
            send_headers["Authorization"] = f"Token {b64(token) if encode else token}"
        # OCPI 2.2.1 "Unique message IDs": every request carries both.
        if SCRIPT.take(frozenset({"omit_request_ids"}), method, path) is None:
            send_headers["X-Request-ID"] = str(uuid.uuid4())
            send_headers["X-Correlation-ID"] = str(uuid.uuid4())
        if SCRIPT.take(frozenset({"foreign_routing"}), method, path) is not None:
            send_headers["OCPI-from-country-code"] = "DE"
            send_headers["OCPI-from-party-id"] = "ZZZ"
        if headers:
            send_headers.update({k: v for k, v in headers.items() if v is not None})
            for name in [k for k, v in headers.items() if v is None]:
                send_headers.pop(name, None)
        kwargs = {}
        if body is not None:
            kwargs["content"] = json.dumps(body).encode()
            send_headers.setdefault("Content-Type", "application/json")
        try:
            resp = await self.http.request(
                method, url, headers=send_headers, params=params, **kwargs
            )
        except httpx.HTTPError as exc:
            raise OpError(
                "http_error", f"{method} {url}: {type(exc).__name__}: {exc}", {"url": url}
            ) from None
        return {
            "method": method,
            "url": str(resp.request.url),
            "request_headers": dict(send_headers),
            "request_body": body,
            "status": resp.status_code,
            "headers": header_dict(resp.headers.raw),
            "raw_headers": [
                [n.decode("latin-1"), v.decode("latin-1")] for n, v in resp.headers.raw
            ],
            "body": parse_body(resp.content),
        }


CLIENT: Client | None = None


def ocpi_data(exchange: dict, step: str):
    """The `data` of an OCPI answer; OpError unless HTTP 2xx and status_code 1000."""
    body = exchange["body"]
    if not 200 <= exchange["status"] < 300:
        raise OpError("http_status", f"{step}: HTTP {exchange['status']}", {"exchange": exchange})
    if not isinstance(body, dict) or "data" not in body:
        raise OpError("not_ocpi", f"{step}: the body is no OCPI response", {"exchange": exchange})
    if body.get("status_code") != 1000:
        raise OpError(
            "ocpi_status",
            f"{step}: OCPI status_code {body.get('status_code')}",
            {"exchange": exchange},
        )
    return body.get("data")


def validate(model, data) -> list:
    try:
        model.parse_obj(data)
    except ValidationError as exc:
        return validation_errors(exc)
    return []


def pick_version(versions, step: str, exchange: dict) -> str:
    if not isinstance(versions, list):
        raise OpError("not_ocpi", f"{step}: data is not a list", {"exchange": exchange})
    for item in versions:
        if isinstance(item, dict) and item.get("version") == VERSION:
            return item.get("url")
    raise OpError("unsupported_version", f"{step}: no {VERSION} in {versions!r}")


def endpoint_url(module: str, role: str | None = None) -> str:
    candidates = [e for e in STATE.cpo_endpoints if e.get("identifier") == module]
    if role is not None:
        preferred = [e for e in candidates if e.get("role") == role]
        candidates = preferred or candidates
    if not candidates:
        raise OpError(
            "no_endpoint",
            f"the CPO published no {module!r} endpoint"
            + ("" if STATE.cpo_endpoints else " (not registered yet?)"),
        )
    return candidates[0]["url"]


def resolve_url(target: str, role: str | None = None) -> tuple[str, str | None]:
    """(url, module): a full URL, or a module identifier resolved through the CPO's endpoints."""
    if "://" in target:
        module = None
        for e in STATE.cpo_endpoints:
            if target.rstrip("/").startswith(str(e.get("url", "")).rstrip("/")):
                module = e.get("identifier")
        return target, module
    return endpoint_url(target, role), target


def require_token_c() -> str:
    if not STATE.token_c:
        raise OpError("not_registered", "no token C yet: run register first")
    return STATE.token_c


LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*rel\s*=\s*"?next"?', re.IGNORECASE)


def next_link(headers: dict) -> str | None:
    link = headers.get("link")
    if not link:
        return None
    match = LINK_NEXT.search(link)
    return match.group(1) if match else None


async def op_register(cmd: dict) -> dict:
    versions_url = cmd["versions_url"]
    token_a = cmd["token_a"]
    strict = cmd.get("strict", True)
    refetch = cmd.get("refetch", True)
    if cmd.get("token_b"):
        STATE.token_b = cmd["token_b"]
    exchanges: list[dict] = []
    problems: list[dict] = []

    async def call(method, url, token, body=None):
        ex = await CLIENT.request(method, url, token=token, body=body)
        exchanges.append(ex)
        return ex

    def check(step, model, data):
        errors = validate(model, data)
        if errors:
            problems.append({"step": step, "errors": errors})

    try:
        ex = await call("GET", versions_url, token_a)
        versions = ocpi_data(ex, "GET versions with token A")
        for item in versions if isinstance(versions, list) else []:
            check("GET versions with token A", Version, item)
        details_url = pick_version(versions, "GET versions with token A", ex)

        ex = await call("GET", details_url, token_a)
        details = ocpi_data(ex, "GET version details with token A")
        check("GET version details with token A", VersionDetail, details)
        endpoints = details.get("endpoints", []) if isinstance(details, dict) else []
        STATE.cpo_endpoints = endpoints
        STATE.cpo_version_url = details_url
        credentials_url = endpoint_url("credentials")

        if STATE.token_b not in STATE.accepted_tokens:
            STATE.accepted_tokens.append(STATE.token_b)
        ours = STATE.our_credentials()
        if cmd.get("roles"):
            ours["roles"] = cmd["roles"]
        if SCRIPT.take(frozenset({"duplicate_role"}), "POST", urlsplit(credentials_url).path):
            ours["roles"] = ours["roles"] + ours["roles"][:1]
        ex = await call("POST", credentials_url, token_a, ours)
        creds = ocpi_data(ex, "POST credentials with token A")
        check("POST credentials with token A", Credentials, creds)
        if not isinstance(creds, dict) or not creds.get("token"):
            raise OpError("no_token_c", "the CPO's credentials carry no token", {})
        STATE.token_c = creds["token"]
        STATE.cpo_versions_url = creds.get("url")
        STATE.cpo_roles = creds.get("roles") or []

        if refetch and STATE.cpo_versions_url:
            ex = await call("GET", STATE.cpo_versions_url, STATE.token_c)
            versions = ocpi_data(ex, "GET versions with token C")
            details_url = pick_version(versions, "GET versions with token C", ex)
            ex = await call("GET", details_url, STATE.token_c)
            details = ocpi_data(ex, "GET version details with token C")
            check("GET version details with token C", VersionDetail, details)
            STATE.cpo_endpoints = details.get("endpoints", []) if isinstance(details, dict) else []
            STATE.cpo_version_url = details_url
    except OpError as exc:
        exc.details.setdefault("exchanges", exchanges)
        exc.details.setdefault("validation", problems)
        raise
    result = {
        "token_b": STATE.token_b,
        "token_c": STATE.token_c,
        "versions_url": STATE.cpo_versions_url,
        "version_url": STATE.cpo_version_url,
        "endpoints": STATE.cpo_endpoints,
        "roles": STATE.cpo_roles,
        "exchanges": exchanges,
        "validation": problems,
    }
    if strict and problems:
        raise OpError("validation", "py_ocpi rejected the CPO's answers", result)
    return result


async def op_get(cmd: dict) -> dict:
    token = require_token_c()
    url, module = resolve_url(cmd["target"], "SENDER")
    module = cmd.get("module") or module
    params = cmd.get("params")
    follow = cmd.get("follow", False)
    max_pages = int(cmd.get("max_pages", 1000))
    model = MODULE_MODELS.get(module or "")
    pages = []
    told = STATE.x_limits.get(module or "")
    if told is not None and SCRIPT.take(
        frozenset({"limit_above_x_limit"}), "GET", urlsplit(url).path
    ):
        params = dict(params or {}, limit=told * 10)
    while url is not None and len(pages) < max_pages:
        ex = await CLIENT.request("GET", url, token=token, params=params)
        params = None  # the next link carries its own query
        if ex["headers"].get("x-limit", "").isdigit():
            STATE.x_limits[module or ""] = int(ex["headers"]["x-limit"])
        errors = []
        body = ex["body"]
        if model is not None and isinstance(body, dict):
            data = body.get("data")
            items = data if isinstance(data, list) else [data] if data is not None else []
            for index, item in enumerate(items):
                item_errors = validate(model, item)
                if item_errors:
                    errors.append({"index": index, "errors": item_errors})
        ex["validation"] = errors
        pages.append(ex)
        url = next_link(ex["headers"]) if follow and 200 <= ex["status"] < 300 else None
        if url is not None:
            step = SCRIPT.take(frozenset({"ignore_link"}), "GET", urlsplit(url).path)
            if step is not None:  # the next offset computed, not taken from the Link
                parts = urlsplit(url)
                query = dict(parse_qsl(parts.query))
                query["offset"] = str(int(query.get("offset", "0")) + int(step.get("skip", 1)))
                url = urlunsplit(parts._replace(query=urlencode(query)))
    return {"pages": pages, "module": module}


async def op_command(cmd: dict) -> dict:
    token = require_token_c()
    kind = cmd["kind"].upper()
    body = dict(cmd.get("body") or {})
    command_id = cmd.get("command_id") or f"{kind.lower()}-{secrets.token_hex(6)}"
    body.setdefault("response_url", f"{MODULE_BASE}/commands/{command_id}")
    model = COMMAND_MODELS.get(kind)
    if model is not None and cmd.get("validate", True):
        errors = validate(model, body)
        if errors:
            raise OpError("request_invalid", f"py_ocpi rejects our {kind} body", {"errors": errors})
    base = endpoint_url("commands", "RECEIVER") if not cmd.get("url") else cmd["url"]
    ex = await CLIENT.request("POST", f"{base.rstrip('/')}/{kind}", token=token, body=body)
    errors = []
    if isinstance(ex["body"], dict) and ex["body"].get("data") is not None:
        errors = validate(CommandResponse, ex["body"]["data"])
    ex.update(command_id=command_id, response_url=body["response_url"], validation=errors)
    return ex


def store_token(token: dict) -> None:
    key = _key(token["uid"], token.get("type", "RFID"))
    STATE.tokens[key] = dict(token)


async def op_add_token(cmd: dict) -> dict:
    token = cmd["token"]
    errors = validate(Token, token)
    if errors and cmd.get("validate", True):
        raise OpError("request_invalid", "py_ocpi rejects this Token", {"errors": errors})
    store_token(token)
    if cmd.get("allowed"):
        STATE.authorization[str(token["uid"]).lower()] = cmd["allowed"]
    return {"stored": token}


async def op_set_authorization(cmd: dict) -> dict:
    STATE.authorization[str(cmd["uid"]).lower()] = cmd["allowed"]
    return {"uid": cmd["uid"], "allowed": cmd["allowed"]}


async def op_push_token(cmd: dict) -> dict:
    token_c = require_token_c()
    token = cmd["token"]
    if cmd.get("validate", True):
        errors = validate(Token, token)
        if errors:
            raise OpError("request_invalid", "py_ocpi rejects this Token", {"errors": errors})
    if SCRIPT.take(frozenset({"foreign_party_token"}), "PUT", "/tokens"):
        token = dict(token, party_id="ZZZ")
    store_token(token)
    base = cmd.get("url") or endpoint_url("tokens", "RECEIVER")
    cc = token.get("country_code", ARGS.country_code)
    pid = token.get("party_id", ARGS.party_id)
    url = f"{base.rstrip('/')}/{cc}/{pid}/{token['uid']}"
    params = {"type": cmd.get("type") or token.get("type") or "RFID"}
    method = cmd.get("method", "PUT")
    body = cmd.get("patch") if method == "PATCH" else token
    return await CLIENT.request(method, url, token=token_c, body=body, params=params)


async def op_raw(cmd: dict) -> dict:
    url, _module = resolve_url(cmd["url"], cmd.get("role"))
    token = None if cmd.get("no_token") else cmd.get("token", STATE.token_c)
    return await CLIENT.request(
        cmd.get("method", "GET").upper(),
        url,
        token=token,
        encode=cmd.get("encode", True),
        body=cmd.get("body"),
        params=cmd.get("params"),
        headers=cmd.get("headers"),
    )


async def op_misbehave(cmd: dict) -> dict:
    try:
        return SCRIPT.load(list(cmd.get("script") or []))
    except ValueError as exc:
        raise OpError("bad_script", str(exc)) from None


async def op_ping(cmd: dict) -> dict:
    return {"pong": True, "seq": APP.seq}


async def op_state(cmd: dict) -> dict:
    return STATE.dump()


OPS = {
    "ping": op_ping,
    "state": op_state,
    "register": op_register,
    "get": op_get,
    "command": op_command,
    "push_token": op_push_token,
    "add_token": op_add_token,
    "set_authorization": op_set_authorization,
    "raw": op_raw,
    "misbehave": op_misbehave,
}


async def handle(line: str) -> None:
    try:
        cmd = json.loads(line)
    except ValueError:
        emit({"event": "bad_command", "line": line})
        return
    cmd_id = cmd.get("id")
    op = OPS.get(cmd.get("op"))
    try:
        if op is None:
            raise OpError("unknown_op", f"unknown op {cmd.get('op')!r}")
        result = await op(cmd)
        emit({"reply_to": cmd_id, "ok": True, "result": result})
    except OpError as exc:
        emit(
            {
                "reply_to": cmd_id,
                "ok": False,
                "error": {"code": exc.code, "message": exc.message, "details": exc.details},
            }
        )
    except KeyError as exc:
        emit(
            {
                "reply_to": cmd_id,
                "ok": False,
                "error": {"code": "bad_command", "message": f"missing field {exc}"},
            }
        )
    except Exception as exc:  # report, keep serving
        emit(
            {
                "reply_to": cmd_id,
                "ok": False,
                "error": {
                    "code": "internal",
                    "message": f"{type(exc).__name__}: {exc}",
                    "details": {"traceback": traceback.format_exc()},
                },
            }
        )


async def control_loop(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        text = line.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        task = asyncio.create_task(handle(text))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    server.should_exit = True


async def main() -> None:
    global CLIENT
    CLIENT = Client()
    config = uvicorn.Config(
        APP, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    serve = asyncio.create_task(server.serve(sockets=[LISTEN]))
    while not server.started:
        if serve.done():
            await serve  # raises the startup error
            return
        await asyncio.sleep(0.01)
    emit(
        {
            "event": "listening",
            "port": PORT,
            "base_url": BASE_URL,
            "versions_url": VERSIONS_URL,
            "details_url": DETAILS_URL,
            "module_base": MODULE_BASE,
            "token_b": STATE.token_b,
        }
    )
    control = asyncio.create_task(control_loop(server))
    await serve
    control.cancel()
    await CLIENT.http.aclose()


if __name__ == "__main__":
    asyncio.run(main())
