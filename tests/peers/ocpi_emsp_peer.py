"""An independent OCPI 2.2.1 eMSP for tests: extrawest-ocpi (``py_ocpi``) in its own venv.

extrawest-ocpi pins pydantic 1 and FastAPI 0.101, so it cannot be imported
next to voltlab. ``ensure_venv()`` builds ``tests/peers/ocpi_emsp/.venv`` once
from ``tests/peers/ocpi_emsp/requirements.txt``, and :class:`OcpiEmspPeer`
runs ``tests/peers/ocpi_emsp/emsp.py`` with that interpreter as a subprocess,
talking JSON lines over its stdin/stdout (protocol: header of ``emsp.py``)::

    async with OcpiEmspPeer() as emsp:
        reg = await emsp.register(cpo["ocpi_peer_url"], cpo["token_a"])
        pages = await emsp.get("locations", follow=True)
        resp = await emsp.command("START_SESSION", {...})   # response_url filled in
        ev = await emsp.wait_for(lambda e: e["path"] == urlsplit(resp["response_url"]).path)

The eMSP's server side is py_ocpi's own routers and models: every push the
CPO makes (PUT/PATCH sessions and locations, POST cdrs, POST CommandResult to
a response_url, GET tokens, POST tokens/{uid}/authorize) is parsed and
validated by py_ocpi, and :meth:`OcpiEmspPeer.received` lists each request with
the HTTP status and OCPI status py_ocpi answered (422 with the pydantic errors
in ``validation_errors`` when it rejects a body).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import peer_venv
from .jsonl_child import JsonLinesChild

PEER_DIR = Path(__file__).resolve().parent / "ocpi_emsp"
VENV_DIR = PEER_DIR / ".venv"
REQUIREMENTS = PEER_DIR / "requirements.txt"
SCRIPT = PEER_DIR / "emsp.py"
_STREAM_LIMIT = 64 * 1024 * 1024
OCPI_VERSION = "2.2.1"


class PeerError(RuntimeError):
    """The peer could not be started, died, or a command failed.

    ``code`` and ``details`` come from the peer's error reply (for example
    ``code == "http_status"`` with the failing exchange in ``details``).
    """

    def __init__(self, message: str, code: str = "peer", details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.details = details or {}


def venv_python() -> Path:
    return peer_venv.venv_python(PEER_DIR)


def ensure_venv() -> Path:
    """Create the peer's venv and install its requirements, once; return its python."""
    try:
        return peer_venv.ensure_peer_venv(PEER_DIR, "import py_ocpi, uvicorn, httpx")
    except peer_venv.PeerVenvError as exc:
        raise PeerError(str(exc)) from exc


