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
disagree with the spec text), emsp211_client.py (state, calls to the CPO) and emsp211_wire.py
(output, request recorder).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import re
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

import emsp211_client as client_ops  # noqa: E402
import uvicorn  # noqa: E402
from emsp211_client import OpError, State, key  # noqa: E402
from emsp211_models import (  # noqa: E402
    V211,
    Cdr,
    CommandResponse,
    Location,
    Session,
    Tariff,
    Token,
    push_model,
    unknown,
)
from emsp211_wire import Recorder, emit, plain  # noqa: E402
from py_ocpi import get_application  # noqa: E402
from py_ocpi.core.authentication.authenticator import Authenticator  # noqa: E402
from py_ocpi.core.enums import ModuleID, RoleEnum  # noqa: E402
from py_ocpi.modules.credentials.v_2_1_1.schemas import Credentials  # noqa: E402
from py_ocpi.modules.tokens.v_2_1_1.schemas import AuthorizationInfo  # noqa: E402

OCPI_BASE = f"{BASE_URL}/ocpi"
VERSIONS_URL = f"{OCPI_BASE}/versions"
DETAILS_URL = f"{OCPI_BASE}/{VERSION}/details"
MODULE_BASE = f"{OCPI_BASE}/emsp/{VERSION}"


STATE = State(ARGS.token_b, VERSIONS_URL, ARGS.name, ARGS.party_id, ARGS.country_code)


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
            return STATE.objects[module.value].get(key(cc, pid, id))
        if module == ModuleID.cdrs:
            return STATE.objects["cdrs"].get(key(id))
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
            where = key(kwargs.get("country_code"), kwargs.get("party_id"), data["id"])
            STATE.objects[module.value][where] = data
        elif module == ModuleID.cdrs:
            STATE.objects["cdrs"][key(data["id"])] = data
        elif module == ModuleID.credentials_and_registration:
            return STATE.our_credentials()  # only reachable with a token A; we issue none
        return data

    @staticmethod
    async def update(module, role, data, id, *args, **kwargs):
        data = plain(data)
        if module in (ModuleID.locations, ModuleID.sessions, ModuleID.tariffs):
            STATE.objects[module.value][
                key(kwargs.get("country_code"), kwargs.get("party_id"), id)
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


async def op_ping(cmd: dict) -> dict:
    return {"pong": True, "seq": APP.seq}


async def op_state(cmd: dict) -> dict:
    return STATE.dump()


OPS = {
    "ping": op_ping,
    "state": op_state,
    "register": client_ops.op_register,
    "get": client_ops.op_get,
    "command": client_ops.op_command,
    "raw": client_ops.op_raw,
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
    client = client_ops.setup(STATE, MODULE_BASE, ARGS.http_timeout)
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
    await client.http.aclose()


if __name__ == "__main__":
    asyncio.run(main())
