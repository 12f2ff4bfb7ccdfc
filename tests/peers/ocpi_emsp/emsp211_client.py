"""The 2.1.1 eMSP peer's (emsp_211.py) state and its calls to the CPO: the 2.1.1 credentials
handshake with Token A, paged pulls validated by py_ocpi's 2.1.1 models, commands, raw
requests. Tokens go as is, as 2.1.1 sends them. Call `setup()` first."""

from __future__ import annotations

import json
import re
import secrets

import httpx
from emsp211_models import COMMAND_MODELS, MODULE_MODELS, CommandResponse, validate
from emsp211_wire import header_dict, parse_body
from py_ocpi.modules.credentials.v_2_1_1.schemas import Credentials
from py_ocpi.modules.versions.schemas import Version
from py_ocpi.modules.versions.v_2_1_1.schemas import VersionDetail

VERSION = "2.1.1"


class OpError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


def key(*parts) -> str:
    return "/".join(str(p).lower() for p in parts)


class State:
    def __init__(
        self, token_b: str | None, versions_url: str, name: str, party_id: str, country_code: str
    ) -> None:
        self.token_b: str = token_b or ("b-" + secrets.token_hex(16))
        self.versions_url = versions_url  # ours, handed to the CPO with token B
        self.party = {"name": name, "party_id": party_id, "country_code": country_code}
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
            "url": self.versions_url,
            "business_details": {"name": self.party["name"]},
            "party_id": self.party["party_id"],
            "country_code": self.party["country_code"],
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


class Client:
    def __init__(self, http_timeout: float) -> None:
        self.http = httpx.AsyncClient(timeout=http_timeout, follow_redirects=False)

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


STATE: State
CLIENT: Client
MODULE_BASE = ""  # our module URLs' base, for the response_url of commands


def setup(state: State, module_base: str, http_timeout: float) -> Client:
    """Bind the peer's state; open the HTTP client (inside the running event loop)."""
    global STATE, CLIENT, MODULE_BASE
    STATE, CLIENT, MODULE_BASE = state, Client(http_timeout), module_base
    return CLIENT


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
        STATE.objects[module][key(cc, pid, item["id"])] = item


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
