"""An independent OCPP CSMS for tests: `ocpp-rpc` (Node) run as a subprocess.

The Node side lives in ``tests/peers/ocpp_rpc/csms.js``; it speaks JSON lines
over stdin/stdout (see the header of that file). This module starts it and
offers an asyncio API::

    async with OcppRpcPeer(protocols=("ocpp1.6",)) as csms:
        station_url = csms.url + "/CS001"          # ws://127.0.0.1:PORT/ocpp/CS001
        ...
        boot = await csms.wait_for_call("CS001", "BootNotification")
        result = await csms.call("CS001", "Reset", {"type": "Soft"})
        assert not csms.strict_failures

Strict mode (schema validation of every CALL and CALLRESULT in both
directions against the OCA schemas bundled with ocpp-rpc) is on by default.

OCPP security profiles (all off by default)::

    OcppRpcPeer(basic_auth=("CS001", "secret"))                  # profile 1: ws + Basic
    OcppRpcPeer(tls_cert=crt, tls_key=key, basic_auth="CS001:pw")  # profile 2: wss + Basic
    OcppRpcPeer(tls_cert=crt, tls_key=key, tls_ca=ca,
                require_client_cert=True)                        # profile 3: mutual TLS
    OcppRpcPeer(tls_cert=crt, tls_key=key, plain_and_tls=True)   # ws (url) and wss (tls_url):
                                                                 # a security-profile upgrade

Misbehaving mode (for the findings about a CSMS): a script of violations the peer commits
on purpose, each for the next CALL of an action from a station, bypassing strict mode::

    await csms.misbehave("CS001", [
        {"on": "Heartbeat", "answer": "invalid_result", "result": {"currentTime": 5}},
        {"on": "StatusNotification", "answer": "callerror", "code": "NoSuchCode"},
        {"on": "Authorize", "answer": "twice"},     # the right answer, sent twice
        {"on": "MeterValues", "answer": "none"},    # never answered
    ])
    csms.violations("CS001")   # what it committed: kind, method, message_id, frame

Violations that answer nothing (a broken frame, an unknown action, two CALLs at once, an
answer to an id never sent) are raw frames: :meth:`send_raw`.

``tls_*`` are paths of PEM files; with TLS on, :attr:`OcppRpcPeer.url` is
``wss://127.0.0.1:PORT/ocpp``. ``basic_auth`` is ``"ID:PW"``, ``(ID, PW)`` or a
mapping ``{ID: PW}`` (ID ``"*"`` matches any identity); a wrong or missing
password is refused with HTTP 401, unless the station presented a client
certificate that verifies against ``tls_ca``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .jsonl_child import JsonLinesChild

NODE_DIR = Path(__file__).resolve().parent / "ocpp_rpc"
OCPP_RPC_VERSION = "2.2.1"

_STREAM_LIMIT = 32 * 1024 * 1024  # one stdout line carries one frame; frames can be big


class PeerError(RuntimeError):
    """The peer could not be started, died, or a command failed."""


class PeerCallError(PeerError):
    """A CSMS->station call failed: CALLERROR received, timeout, or strict failure.

    ``code`` is the OCPP error code the station sent (e.g. ``"NotSupported"``),
    or ``"Timeout"``, or the strict-validation code when the station's answer
    (or our own request) broke the schema (``details["source"] == "strict"``).
    """

    def __init__(self, code: str, message: str = "", details: dict | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


def _node_modules_ready() -> bool:
    pkg = NODE_DIR / "node_modules" / "ocpp-rpc" / "package.json"
    try:
        return json.loads(pkg.read_text()).get("version") == OCPP_RPC_VERSION
    except (OSError, ValueError):
        return False


def ensure_node_modules() -> None:
    """Run ``npm ci`` in tests/peers/ocpp_rpc once, if node_modules is missing."""
    if shutil.which("node") is None:
        raise PeerError("the ocpp-rpc test peer needs Node.js: `node` is not on PATH")
    if _node_modules_ready():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise PeerError(
            "the ocpp-rpc test peer needs npm to install ocpp-rpc: `npm` is not on PATH"
        )
    lock_path = Path(tempfile.gettempdir()) / "voltlab-ocpp-rpc-peer-npm.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one `npm ci` at a time (xdist workers)
        try:
            if _node_modules_ready():
                return
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0 or not _node_modules_ready():
                raise PeerError(
                    f"`npm ci` in {NODE_DIR} failed (exit {proc.returncode}):\n"
                    f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _basic_auth_pairs(
    basic_auth: str | tuple[str, str] | Mapping[str, str] | None,
) -> list[tuple[str, str]]:
    if basic_auth is None:
        return []
    if isinstance(basic_auth, str):
        identity, sep, password = basic_auth.partition(":")
        pairs = [(identity, password)] if sep else []
    elif isinstance(basic_auth, Mapping):
        pairs = [(str(k), str(v)) for k, v in basic_auth.items()]
    else:
        identity, password = basic_auth
        pairs = [(str(identity), str(password))]
    if not pairs or any(not identity or ":" in identity for identity, _ in pairs):
        raise ValueError("basic_auth takes 'IDENTITY:PASSWORD', (identity, password) or a mapping")
    return pairs


def _frame_action(frame: Any) -> str | None:
    if isinstance(frame, list) and len(frame) >= 3 and frame[0] == 2:
        return frame[2] if isinstance(frame[2], str) else None
    return None


class OcppRpcPeer(JsonLinesChild):
    """Async context manager around ``node csms.js``."""

    peer_name = "ocpp-rpc peer"
    peer_error = PeerError

    def __init__(
        self,
        protocols: Iterable[str] = ("ocpp1.6", "ocpp2.0.1"),
        strict: bool = True,
        *,
        port: int = 0,
        allow_no_protocol: bool = False,
        start_timeout: float = 30.0,
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        require_client_cert: bool = False,
        plain_and_tls: bool = False,
        basic_auth: str | tuple[str, str] | Mapping[str, str] | None = None,
        quiet: bool = False,
    ):
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if tls_ca is not None and tls_cert is None:
            raise ValueError("tls_ca needs tls_cert and tls_key")
        if require_client_cert and tls_ca is None:
            raise ValueError("require_client_cert needs tls_ca")
        self.tls_cert = None if tls_cert is None else str(tls_cert)
        self.tls_key = None if tls_key is None else str(tls_key)
        self.tls_ca = None if tls_ca is None else str(tls_ca)
        self.require_client_cert = require_client_cert
        if plain_and_tls and tls_cert is None:
            raise ValueError("plain_and_tls needs tls_cert and tls_key")
        # Both listeners: plain ws:// (`url`) and wss:// (`tls_url`), one CSMS behind them.
        self.plain_and_tls = plain_and_tls
        self.tls_port: int | None = None
        self.basic_auth = _basic_auth_pairs(basic_auth)
        self.protocols = tuple(protocols)
        self.strict = strict
        self.allow_no_protocol = allow_no_protocol
        # Benchmarks: the peer counts connections, frames and calls instead of printing them.
        self.quiet = quiet
        self.start_timeout = start_timeout
        self._requested_port = port
        self.port: int | None = None
        self.events: list[dict] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._stderr_task: asyncio.Task | None = None
        self._stderr: list[str] = []
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 1
        self._changed = asyncio.Condition()
        self._dead: str | None = None

    # ------------------------------------------------------------ lifecycle --

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def url(self) -> str:
        if self.port is None:
            raise PeerError("peer is not started")
        scheme = "wss" if self.tls and not self.plain_and_tls else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/ocpp"

    @property
    def tls_url(self) -> str:
        """The wss:// listener of a peer started with `plain_and_tls`."""
        if self.tls_port is None:
            raise PeerError("peer has no second (TLS) listener")
        return f"wss://127.0.0.1:{self.tls_port}/ocpp"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def __aenter__(self) -> OcppRpcPeer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await asyncio.to_thread(ensure_node_modules)
        args = [
            shutil.which("node") or "node",
            str(NODE_DIR / "csms.js"),
            "--port",
            str(self._requested_port),
            "--protocols",
            ",".join(self.protocols),
            "--strict" if self.strict else "--no-strict",
        ]
        if self.allow_no_protocol:
            args.append("--allow-no-protocol")
        if self.quiet:
            args.append("--quiet")
        if self.tls_cert is not None and self.tls_key is not None:
            args += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
            if self.tls_ca is not None:
                args += ["--tls-ca", self.tls_ca]
            if self.require_client_cert:
                args.append("--tls-require-client-cert")
            if self.plain_and_tls:
                args += ["--tls-port", "0"]
        for identity, password in self.basic_auth:
            args += ["--basic-auth", f"{identity}:{password}"]
        self._proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=NODE_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_STREAM_LIMIT,
        )
        self._reader = asyncio.create_task(self._read_stdout())
        self._stderr_task = asyncio.create_task(self._read_stderr())
        try:
            ev = await self.wait_for_event(
                lambda e: e.get("event") == "listening", timeout=self.start_timeout
            )
        except BaseException:
            await self.stop()
            raise
        self.port = int(ev["port"])
        if "tls_port" in ev:
            self.tls_port = int(ev["tls_port"])

    async def stop(self, timeout: float = 5.0) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            # closing stdin asks csms.js to shut down cleanly
            if proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()  # SIGTERM to this PID only
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

    # ---------------------------------------------------------- I/O tasks --

    async def _command(self, op: str, reply_timeout: float = 15.0, **fields: Any) -> dict:
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
        try:
            return await asyncio.wait_for(fut, reply_timeout)
        except TimeoutError:
            raise PeerError(f"no reply from the peer to {op!r} in {reply_timeout}s") from None
        finally:
            self._pending.pop(cmd_id, None)

    async def command(self, op: str, **fields: Any) -> Any:
        """Send any control command; return its result or raise PeerError."""
        reply = await self._command(op, **fields)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise PeerError(f"{op} failed: {err.get('code')}: {err.get('message')}")
        return reply.get("result")

    # ------------------------------------------------------------- queries --

    def frames(
        self,
        identity: str | None = None,
        direction: str | None = None,
        action: str | None = None,
    ) -> list[list]:
        """Parsed frames seen on the wire ("in" = station->CSMS), oldest first.

        ``action`` keeps only CALL frames with that action. Frames that were
        not a JSON array are left out (see :meth:`raw_frames`).
        """
        out = []
        for ev in self.frame_events(identity, direction):
            frame = ev.get("frame")
            if not isinstance(frame, list):
                continue
            if action is not None and _frame_action(frame) != action:
                continue
            out.append(frame)
        return out

    def frame_events(self, identity: str | None = None, direction: str | None = None) -> list[dict]:
        return [
            ev
            for ev in self.events
            if ev.get("event") == "frame"
            and (identity is None or ev.get("identity") == identity)
            and (direction is None or ev.get("direction") == direction)
        ]

    def raw_frames(self, identity: str | None = None, direction: str | None = None) -> list[str]:
        """Text of frames that did not parse as a JSON array."""
        return [ev["raw"] for ev in self.frame_events(identity, direction) if "raw" in ev]

    def calls(self, identity: str | None, method: str) -> list[dict]:
        """Params of the CALLs the CSMS received, passed strict validation and handled."""
        return [
            ev["params"]
            for ev in self.events
            if ev.get("event") == "call"
            and ev.get("method") == method
            and (identity is None or ev.get("identity") == identity)
        ]

    def sends(self, identity: str | None, method: str) -> list[dict]:
        """Params of the 2.1 SEND messages (type 6, never answered) the CSMS received."""
        return [
            ev["params"] for ev in self.events_of("send", identity) if ev.get("method") == method
        ]

    def events_of(self, kind: str, identity: str | None = None) -> list[dict]:
        return [
            ev
            for ev in self.events
            if ev.get("event") == kind and (identity is None or ev.get("identity") == identity)
        ]

    @property
    def strict_failures(self) -> list[dict]:
        return self.events_of("strict_failure")

    @property
    def bad_messages(self) -> list[dict]:
        return self.events_of("bad_message")

    # --------------------------------------------------------------- waits --

    async def wait_for_event(
        self,
        predicate: Callable[[dict], bool],
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> dict:
        """First event (at index >= ``since``) matching ``predicate``; waits for it.

        Events already recorded count, so there is no race with an event that
        arrived before the wait; pass ``since=len(peer.events)`` to skip them.
        """
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
                async with self._changed:
                    if index >= len(self.events) and not self._dead:
                        await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no matching peer event within {timeout}s") from None

    async def wait_for_call(
        self,
        identity: str,
        method: str,
        predicate: Callable[[dict], bool] | None = None,
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> dict:
        """Params of the first CALL ``method`` from ``identity`` (matching ``predicate``)."""
        ev = await self.wait_for_event(
            lambda e: (
                e.get("event") == "call"
                and e.get("identity") == identity
                and e.get("method") == method
                and (predicate is None or predicate(e.get("params")))
            ),
            timeout,
            since=since,
        )
        return ev["params"]

    async def wait_connected(self, identity: str, timeout: float = 10.0, *, since: int = 0) -> dict:
        return await self.wait_for_event(
            lambda e: e.get("event") == "connected" and e.get("identity") == identity,
            timeout,
            since=since,
        )

    async def wait_disconnected(
        self, identity: str, timeout: float = 10.0, *, since: int = 0
    ) -> dict:
        return await self.wait_for_event(
            lambda e: e.get("event") == "disconnected" and e.get("identity") == identity,
            timeout,
            since=since,
        )

    # ------------------------------------------------------------ commands --

    async def call(
        self, identity: str, method: str, params: dict | None = None, timeout: float = 10.0
    ) -> dict:
        """CSMS->station CALL; returns the CALLRESULT payload or raises PeerCallError."""
        reply = await self._command(
            "call",
            reply_timeout=timeout + 10.0,
            identity=identity,
            method=method,
            params=params if params is not None else {},
            timeout_ms=int(timeout * 1000),
        )
        if reply.get("ok"):
            return reply.get("result")
        err = reply.get("error") or {}
        raise PeerCallError(err.get("code", "Error"), err.get("message", ""), err.get("details"))

    async def set_boot(
        self, status: str = "Accepted", interval: int = 300, identity: str | None = None
    ) -> None:
        await self.command("set_boot", status=status, interval=interval, identity=identity)

    async def set_auth(
        self,
        id_tag: str,
        status: str = "Accepted",
        parent_id_tag: str | None = None,
        expiry_date: str | None = None,
    ) -> None:
        await self.command(
            "set_auth",
            id_tag=id_tag,
            status=status,
            parent_id_tag=parent_id_tag,
            expiry_date=expiry_date,
        )

    async def set_auth_default(self, status: str = "Accepted") -> None:
        await self.command("set_auth_default", status=status)

    async def set_delay(self, method: str, seconds: float, *, identity: str | None = None) -> None:
        """Answer ``method`` only ``seconds`` after it arrived (0: at once again), as a slow
        CSMS would; bounded to a minute."""
        await self.command(
            "set_delay", method=method, delay_ms=round(seconds * 1000), identity=identity
        )

    async def set_response(
        self,
        method: str,
        result: dict | None = None,
        *,
        error: dict | None = None,
        identity: str | None = None,
        once: bool = False,
    ) -> None:
        """Answer ``method`` with ``result`` (or a CALLERROR ``{"code","message"}``); with
        ``once``, only the next such CALL (then the built-in handler answers again).

        With neither, the built-in handler answers again. Strict mode still
        checks an overridden result: an invalid one becomes InternalError.
        """
        await self.command(
            "set_response",
            method=method,
            result=result,
            error=error,
            identity=identity,
            once=once or None,
        )

    async def set_certificate_status(
        self, certificate_status: str, id_tag: str | None = None
    ) -> None:
        """What Authorize with a contract (its chain or OCSP data) answers as certificateStatus,
        for ``id_tag`` (an eMAID) or for every contract; Accepted until set."""
        await self.command(
            "set_certificate_status", certificate_status=certificate_status, id_tag=id_tag
        )

    async def call_pnc(
        self,
        identity: str,
        method: str,
        params: dict | None = None,
        *,
        raw_data: str | None = None,
        timeout: float = 10.0,
    ) -> dict:
        """A CSMS request of the OCA Plug & Charge note for 1.6 (InstallCertificate,
        CertificateSigned, DeleteCertificate, GetInstalledCertificateIds, TriggerMessage),
        wrapped in DataTransfer; returns ``{"status", "data"}`` with the station's 2.0.1 answer
        parsed (checked against the 2.0.1 schema when Accepted). ``raw_data``: send that text as
        `data` instead (a malformed request)."""
        reply = await self._command(
            "call_pnc",
            reply_timeout=timeout + 10.0,
            identity=identity,
            method=method,
            params=params if params is not None else {},
            raw_data=raw_data,
            timeout_ms=int(timeout * 1000),
        )
        if reply.get("ok"):
            return reply.get("result")
        err = reply.get("error") or {}
        raise PeerCallError(err.get("code", "Error"), err.get("message", ""), err.get("details"))

    async def set_boot_sequence(self, statuses: list[str] | None, interval: int = 300) -> None:
        """Each station's n-th BootNotification is answered ``statuses[n]`` (the last one
        repeats); None turns the sequence off."""
        await self.command("set_boot_sequence", statuses=statuses, interval=interval)

    async def set_reaction(
        self,
        on: str,
        method: str,
        params: dict | None = None,
        *,
        when: dict | None = None,
        identity: str | None = None,
        delay: float = 0.1,
        once: bool = True,
    ) -> None:
        """After answering a CALL ``on`` (params matching ``when``), send the station CALL
        ``method`` with ``params`` ("${transactionId}", "${param.X}", "${time+N}" substituted;
        see csms.js). Each outcome is an event ``reaction``."""
        await self.command(
            "set_reaction",
            on=on,
            method=method,
            params=params or {},
            when=when,
            identity=identity,
            delay_ms=round(delay * 1000),
            once=once,
        )

    async def clear_reactions(self) -> None:
        await self.command("clear_reactions")

    async def set_response_when(
        self,
        method: str,
        when: dict,
        result: dict | None = None,
        *,
        error: dict | None = None,
        identity: str | None = None,
    ) -> None:
        """Like :meth:`set_response`, for the CALLs whose params match ``when`` only (dotted
        paths, e.g. ``{"offline": True}``)."""
        await self.command(
            "set_response_when",
            method=method,
            when=when,
            result=result,
            error=error,
            identity=identity,
        )

    async def close_station(
        self, identity: str, code: int = 1000, reason: str = "", force: bool = False
    ) -> dict:
        return await self.command(
            "close", identity=identity, code=code, reason=reason, force=force or None
        )

    async def send_raw(self, identity: str, text: str) -> None:
        """Send a raw websocket text frame to the station."""
        await self.command("send_raw", identity=identity, text=text)

    async def call_raw(
        self, identity: str, message_id: str, action: str, payload: Any
    ) -> list[Any]:
        """Send the CALL `[2, message_id, action, payload]` as raw text, unchecked (a malformed
        request on purpose), and return the frame the station answered it with."""
        await self.send_raw(identity, json.dumps([2, message_id, action, payload]))
        reply = await self.wait_for_event(
            lambda e: (
                e.get("event") == "frame"
                and e.get("direction") == "in"
                and isinstance(e.get("frame"), list)
                and e["frame"][1] == message_id
            )
        )
        frame: list[Any] = reply["frame"]
        return frame

    async def send_raw_together(self, identity: str, texts: list[str]) -> None:
        """Send raw text frames in one TCP write, so the station reads them at once."""
        await self.command("send_raw", identity=identity, texts=texts)

    async def misbehave(self, identity: str, script: list[dict[str, Any]]) -> None:
        """Queue violations for ``identity``'s next CALLs (see the module docstring)."""
        await self.command("misbehave", identity=identity, script=script)

    def violations(self, identity: str | None = None) -> list[dict]:
        """The violations the misbehaving mode committed so far, oldest first."""
        return self.events_of("violation", identity)

    async def sync(self) -> None:
        """Wait until every event the peer emitted so far is in ``events``.

        Events travel over the peer's stdout, the frames over the websocket: a
        station can see the CSMS's answer before ``events`` shows the frame or
        the ``call`` event. The peer writes the reply to this command after all
        earlier events, so after ``await peer.sync()`` the lists are current.
        """
        await self.command("ping")

    async def stations(self) -> list[dict]:
        return await self.command("list")

    async def counts(self) -> dict:
        """What the peer counted: connects, disconnects, frames_in/out, calls per method and
        stations connected now (the only record of them with ``quiet=True``)."""
        return await self.command("counts")


__all__ = [
    "OcppRpcPeer",
    "PeerCallError",
    "PeerError",
    "ensure_node_modules",
    "NODE_DIR",
]
