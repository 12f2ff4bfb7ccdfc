"""An OCPI 2.1.1 eMSP test peer built on extrawest-ocpi (``py_ocpi``), its 2.1.1 modules.

Run it with the peer's own virtualenv (pydantic 1, FastAPI 0.101), never with the project's
interpreter; ``tests/peers/ocpi_emsp211_peer.py`` does that. Same command line and JSON-lines
protocol as ``emsp.py`` (its header), for OCPI 2.1.1:

- the server side is py_ocpi's ``get_application`` for version 2.1.1, role EMSP, modules
  credentials, locations, sessions, cdrs, tariffs, tokens, commands: py_ocpi's 2.1.1 routers
  and pydantic models parse and validate every push (PUT/PATCH sessions, POST cdrs, PATCH
  locations/EVSEs/connectors, the CommandResponse POSTed to a response_url);
- the client side runs the 2.1.1 credentials handshake (GET versions, GET version details,
  POST credentials with Token A, flat 2.1.1 Credentials), pulls modules (validating every item
  with py_ocpi's 2.1.1 model) and sends 2.1.1 commands. Tokens go unencoded, as 2.1.1 sends
  them (transport_and_format.md, "Authorization header").

Pulled locations are kept, so the CPO's later EVSE/connector PATCHes find them, as in a real
eMSP that pulls and then follows pushes. ops: ping, state, register, get, command, raw.
Each received event also has ``unknown_fields``: what the body carries that its 2.1.1 object
does not define. Siblings: emsp211_models.py (py_ocpi's 2.1.1 models, corrected where they
disagree with the spec text) and emsp211_wire.py (output, request recorder).
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
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

VERSION = "2.1.1"

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--token-b", default=None, help="the token we hand to the CPO")
parser.add_argument("--country-code", default="NL")
parser.add_argument("--party-id", default="EXP")
parser.add_argument("--name", default="Voltlab test eMSP")
parser.add_argument("--http-timeout", type=float, default=15.0)
ARGS = parser.parse_args()

# py_ocpi reads its settings from the environment when it is imported: bind first, so the
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
        "TRAILING_SLASH": "false",
        "ENVIRONMENT": "production",
        "NO_AUTH": "false",
        "COUNTRY_CODE": ARGS.country_code,
        "PARTY_ID": ARGS.party_id,
        "PROJECT_NAME": "voltlab-ocpi-emsp-peer-211",
        "BACKEND_CORS_ORIGINS": "[]",
    }
)

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from emsp211_models import (  # noqa: E402
    COMMAND_MODELS,
    MODULE_MODELS,
    V211,
    Cdr,
    CommandResponse,
    Location,
    Session,
    Tariff,
    Token,
    push_model,
    unknown,
    validate,
)
from emsp211_wire import Recorder, emit, header_dict, parse_body, plain  # noqa: E402
from py_ocpi import get_application  # noqa: E402
from py_ocpi.core.authentication.authenticator import Authenticator  # noqa: E402
from py_ocpi.core.enums import ModuleID, RoleEnum  # noqa: E402
from py_ocpi.modules.credentials.v_2_1_1.schemas import Credentials  # noqa: E402
from py_ocpi.modules.tokens.v_2_1_1.schemas import AuthorizationInfo  # noqa: E402
from py_ocpi.modules.versions.schemas import Version  # noqa: E402
from py_ocpi.modules.versions.v_2_1_1.schemas import VersionDetail  # noqa: E402

OCPI_BASE = f"{BASE_URL}/ocpi"
VERSIONS_URL = f"{OCPI_BASE}/versions"
DETAILS_URL = f"{OCPI_BASE}/{VERSION}/details"
MODULE_BASE = f"{OCPI_BASE}/emsp/{VERSION}"


class OpError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


def _key(*parts) -> str:
    return "/".join(str(p).lower() for p in parts)


# --------------------------------------------------------------------------- state


class State:
    def __init__(self) -> None:
        self.token_b: str = ARGS.token_b or ("b-" + secrets.token_hex(16))
        self.accepted_tokens: list[str] = []  # tokens the CPO may call us with (token B)
        self.token_c: str | None = None  # the CPO's token, for our calls to it
        self.cpo_versions_url: str | None = None
        self.cpo_version_url: str | None = None
        self.cpo_endpoints: list[dict] = []
        self.cpo_party: dict = {}  # country_code, party_id, business_details (2.1.1: flat)
        self.objects: dict[str, dict[str, dict]] = {
            "locations": {},
            "sessions": {},
            "tariffs": {},
            "cdrs": {},
        }
        self.tokens: dict[str, dict] = {}
        self.command_results: dict[str, list[dict]] = {}

    def our_credentials(self) -> dict:
        return {
            "token": self.token_b,
            "url": VERSIONS_URL,
            "business_details": {"name": ARGS.name},
            "party_id": ARGS.party_id,
            "country_code": ARGS.country_code,
        }

    def dump(self) -> dict:
        return {
            "token_b": self.token_b,
            "token_c": self.token_c,
            "cpo_versions_url": self.cpo_versions_url,
            "cpo_version_url": self.cpo_version_url,
            "cpo_endpoints": self.cpo_endpoints,
            "cpo_party": self.cpo_party,
            **self.objects,
            "tokens": self.tokens,
            "command_results": self.command_results,
        }


STATE = State()


# --------------------------------------------------------------------------- py_ocpi hooks


class PeerAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return list(STATE.accepted_tokens)

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return []  # we register with the CPO, never the other way round


class PeerCrud:
    """In-memory storage behind py_ocpi's 2.1.1 eMSP routers."""

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
            return next(
                (t for t in STATE.tokens.values() if str(t["uid"]).lower() == str(id).lower()),
                None,
            )
        if module == ModuleID.commands:
            results = STATE.command_results.get(str(id))
            return results[-1] if results else None
        return None

    @staticmethod
    async def list(module, role, filters, *args, **kwargs):
        if module != ModuleID.tokens:
            return [], 0, True
        items = sorted(STATE.tokens.values(), key=lambda t: (t["last_updated"], t["uid"]))
        offset, limit = int(filters.get("offset") or 0), int(filters.get("limit") or 50)
        return items[offset : offset + limit], len(items), offset + limit >= len(items)

    @staticmethod
    async def create(module, role, data, *args, **kwargs):
        data = plain(data)
        if module in (ModuleID.locations, ModuleID.sessions, ModuleID.tariffs):
            key = _key(kwargs.get("country_code"), kwargs.get("party_id"), data["id"])
            STATE.objects[module.value][key] = data
        elif module == ModuleID.cdrs:
            STATE.objects["cdrs"][_key(data["id"])] = data
        elif module == ModuleID.credentials_and_registration:
            return STATE.our_credentials()  # only reachable with a token A; we issue none
        return data

    @staticmethod
    async def update(module, role, data, id, *args, **kwargs):
        data = plain(data)
        if module in (ModuleID.locations, ModuleID.sessions, ModuleID.tariffs):
            STATE.objects[module.value][
                _key(kwargs.get("country_code"), kwargs.get("party_id"), id)
            ] = data
        elif module == ModuleID.commands:
            STATE.command_results.setdefault(str(id), []).append(data)
        elif module == ModuleID.credentials_and_registration:
            creds = data["credentials"]  # PUT /credentials from the CPO: new token C
            STATE.token_c = creds["token"]
            STATE.cpo_versions_url = creds["url"]
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
        return None  # real-time authorization: the 2.1.1 E2E starts sessions by command