class OcpiEmspPeer(JsonLinesChild):
    """Async context manager around ``.venv/bin/python emsp.py``.

    Attributes once started: ``port``, ``base_url`` (``http://127.0.0.1:PORT``),
    ``versions_url`` (what the CPO calls with token B), ``details_url``,
    ``module_base`` (``{base}/ocpi/emsp/2.2.1``; module URLs are
    ``{module_base}/{module}``), ``token_b`` (the token we hand the CPO),
    ``token_c`` (the CPO's token, after :meth:`register`), ``events`` (every
    event line, oldest first).
    """

    peer_name = "OCPI eMSP peer"
    peer_error = PeerError
    script: Path = SCRIPT  # the peer program; a subclass may run another (emsp_211.py)

    def __init__(
        self,
        *,
        country_code: str = "NL",
        party_id: str = "EXP",
        name: str = "Voltlab test eMSP",
        token_b: str | None = None,
        http_timeout: float = 15.0,
        start_timeout: float = 60.0,
    ):
        self.country_code = country_code
        self.party_id = party_id
        self.name = name
        self.http_timeout = http_timeout
        self.start_timeout = start_timeout
        self._token_b_arg = token_b
        self.port: int | None = None
        self.base_url = ""
        self.versions_url = ""
        self.details_url = ""
        self.module_base = ""
        self.token_b: str | None = token_b
        self.token_c: str | None = None
        self.registration: dict | None = None
        self.events: list[dict] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._stderr_task: asyncio.Task | None = None
        self._stderr: list[str] = []
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 1
        self._changed: asyncio.Condition | None = None
        self._dead: str | None = None

    # ------------------------------------------------------------ lifecycle --

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def __aenter__(self) -> OcpiEmspPeer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        python = await asyncio.to_thread(ensure_venv)
        args = [
            str(python),
            str(self.script),
            "--port",
            "0",
            "--country-code",
            self.country_code,
            "--party-id",
            self.party_id,
            "--name",
            self.name,
            "--http-timeout",
            str(self.http_timeout),
        ]
        if self._token_b_arg:
            args += ["--token-b", self._token_b_arg]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        self._proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=PEER_DIR,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_STREAM_LIMIT,
        )
        self._reader = asyncio.create_task(self._read_stdout())
        self._stderr_task = asyncio.create_task(self._read_stderr())
        try:
            ev = await self.wait_for(
                lambda e: e.get("event") == "listening", timeout=self.start_timeout
            )
        except BaseException:
            await self.stop()
            raise
        self.port = int(ev["port"])
        self.base_url = ev["base_url"]
        self.versions_url = ev["versions_url"]
        self.details_url = ev["details_url"]
        self.module_base = ev["module_base"]
        self.token_b = ev["token_b"]

    async def stop(self, timeout: float = 5.0) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            if proc.stdin is not None:  # EOF on stdin asks emsp.py to shut down
                with contextlib.suppress(Exception):
                    proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()  # this PID only
                try:
                    await asyncio.wait_for(proc.wait(), timeout)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        for task in (self._reader, self._stderr_task):
            if task is not None:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, 2.0)
        self._fail_pending(f"peer stopped (exit code {proc.returncode})")

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    # ---------------------------------------------------------- I/O tasks --

    async def _request(self, op: str, reply_timeout: float | None = None, **fields: Any) -> dict:
        if self._proc is None or self._proc.stdin is None:
            raise PeerError("peer is not started")
        if self._dead:
            raise PeerError(self._dead)
        cmd_id = self._next_id
        self._next_id += 1
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[cmd_id] = fut
        payload = {"id": cmd_id, "op": op, **{k: v for k, v in fields.items() if v is not None}}
        self._proc.stdin.write((json.dumps(payload) + "\n").encode())
        await self._proc.stdin.drain()
        wait = reply_timeout if reply_timeout is not None else self.http_timeout * 4 + 10
        try:
            return await asyncio.wait_for(fut, wait)
        except TimeoutError:
            raise PeerError(f"no reply from the peer to {op!r} in {wait}s") from None
        finally:
            self._pending.pop(cmd_id, None)

    async def op(self, op: str, **fields: Any) -> Any:
        """Send any control command; return its result or raise PeerError."""
        reply = await self._request(op, **fields)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise PeerError(
                f"{op} failed: {err.get('code')}: {err.get('message')}",
                code=err.get("code", "error"),
                details=err.get("details"),
            )
        return reply.get("result")

    # ------------------------------------------------------------- queries --

    def received(self, path_prefix: str | None = None, method: str | None = None) -> list[dict]:
        """Requests the eMSP server received, oldest first.

        Each is ``{"method", "path", "query", "headers", "body", "status",
        "response", "ocpi_status", "validation_errors", "auth", ...}`` where
        ``status`` is the HTTP status py_ocpi answered, ``response`` its body,
        ``validation_errors`` pydantic's errors when it answered 422, and
        ``auth`` says which token was used (``auth["matches"] == "token_b"``
        when it was base64(token B)). ``path_prefix`` may be a path or a full
        URL of this peer. Events reach this list asynchronously: call
        ``await peer.sync()`` first, or use :meth:`wait_for`.
        """
        if path_prefix is not None and path_prefix.startswith(self.base_url):
            path_prefix = path_prefix[len(self.base_url) :] or "/"
        return [
            ev
            for ev in self.events
            if ev.get("event") == "received"
            and (path_prefix is None or ev.get("path", "").startswith(path_prefix))
            and (method is None or ev.get("method") == method.upper())
        ]

    def auth_problems(self, path_prefix: str | None = None) -> list[dict]:
        """Received requests whose Authorization was not ``Token base64(token B)``.

        py_ocpi itself ignores the scheme word (``Bearer x`` is read like
        ``Token x``), so check this list to hold a CPO to ``Token``.
        """
        return [
            ev
            for ev in self.received(path_prefix)
            if not ev.get("auth")
            or ev["auth"].get("scheme") != "Token"
            or ev["auth"].get("matches") != "token_b"
        ]

    async def wait_for(
        self, predicate: Callable[[dict], bool], timeout: float = 10.0, *, since: int = 0
    ) -> dict:
        """First event (index >= ``since``) for which ``predicate`` is true; waits for it.

        Events are the lines the peer printed (``event`` is ``"listening"`` or
        ``"received"``). Already recorded events count; pass
        ``since=len(peer.events)`` to skip them.
        """
        assert self._changed is not None
        changed = self._changed
        index = since

        async def scan() -> dict:
            nonlocal index
            while True:
                while index < len(self.events):
                    ev = self.events[index]
                    index += 1
                    if predicate(ev):
                        return ev
                if self._dead:
                    raise PeerError(self._dead)
                async with changed:
                    if index >= len(self.events) and not self._dead:
                        await changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no matching eMSP peer event within {timeout}s") from None

    async def wait_for_received(
        self,
        path_prefix: str,
        method: str | None = None,
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> dict:
        """The first request under ``path_prefix`` (and ``method``) the server received."""
        if path_prefix.startswith(self.base_url):
            path_prefix = path_prefix[len(self.base_url) :] or "/"
        return await self.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("path", "").startswith(path_prefix)
                and (method is None or e.get("method") == method.upper())
            ),
            timeout,
            since=since,
        )

    async def sync(self) -> None:
        """After this, ``events`` holds every event the peer printed so far."""
        await self.op("ping")

    async def state(self) -> dict:
        """What the eMSP stored: sessions, locations, tariffs, cdrs (keyed
        ``cc/pid/id`` or ``id``, lower case as py_ocpi's CiString makes them),
        tokens, command_results (by command id), token_b, token_c, cpo_endpoints."""
        return await self.op("state")

    def module_url(self, module: str) -> str:
        """This eMSP's URL for ``module`` (as published in its version details)."""
        return f"{self.module_base}/{module}"

    def response_url_for(self, command_id: str) -> str:
        """The response_url the CPO POSTs a CommandResult to for ``command_id``."""
        return f"{self.module_base}/commands/{command_id}"

    # ------------------------------------------------------------ commands --

    async def register(
        self,
        versions_url: str,
        token_a: str,
        *,
        strict: bool = True,
        refetch: bool = True,
        roles: list[dict] | None = None,
    ) -> dict:
        """OCPI 2.2.1 credentials handshake as the eMSP.

        GET versions and version details with token A, POST our credentials
        (token B, our versions URL, roles [EMSP]) to the CPO's credentials
        endpoint, keep token C, then (``refetch``) GET the versions and details
        again with token C. Returns ``{"token_b", "token_c", "versions_url",
        "version_url", "endpoints", "roles", "exchanges", "validation"}``;
        ``exchanges`` has every request and response. Raises PeerError on a
        non-2xx answer, an OCPI status other than 1000, or (``strict``) when
        py_ocpi's models reject an answer (``details["validation"]``).
        """
        result = await self.op(
            "register",
            versions_url=versions_url,
            token_a=token_a,
            strict=strict,
            refetch=refetch,
            roles=roles,
        )
        self.token_c = result["token_c"]
        self.registration = result
        return result

    async def get(
        self,
        url_or_module: str,
        params: dict | None = None,
        follow: bool = False,
        *,
        max_pages: int = 1000,
    ) -> list[dict]:
        """GET a CPO URL, or a module (``"locations"``: its SENDER endpoint), with token C.

        Returns the pages: ``{"url", "status", "headers" (lower-case names),
        "raw_headers" ([name, value] pairs as sent), "body", "validation"}``
        where ``validation`` lists py_ocpi's errors per item of ``data`` for
        the modules it has models for. ``follow`` follows ``Link: <...>;
        rel="next"`` until there is none.
        """
        result = await self.op(
            "get", target=url_or_module, params=params, follow=follow, max_pages=max_pages
        )
        return result["pages"]

    async def command(
        self, kind: str, body: dict, *, command_id: str | None = None, validate: bool = True
    ) -> dict:
        """POST ``{commands}/{kind}`` with token C.

        ``body`` lacking ``response_url`` gets ``response_url_for(command_id)``
        (an id is made up when none is given). With ``validate`` the body is
        first checked with py_ocpi's model for ``kind``. Returns the exchange
        ``{"status", "headers", "body", "command_id", "response_url",
        "validation"}`` (``validation``: py_ocpi's errors for the
        CommandResponse).
        """
        return await self.op(
            "command", kind=kind, body=body, command_id=command_id, validate=validate
        )

    async def wait_for_command_result(
        self, command_id: str, timeout: float = 10.0, *, since: int = 0
    ) -> dict:
        """The request that POSTed a CommandResult to ``response_url_for(command_id)``."""
        path = self.response_url_for(command_id)[len(self.base_url) :]
        return await self.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("method") == "POST"
                and e.get("path", "").rstrip("/") == path
            ),
            timeout,
            since=since,
        )

    async def push_token(
        self,
        token: dict,
        *,
        token_type: str | None = None,
        validate: bool = True,
        url: str | None = None,
    ) -> dict:
        """PUT ``token`` to ``{tokens}/{country_code}/{party_id}/{uid}?type=`` with token C.

        The token is also kept locally (so GET tokens and real-time authorize
        know it). Returns ``{"status", "headers", "body", ...}``.
        """
        return await self.op("push_token", token=token, type=token_type, validate=validate, url=url)

    async def add_token(self, token: dict, *, allowed: str | None = None) -> None:
        """Keep ``token`` locally only: the CPO can GET it and authorize it."""
        await self.op("add_token", token=token, allowed=allowed)

    async def set_authorization(self, uid: str, allowed: str) -> None:
        """What real-time authorization answers for ``uid`` (ALLOWED by default)."""
        await self.op("set_authorization", uid=uid, allowed=allowed)

    async def misbehave(self, script: list[dict]) -> dict:
        """Load a script of violations (``ocpi_emsp/misbehave.py`` lists them); each step is
        used by the first exchange it matches and reported as a ``violated`` event."""
        return await self.op("misbehave", script=script)

    def violations(self, kind: str | None = None) -> list[dict]:
        """The ``violated`` events so far (call ``sync`` first), oldest first."""
        return [
            ev
            for ev in self.events
            if ev.get("event") == "violated" and (kind is None or ev.get("violation") == kind)
        ]

    async def raw(
        self,
        method: str,
        url: str,
        token: str | None,
        body: Any = None,
        *,
        encode: bool = True,
        headers: dict | None = None,
        params: dict | None = None,
    ) -> tuple[int, Any]:
        """Any request; ``Authorization: Token base64(token)`` (raw with
        ``encode=False``; no header with ``token=None``). ``url`` may be a
        module identifier. Returns ``(status, parsed body)``."""
        ex = await self.raw_exchange(
            method, url, token, body, encode=encode, headers=headers, params=params
        )
        return ex["status"], ex["body"]

    async def raw_exchange(
        self,
        method: str,
        url: str,
        token: str | None,
        body: Any = None,
        *,
        encode: bool = True,
        headers: dict | None = None,
        params: dict | None = None,
    ) -> dict:
        """Like :meth:`raw`, returning the whole exchange (headers too)."""
        fields: dict[str, Any] = {
            "method": method,
            "url": url,
            "encode": encode,
            "body": body,
            "headers": headers,
            "params": params,
        }
        # None fields are not sent, and the peer reads a missing token as "token C"
        no_token = True if token is None else None
        reply = await self._request("raw", token=token, no_token=no_token, **fields)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise PeerError(
                f"raw failed: {err.get('code')}: {err.get('message')}",
                code=err.get("code", "error"),
                details=err.get("details"),
            )
        return reply["result"]


__all__ = ["OcpiEmspPeer", "PeerError", "ensure_venv", "venv_python", "PEER_DIR"]
