"""The replay's I/O: one station connection to the CSMS (the fleet's socket, `RpcConnection`
and security profiles), the capture's pacing, and the dialogue fed with what happens. All
decisions are `ReplayDialogue`'s; this layer only waits, sends and listens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from voltlab.clock import monotonic, wall_time
from voltlab.fleet.driver.security import (
    SecurityConfigError,
    connect_kwargs,
    describe_connect_error,
)
from voltlab.ocpp.connection import CURRENT_CALL, Reply, RpcConnection
from voltlab.ocpp.errors import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    FrameError,
    OcppError,
)
from voltlab.ocpp.findings import Observation
from voltlab.ocpp.frames import CALL
from voltlab.ocpp.station_socket import StationSocket, open_station_socket
from voltlab.replay.dialogue import (
    AnswerError,
    AnswerResult,
    Divergence,
    Error,
    NoAnswer,
    Outcome,
    ReplayDialogue,
    Result,
)
from voltlab.replay.script import Exchange, Script

log = logging.getLogger(__name__)

OPEN_TIMEOUT = 10.0
# Rules of the connection that the replay reports otherwise, or causes itself: a timeout is a
# `no-answer`; a CSMS CALL while the station (as captured) left one unanswered is the capture's.
NOT_REPORTED = frozenset({"rpc-call-timeout", "rpc-concurrent-call"})


@dataclass(frozen=True, slots=True)
class ReplayTarget:
    csms_url: str
    identity: str
    security: dict[str, Any] | None = None  # as a charger's (fleet.driver.security)


@dataclass(frozen=True, slots=True)
class ReplayPacing:
    speed: float = 1.0  # 60: the capture's gaps sixty times shorter
    answer_timeout: float = 30.0  # real seconds the CSMS has to answer a CALL
    csms_call_timeout: float = 10.0  # real seconds a captured CSMS CALL may come late


@dataclass(slots=True)
class ReplayOutcome:
    status: str  # passed | diverged | error
    message: str | None
    counts: dict[str, int]
    divergences: list[Divergence]
    duration: float  # real seconds, connection included
    bindings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


Progress = Callable[[list[Divergence], dict[str, int]], Awaitable[None]]


class ReplayFailed(Exception):
    """The replay could not run at all (no connection); the message says why."""


async def play(
    script: Script,
    target: ReplayTarget,
    pacing: ReplayPacing,
    on_progress: Progress | None = None,
) -> ReplayOutcome:
    """Play `script` as the station against `target`; `on_progress` hears of each new
    divergence (and the counts) as it happens."""
    return await _Player(script, target, pacing, on_progress).run()


class _Player:
    def __init__(
        self,
        script: Script,
        target: ReplayTarget,
        pacing: ReplayPacing,
        on_progress: Progress | None,
    ) -> None:
        self.script = script
        self.target = target
        self.pacing = pacing
        self.on_progress = on_progress
        self.dialogue = ReplayDialogue(script, wall_time())
        self._arrival = asyncio.Event()
        self._new: list[Divergence] = []
        self._last_sent = ""  # the last CALL the station sent, as text
        self._last_received = ""  # the last frame the CSMS sent, as text
        self._never: list[asyncio.Future[None]] = []

    async def run(self) -> ReplayOutcome:
        began = monotonic()
        try:
            socket = await self._connect()
        except ReplayFailed as exc:
            return ReplayOutcome("error", str(exc), self.dialogue.counts(), [], monotonic() - began)
        # Times are shifted from the moment the first frame can go.
        self.dialogue = ReplayDialogue(self.script, wall_time())
        rpc = RpcConnection(
            socket,
            self.script.ocpp_version,
            handler=self._answer,
            on_frame=self._frame,
            call_timeout=self.pacing.answer_timeout,
            validate=False,  # the capture is sent as it was, valid or not
            message_ids=lambda: str(uuid.uuid4()),
            observer=self,
        )
        reader = asyncio.create_task(rpc.run(), name=f"replay:{self.target.identity}")
        try:
            await self._play_all(rpc, reader)
        finally:
            for never in self._never:
                never.cancel()
            await rpc.close(1000, "replay finished")
            with contextlib.suppress(Exception):
                await reader
        await self._report()
        dialogue = self.dialogue
        return ReplayOutcome(
            "diverged" if dialogue.divergences else "passed",
            None,
            dialogue.counts(),
            dialogue.divergences,
            monotonic() - began,
            dialogue.bindings.as_json(),
        )

    async def _connect(self) -> StationSocket:
        target, version = self.target, self.script.ocpp_version
        url = target.csms_url.rstrip("/") + "/" + target.identity
        try:
            options = connect_kwargs(target.security, target.identity, url)
            socket = await open_station_socket(
                url,
                version,
                headers=options.get("additional_headers"),
                ssl_context=options.get("ssl"),
                open_timeout=OPEN_TIMEOUT,
            )
        except SecurityConfigError as exc:
            raise ReplayFailed(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - any failure to connect ends the run, with why
            raise ReplayFailed(f"{url}: {describe_connect_error(exc, url)}") from None
        if socket.subprotocol != version:
            await socket.close(1002, "subprotocol")
            raise ReplayFailed(
                f"the CSMS did not accept subprotocol {version} (it chose "
                f"{socket.subprotocol or 'none'})"
            )
        return socket

    async def _play_all(self, rpc: RpcConnection, reader: asyncio.Task[None]) -> None:
        start = monotonic()
        for exchange in self.script.exchanges:
            due = start + exchange.offset / self.pacing.speed
            if await self._closed_before(due, reader):
                self._lost(exchange, "the CSMS closed it")
                break
            if exchange.by_station:
                if not await self._play(rpc, exchange):
                    break
            elif not await self._expect(exchange, due, reader):
                self._lost(exchange, "the CSMS closed it")
                break
            await self._report()

    async def _closed_before(self, due: float, reader: asyncio.Task[None]) -> bool:
        delay = due - monotonic()
        if delay > 0:
            await asyncio.wait({reader}, timeout=delay)
        return reader.done()

    async def _play(self, rpc: RpcConnection, exchange: Exchange) -> bool:
        """Send a captured CALL and judge the answer; False when the connection ended."""
        action, payload = self.dialogue.station_call(exchange)
        outcome: Outcome
        try:
            result = await rpc.call(action, payload)
            outcome = Result(result, self._answer_text(rpc))
        except CallErrorReceived as exc:
            outcome = Error(exc.code, exc.description, self._answer_text(rpc))
        except CallTimeout:
            outcome = NoAnswer(f"none within {self.pacing.answer_timeout:g} s")
        except FrameError as exc:
            outcome = NoAnswer(f"a malformed answer: {exc.description}", self._last_received)
        except ConnectionLost as exc:
            self._lost(exchange, str(exc))
            return False
        self._keep(self.dialogue.answered(exchange, self._last_sent, outcome, wall_time()))
        return True

    async def _expect(self, exchange: Exchange, due: float, reader: asyncio.Task[None]) -> bool:
        """Wait for a captured CSMS CALL (answered by `_answer` when it comes); False when the
        connection ended first."""
        wait = self.pacing.csms_call_timeout
        deadline = max(monotonic(), due) + wait
        while not self.dialogue.arrived(exchange):
            left = deadline - monotonic()
            if left <= 0:
                self._keep(self.dialogue.missing(exchange, wait, wall_time()))
                return True
            self._arrival.clear()
            arrival = asyncio.ensure_future(self._arrival.wait())
            await asyncio.wait({arrival, reader}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            arrival.cancel()
            if reader.done() and not self.dialogue.arrived(exchange):
                return False
        return True

    # -- the CSMS's side -------------------------------------------------------------------

    async def _answer(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | Reply:
        current = CURRENT_CALL.get()
        text = current[2] if current is not None else self._last_received
        answer, found = self.dialogue.csms_called(action, payload, text, wall_time())
        self._keep(found)
        self._arrival.set()
        if isinstance(answer, AnswerResult):
            return answer.payload
        if isinstance(answer, AnswerError):
            raise OcppError(answer.code, answer.description, answer.details)
        # The captured station never answered this CALL: neither does the replay.
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._never.append(never)
        await never
        raise OcppError("InternalError", "unreachable")

    def _frame(self, direction: str, text: str) -> None:
        if direction == "in":
            self._last_received = text
        elif text.startswith(f"[{CALL},"):
            self._last_sent = text

    def _answer_text(self, rpc: RpcConnection) -> str:
        """The answer to the CALL just made, as it came (the connection keeps it until the
        next CALL goes out; a CSMS CALL arriving meanwhile does not replace it)."""
        exchange = rpc.last_exchange
        return self._last_received if exchange is None else exchange[3]

    # RpcObserver: the CSMS's violations of OCPP-J, seen by the connection.
    def violation(self, observation: Observation) -> None:
        if observation.rule in NOT_REPORTED:
            return
        texts = [evidence.frame for evidence in observation.evidence if evidence.direction == "in"]
        self._keep(
            self.dialogue.violation(observation.rule, observation.detail, texts, wall_time())
        )

    def answered(self, action: str, seconds: float) -> None:
        return None

    # -- plumbing --------------------------------------------------------------------------

    def _lost(self, exchange: Exchange, reason: str) -> None:
        self._keep(self.dialogue.connection_closed(exchange, reason, wall_time()))

    def _keep(self, found: list[Divergence]) -> None:
        self._new.extend(found)

    async def _report(self) -> None:
        if not self._new or self.on_progress is None:
            return
        new, self._new = self._new, []
        try:
            await self.on_progress(new, self.dialogue.counts())
        except Exception:  # a broken listener must not end the replay
            log.exception("replay progress listener failed")