class PeerAdapter:
    """py_ocpi's adapters: stored dicts back into its 2.1.1 models (validated again)."""

    @staticmethod
    def location_adapter(data, version=V211):
        return Location(**data)

    @staticmethod
    def session_adapter(data, version=V211):
        return Session(**data)

    @staticmethod
    def cdr_adapter(data, version=V211):
        return Cdr(**data)

    @staticmethod
    def tariff_adapter(data, version=V211):
        return Tariff(**data)

    @staticmethod
    def credentials_adapter(data, version=V211):
        return Credentials(**data)

    @staticmethod
    def token_adapter(data, version=V211):
        return Token(**data)

    @staticmethod
    def authorization_adapter(data, version=V211):
        return AuthorizationInfo(**data)

    @staticmethod
    def command_response_adapter(data, version=V211):
        return CommandResponse(**data)


OCPI_APP = get_application(
    version_numbers=[V211],
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


def _fix_header(name: bytes, value: bytes):
    if name.lower() not in (b"link", b"location"):
        return name, value
    text = value.decode("latin-1")
    # py_ocpi formats str enums into f-strings: Python 3.11 writes their repr names there.
    text = text.replace("VersionNumber.v_2_1_1", VERSION)
    text = re.sub(r"ModuleID\.(\w+)", lambda m: ModuleID[m.group(1)].value, text)
    text = text.replace(f"https://{HOST}/", f"http://{HOST}/")

    def clean(match):
        parts = urlsplit(match.group(1))
        query = [(k, v) for k, v in parse_qsl(parts.query) if v != "None"]
        return "<" + urlunsplit(parts._replace(query=urlencode(query))) + ">"

    return name, re.sub(r"<([^>]*)>", clean, text).encode("latin-1")


def describe_auth(header: str | None) -> dict | None:
    """Which token the caller used; 2.1.1 sends it as is (``matches == "token_b"``)."""
    if header is None:
        return None
    parts = header.split(None, 1)
    raw = parts[1].strip() if len(parts) > 1 else ""
    try:
        decoded = base64.b64decode(raw.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        decoded = None
    if raw == STATE.token_b:
        matches = "token_b"
    elif decoded == STATE.token_b:
        matches = "token_b_base64"
    else:
        matches = None
    return {"scheme": parts[0] if parts else "", "token": raw, "matches": matches}


def annotate(method: str, path: str, headers: dict, body) -> dict:
    model = push_model(method, path, MODULE_BASE[len(BASE_URL) :])
    return {
        "auth": describe_auth(headers.get("authorization")),
        # fields py_ocpi ignored because its 2.1.1 object has no such field
        "unknown_fields": unknown(model, body) if model is not None else [],
    }


APP = Recorder(OCPI_APP, _fix_header, annotate)


# --------------------------------------------------------------------------- client side


class Client:
    def __init__(self) -> None:
        self.http = httpx.AsyncClient(timeout=ARGS.http_timeout, follow_redirects=False)

    async def request(self, method, url, *, token, body=None, params=None) -> dict:
        headers = {"Authorization": f"Token {token}"} if token is not None else {}
        kwargs = {}
        if body is not None:
            kwargs["content"] = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            resp = await self.http.request(method, url, headers=headers, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise OpError("http_error", f"{method} {url}: {type(exc).__name__}: {exc}") from None
        return {
            "method": method,
            "url": str(resp.request.url),
            "request_body": body,
            "status": resp.status_code,
            "headers": header_dict(resp.headers.raw),
            "body": parse_body(resp.content),
        }


CLIENT: Client | None = None
LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*rel\s*=\s*"?next"?', re.IGNORECASE)


def ocpi_data(exchange: dict, step: str):
    """The `data` of an OCPI answer; OpError unless HTTP 2xx and status_code 1000."""
    body = exchange["body"]
    if not 200 <= exchange["status"] < 300:
        raise OpError("http_status", f"{step}: HTTP {exchange['status']}", {"exchange": exchange})
    if not isinstance(body, dict) or body.get("status_code") != 1000 or "data" not in body:
        raise OpError("ocpi_status", f"{step}: not an OCPI 1000 answer", {"exchange": exchange})
    return body["data"]


def endpoint_url(module: str) -> str:
    for endpoint in STATE.cpo_endpoints:
        if endpoint.get("identifier") == module:
            return endpoint["url"]
    raise OpError("no_endpoint", f"the CPO published no {module!r} endpoint")


def require_token_c() -> str:
    if not STATE.token_c:
        raise OpError("not_registered", "no token C yet: run register first")
    return STATE.token_c


async def op_register(cmd: dict) -> dict:
    """GET versions, GET version details, POST credentials: all with Token A; keep Token C,
    then GET versions and details again with Token C."""
    exchanges: list[dict] = []
    problems: list[dict] = []

    async def call(method, url, token, body=None):
        exchanges.append(await CLIENT.request(method, url, token=token, body=body))
        return exchanges[-1]

    def check(step, model, data):
        errors = validate(model, data)
        if errors:
            problems.append({"step": step, "errors": errors})

    async def discover(token: str, label: str) -> None:
        versions = ocpi_data(await call("GET", STATE.cpo_versions_url, token), f"versions {label}")
        for item in versions:
            check(f"GET versions with {label}", Version, item)
        url = next((v["url"] for v in versions if v.get("version") == VERSION), None)
        if url is None:
            raise OpError("unsupported_version", f"no {VERSION} in {versions!r}")
        details = ocpi_data(await call("GET", url, token), f"details {label}")
        check(f"GET version details with {label}", VersionDetail, details)
        STATE.cpo_version_url, STATE.cpo_endpoints = url, details.get("endpoints", [])

    try:
        STATE.cpo_versions_url = cmd["versions_url"]
        await discover(cmd["token_a"], "token A")
        if STATE.token_b not in STATE.accepted_tokens:
            STATE.accepted_tokens.append(STATE.token_b)
        ex = await call(
            "POST", endpoint_url("credentials"), cmd["token_a"], STATE.our_credentials()
        )
        creds = ocpi_data(ex, "POST credentials with token A")
        check("POST credentials with token A", Credentials, creds)
        STATE.token_c, STATE.cpo_versions_url = creds["token"], creds["url"]
        STATE.cpo_party = {
            k: creds.get(k) for k in ("country_code", "party_id", "business_details")
        }
        await discover(STATE.token_c, "token C")
    except OpError as exc:
        exc.details.update(exchanges=exchanges, validation=problems)
        raise
    result = {
        "token_b": STATE.token_b,
        "token_c": STATE.token_c,
        "versions_url": STATE.cpo_versions_url,
        "version_url": STATE.cpo_version_url,
        "endpoints": STATE.cpo_endpoints,
        "party": STATE.cpo_party,
        "exchanges": exchanges,
        "validation": problems,
    }
    if cmd.get("strict", True) and problems:
        raise OpError("validation", "py_ocpi rejected the CPO's answers", result)
    return result


def keep_pulled(module: str, item: dict) -> None:
    """Pulled locations and tariffs are the eMSP's copy the CPO's PATCHes then update."""
    if module in ("locations", "tariffs") and isinstance(item, dict) and "id" in item:
        cc, pid = STATE.cpo_party.get("country_code"), STATE.cpo_party.get("party_id")
        STATE.objects[module][_key(cc, pid, item["id"])] = item


async def op_get(cmd: dict) -> dict:
    token = require_token_c()
    target = cmd["target"]
    module = cmd.get("module") or (None if "://" in target else target)
    url = target if "://" in target else endpoint_url(target)
    params, model = cmd.get("params"), MODULE_MODELS.get(module or "")
    pages: list[dict] = []
    while url is not None and len(pages) < int(cmd.get("max_pages", 100)):
        ex = await CLIENT.request("GET", url, token=token, params=params)
        params = None  # the next link carries its own query
        data = ex["body"].get("data") if isinstance(ex["body"], dict) else None
        items = data if isinstance(data, list) else [] if data is None else [data]
        ex["validation"] = []
        for index, item in enumerate(items):
            errors = validate(model, item) if model is not None else []
            if errors:
                ex["validation"].append({"index": index, "errors": errors})
            elif model is not None:
                keep_pulled(module, item)
        pages.append(ex)
        match = LINK_NEXT.search(ex["headers"].get("link", ""))
        follow = cmd.get("follow") and 200 <= ex["status"] < 300
        url = match.group(1) if follow and match else None
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
    url = f"{endpoint_url('commands').rstrip('/')}/{kind}"
    ex = await CLIENT.request("POST", url, token=token, body=body)
    data = ex["body"].get("data") if isinstance(ex["body"], dict) else None
    ex.update(
        command_id=command_id,
        response_url=body["response_url"],
        validation=validate(CommandResponse, data) if data is not None else [],
    )
    return ex


async def op_raw(cmd: dict) -> dict:
    url = cmd["url"] if "://" in cmd["url"] else endpoint_url(cmd["url"])
    token = None if cmd.get("no_token") else cmd.get("token", STATE.token_c)
    return await CLIENT.request(
        cmd.get("method", "GET").upper(),
        url,
        token=token,
        body=cmd.get("body"),
        params=cmd.get("params"),
    )


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
    "raw": op_raw,
}


async def handle(line: str) -> None:
    try:
        cmd = json.loads(line)
    except ValueError:
        emit({"event": "bad_command", "line": line})
        return
    cmd_id = cmd.get("id")
    try:
        op = OPS.get(cmd.get("op"))
        if op is None:
            raise OpError("unknown_op", f"unknown op {cmd.get('op')!r}")
        emit({"reply_to": cmd_id, "ok": True, "result": await op(cmd)})
    except OpError as exc:
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
        emit({"reply_to": cmd_id, "ok": False, "error": error})
    except Exception as exc:  # report, keep serving
        error = {
            "code": "internal",
            "message": f"{type(exc).__name__}: {exc}",
            "details": {"traceback": traceback.format_exc()},
        }
        emit({"reply_to": cmd_id, "ok": False, "error": error})


async def control_loop(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    while line := await reader.readline():
        text = line.decode("utf-8", errors="replace").strip()
        if text:
            task = asyncio.create_task(handle(text))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    server.should_exit = True  # stdin closed: stop


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
