"""asyncio OCPP-J RPC endpoint over one WebSocket; the same class serves both sides.

Behaviour worth knowing (beyond the method docstrings):

* At most one outgoing CALL is outstanding: ``call()`` queues on a FIFO lock and the next
  CALL is sent only when the previous one was answered, timed out or failed. The timeout
  counts from the moment the CALL is sent, not from when it was queued.
* Every incoming CALL runs in its own task, so a handler may ``await conn.call(...)``
  and incoming CALLs are answered while an outgoing one is outstanding.
* ``on_frame`` sees each text frame exactly as received, and each outgoing frame just
  before it is handed to the socket (so logs keep request-before-response order).
* Binary WebSocket messages are not OCPP-J (the spec requires text frames). They are
  reported to ``on_frame`` decoded as UTF-8 with replacement characters, logged and
  otherwise ignored: without a readable message id there is nobody to answer.
* CALLRESULT/CALLERROR/SEND/CALLRESULTERROR frames are never answered with a CALLERROR,
  even when malformed; a malformed response whose id matches the outstanding call fails
  that call with the :class:`FrameError`.
* ocpp2.1: a CALLRESULT that fails schema validation is answered with a CALLRESULTERROR
  (message type 5) in addition to ``call()`` raising OcppError. Incoming SEND messages go
  to ``on_send`` (dropped when it is None); they are never answered.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import itertools
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed

from voltlab.clock import monotonic
from voltlab.ocpp.errors import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    FrameError,
    OcppError,
    error_code,
    is_known_code,
    wire_codes,
)
from voltlab.ocpp.findings import FrameEvidence, Observation, RpcObserver
from voltlab.ocpp.frames import (
    CALL,
    CALLERROR,
    Call,
    CallError,
    CallResult,
    CallResultError,
    Frame,
    Send,
    decode,
    encode,
    message_types,
)
from voltlab.ocpp.schemas import schema_set
from voltlab.ocpp.versions import OCPP21, check_version

log = logging.getLogger(__name__)

# OCPP 2.0.1 limits errorDescription to 255 characters; 1.6 sets no limit, so one rule fits all.
MAX_ERROR_DESCRIPTION = 255
UNREADABLE_MESSAGE_ID = "-1"
# A station whose last BUSY_CALLS calls ended less than BUSY_CALL_GAP seconds apart keeps the
# timeout timer between calls.
BUSY_CALL_GAP = 1.0
BUSY_CALLS = 8
# Close codes a peer may end a connection with that say nothing went wrong: normal closure and
# going away (RFC 6455 §7.4.1), service restart and try again later (IANA WebSocket registry).
NORMAL_CLOSE_CODES = frozenset({1000, 1001, 1012, 1013})

# The CSMS's CALL being handled, as received (set only with an observer): the station's rules
# that judge a request (fleet/driver) name it as evidence. Each incoming CALL runs in a task
# of its own, so the value is that task's.
CURRENT_CALL: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "voltlab_current_call", default=None
)


@dataclass(slots=True)
class Reply:
    """A handler response plus work to do once the CALLRESULT is on the wire."""

    payload: dict[str, Any]
    after: Callable[[], Awaitable[None] | None] | None = None


Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any] | Reply]]
SendHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
FrameObserver = Callable[[str, str], None]
# Counts each frame (the station's metrics): direction ("in", "out"), kind ("call", "result",
# "error", "send", "resulterror", "invalid") and the action ("" when no action is known: an
# answer to no pending call, a frame that could not be read).
FrameTally = Callable[[str, str, str], None]
Receiver = Callable[[str | bytes], None]


def _message_ids() -> Callable[[], str]:
    """Unique ids for one connection: a random prefix (so ids from an earlier connection of
    the same station never come back) and a counter. Cheaper than a uuid4 per CALL, which
    reads the OS's random source every time."""
    prefix = f"{random.getrandbits(48):012x}-"
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


class RpcConnection:
    """OCPP-J RPC over ``websocket`` (anything with async send/recv/close, as websockets)."""

    def __init__(
        self,
        websocket: Any,
        version: str,
        *,
        handler: Handler,
        on_frame: FrameObserver | None = None,
        call_timeout: float = 30.0,
        validate: bool = True,
        supported_actions: Collection[str] | None = None,
        message_ids: Callable[[], str] | None = None,
        on_send: SendHandler | None = None,
        observer: RpcObserver | None = None,
        may_send: Callable[[], bool] | None = None,
        tally: FrameTally | None = None,
    ) -> None:
        self.websocket = websocket
        self._tally = tally
        # A fence (issue 14): false once this process may no longer speak for the station (its
        # lease ran out); no frame leaves after that, whatever task tries.
        self._may_send = may_send
        self.version = check_version(version)
        self.call_timeout = call_timeout
        self.validate = validate
        self._handler = handler
        self._on_send = on_send
        self._on_frame = on_frame
        # A socket that writes without waiting (the stations' `StationSocket`) is written to
        # directly, not through an awaited `send`.
        self._send_now: Callable[[str], None] | None = getattr(websocket, "send_now", None)
        # The action list is needed even without validation: unknown -> NotImplemented.
        self._schemas = schema_set(version)
        self._supported: frozenset[str] | None = (
            frozenset(supported_actions) if supported_actions is not None else None
        )
        self._new_message_id = message_ids or _message_ids()
        # The call gate (one outgoing CALL at a time): taken without a future or a task switch
        # when free; otherwise waiters queue FIFO and the releaser hands the turn to the first.
        self._calling = False
        # Made on the first wait: an empty deque is ~600 bytes, times every station of a fleet.
        self._call_waiters: deque[asyncio.Future[None]] | None = None
        self._pending_id: str | None = None
        self._pending_future: asyncio.Future[dict[str, Any]] | None = None
        # The outstanding call's timeout: while calls queue back to back, one timer serves them
        # all (re-armed when it fires for a call whose deadline is later) instead of a timer
        # created and cancelled for every CALL.
        self._pending_action = ""
        self._pending_wait = 0.0
        self._deadline = 0.0  # monotonic() instants
        self._timer_due = 0.0
        self._timer: asyncio.TimerHandle | None = None
        # How many calls in a row ended less than BUSY_CALL_GAP apart, the last one when.
        self._busy_calls = 0
        self._last_call_ended = 0.0  # monotonic()
        self._tasks: set[asyncio.Task[None]] = set()
        self._types = message_types(version)
        self._closed = False
        self._running = False
        # Rules about the peer (ocpp/findings.py); None costs nothing per frame.
        self._observer = observer
        self._wire_codes = wire_codes(self.version)
        self._incoming_open = 0  # the peer's CALLs not answered yet
        # What a stray answer may refer to: the last answered id, the last abandoned one.
        self._answered_id: str | None = None
        self._abandoned_id: str | None = None
        # The last CALL sent and its answer, as text: evidence for rules judging an answer.
        self._call_text = ""
        self._result_text = ""
        self._answered_action = ""

    @property
    def closed(self) -> bool:
        return self._closed

    # -- outgoing --------------------------------------------------------------------------

    async def call(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT payload. `before_send` is awaited once the
        call has its turn (one CALL at a time), right before the frame is written: a write
        that must precede the frame then precedes it by no other call's round trip.

        Raises OcppError (invalid request, nothing sent; or invalid/malformed response),
        CallErrorReceived, CallTimeout or ConnectionLost.
        """
        if self._closed:
            raise ConnectionLost("connection is closed")
        if self.validate:
            self._schemas.validate_request(action, payload)
        wait = self.call_timeout if timeout is None else timeout
        if self._calling:
            await self._wait_turn()
        else:
            self._calling = True
        try:
            if self._closed:
                raise ConnectionLost("connection closed while the call was queued")
            if before_send is not None:
                await before_send()
                if self._closed:
                    raise ConnectionLost("connection closed while the call was queued")
            message_id = self._new_message_id()
            loop = asyncio.get_running_loop()
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending_id = message_id
            self._pending_future = future
            try:
                text = encode(Call(message_id, action, payload))
                self._call_text = text
                await self._send(text)
                if self._tally is not None:
                    self._tally("out", "call", action)
                self._arm_timeout(loop, action, wait)
                result = await future
            finally:
                if not future.done() or future.exception() is not None:
                    self._abandoned_id = message_id  # a late answer to it is no news
                self._pending_id = None
                self._pending_future = None
                if future.done() and not future.cancelled():
                    future.exception()  # mark retrieved: no "never retrieved" warning
                if not self._call_waiters and self._timer is not None:
                    # No call queued behind this one. A station that calls again and again
                    # (its meter values, one after the other) keeps the timer for the next
                    # call instead of one timer per call; any other drops it: a timer (half a
                    # KiB) kept for 30 s after a boot or a heartbeat would cost every station
                    # of a fleet memory.
                    ended = monotonic()
                    if ended - self._last_call_ended < BUSY_CALL_GAP:
                        self._busy_calls += 1
                    else:
                        self._busy_calls = 0
                    self._last_call_ended = ended
                    if self._busy_calls < BUSY_CALLS:
                        self._timer.cancel()
                        self._timer = None
        finally:
            self._next_turn()
        if self.validate:
            try:
                self._schemas.validate_response(action, result)
            except OcppError as exc:
                if self._observer is not None:
                    self._report(
                        "rpc-invalid-result",
                        f"{action}: {exc.description}",
                        self._exchange(message_id, action),
                    )
                if self.version == OCPP21:
                    sent = await self._send_quietly(
                        encode(
                            CallResultError(
                                message_id, exc.code, exc.description[:MAX_ERROR_DESCRIPTION]
                            )
                        )
                    )
                    if sent and self._tally is not None:
                        self._tally("out", "resulterror", action)
                raise
        return result

    async def _wait_turn(self) -> None:
        """Queue for the call gate; return once it is this caller's turn."""
        turn = asyncio.get_running_loop().create_future()
        if self._call_waiters is None:
            self._call_waiters = deque()
        waiters = self._call_waiters
        waiters.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._next_turn()  # the turn was handed over already: pass it on
            elif turn in waiters:  # a releaser may have dropped it already
                waiters.remove(turn)
            raise

    def _next_turn(self) -> None:
        """Release the call gate: hand it to the first waiter still waiting, else free it."""
        waiters = self._call_waiters
        while waiters:  # None or empty: nobody waits
            turn = waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._calling = False

    def _arm_timeout(self, loop: asyncio.AbstractEventLoop, action: str, wait: float) -> None:
        self._pending_action, self._pending_wait = action, wait
        self._deadline = deadline = monotonic() + wait
        if self._timer is None or self._timer_due > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_due = deadline
            self._timer = loop.call_later(wait, self._timeout_due)

    def _timeout_due(self) -> None:
        self._timer = None
        future = self._pending_future
        if future is None or future.done():
            return  # answered meanwhile; the next call arms the timer again
        left = self._deadline - monotonic()
        if left > 0:
            # Armed for an earlier call (or a loop clock a little behind): wait the rest.
            self._timer_due = self._deadline
            self._timer = asyncio.get_running_loop().call_later(left, self._timeout_due)
            return
        future.set_exception(
            CallTimeout(f"{self._pending_action}: no answer within {self._pending_wait:g} s")
        )
        if self._observer is not None:
            action, message_id = self._pending_action, self._pending_id
            self._report(
                "rpc-call-timeout",
                f"{action}: no answer within {self._pending_wait:g} s",
                (FrameEvidence("out", action, message_id, self._call_text),),
            )

    async def send_unconfirmed(self, action: str, payload: dict[str, Any]) -> None:
        """Send an ocpp2.1 SEND (message type 6); it is never answered and not queued."""
        if self.version != OCPP21:
            raise OcppError("NotSupported", f"SEND messages exist only in {OCPP21}")
        if self._closed:
            raise ConnectionLost("connection is closed")
        if self.validate:
            self._schemas.validate_send(action, payload)
        await self._send(encode(Send(self._new_message_id(), action, payload)))
        if self._tally is not None:
            self._tally("out", "send", action)

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        """Read and dispatch frames until the socket closes; then fail waiting callers."""
        if self._running:
            raise RuntimeError("RpcConnection.run() is already running")
        self._running = True
        try:
            deliver_to = getattr(self.websocket, "deliver_to", None)
            if deliver_to is not None:
                await self._run_delivered(deliver_to)
                return
            recv = self.websocket.recv
            while True:
                try:
                    raw = await recv()
                except ConnectionClosed:
                    break
                try:
                    await self._dispatch(raw)
                except Exception:  # a bug here must not take the whole link down
                    log.exception("error while dispatching an OCPP frame")
        finally:
            self._running = False
            self._shutdown("connection closed")

    async def _run_delivered(
        self, deliver_to: Callable[[Receiver | None], Awaitable[None]]
    ) -> None:
        """A socket that calls us with each message (StationSocket.deliver_to) as it arrives,
        instead of a reader waking up for every message: one future and one task switch
        fewer per incoming frame. Returns when the socket closes."""
        closed = deliver_to(self._receive)
        try:
            await closed
        finally:
            deliver_to(None)  # later messages are nobody's: the connection is over

    def _receive(self, raw: str | bytes) -> None:
        try:
            rest = self._dispatch_now(raw)
        except Exception:  # a bug here must not take the whole link down
            log.exception("error while dispatching an OCPP frame")
            return
        if rest is not None:
            self._spawn(rest)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket; outstanding and queued calls raise ConnectionLost."""
        self._shutdown("connection closed locally")
        try:
            await self.websocket.close(code, reason)
        except Exception:
            log.debug("error while closing the websocket", exc_info=True)

    async def abort(self, reason: str) -> None:
        """Drop the connection without a closing handshake, as a broken network would (the
        peer sees 1006); a socket that cannot do that is closed with 1001."""
        self._shutdown(reason)
        drop = getattr(self.websocket, "abort", None)
        try:
            if callable(drop):
                await drop()
            else:
                await self.websocket.close(1001, reason)
        except Exception:
            log.debug("error while aborting the websocket", exc_info=True)

    def _shutdown(self, reason: str) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        future = self._pending_future
        if future is not None and not future.done():
            future.set_exception(ConnectionLost(reason))
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:  # close() may be called from inside a handler
                task.cancel()

    # -- incoming --------------------------------------------------------------------------

    async def _dispatch(self, raw: str | bytes) -> None:
        rest = self._dispatch_now(raw)
        if rest is not None:
            await rest

    def _dispatch_now(self, raw: str | bytes) -> Coroutine[Any, Any, None] | None:
        """Handle one incoming message; returns what is left to await (answering a malformed
        frame), if anything, so a reader can await it and a delivering socket spawn it."""
        if not isinstance(raw, str):
            text = bytes(raw).decode("utf-8", "replace")
            self._observe("in", text)
            if self._tally is not None:
                self._tally("in", "invalid", "")
            log.warning("ignoring a binary WebSocket message: OCPP-J uses text frames only")
            if self._observer is not None:
                self._report(
                    "rpc-invalid-frame",
                    "a binary WebSocket message; OCPP-J messages are text frames",
                    (FrameEvidence("in", None, None, text),),
                )
            return None
        if self._on_frame is not None:
            self._observe("in", raw)
        try:
            frame = decode(raw, self.version)
        except FrameError as exc:
            if self._tally is not None:
                self._tally("in", "invalid", "")
            if self._observer is not None:
                self._frame_violation(exc, raw)
            return self._reject_frame(exc)
        if self._tally is not None:
            self._count_incoming(frame)
        # Exact types (`type(...) is`, not isinstance): one check each, and mypy narrows them.
        if type(frame) is Call:
            if self._observer is not None:
                self._incoming(frame, raw)
            else:
                self._spawn(self._answer_call(frame))
        elif type(frame) is CallResult:
            self._result_text = raw
            self._resolve(frame.message_id, frame.payload, None)
        elif type(frame) is CallError:
            self._result_text = raw
            if self._observer is not None and frame.error_code not in self._wire_codes:
                self._report(
                    "rpc-invalid-callerror",
                    f"error code {frame.error_code!r} is not an {self.version} error code",
                    (FrameEvidence("in", None, frame.message_id, raw),),
                )
            error = CallErrorReceived(
                frame.error_code, frame.error_description, frame.error_details
            )
            self._resolve(frame.message_id, None, error)
        elif type(frame) is Send:
            if self._on_send is None:
                log.debug("dropping SEND %s: no on_send handler", frame.action)
            else:
                self._spawn(self._receive_send(frame))
        elif type(frame) is CallResultError:  # the peer could not process one of our CALLRESULTs
            log.warning(
                "peer rejected our CALLRESULT %s: %s %s",
                frame.message_id,
                frame.error_code,
                frame.error_description,
            )
        return None

    async def _reject_frame(self, exc: FrameError) -> None:
        message_type = exc.message_type
        if message_type is None or message_type == CALL or message_type not in self._types:
            # Requests and frames we cannot classify are answered; answering a malformed
            # response or SEND could start an error ping-pong, and the spec forbids it.
            message_id = exc.message_id if exc.message_id is not None else UNREADABLE_MESSAGE_ID
            text = self._error_text(message_id, exc.code, exc.description, {})
            if await self._send_quietly(text) and self._tally is not None:
                self._tally("out", "error", "")
            return
        if exc.message_id is not None and exc.message_id == self._pending_id:
            self._resolve(exc.message_id, None, exc)
        else:
            log.debug("ignoring malformed frame: %s", exc)

    def _resolve(
        self, message_id: str, payload: dict[str, Any] | None, error: Exception | None
    ) -> None:
        future = self._pending_future
        if future is None or message_id != self._pending_id or future.done():
            # Late (after a timeout) or unknown id: the spec says to ignore it.
            log.debug("ignoring response for unknown or expired message id %r", message_id)
            if self._observer is not None and message_id != self._abandoned_id:
                self._stray_answer(message_id)
            return
        if self._observer is not None:
            self._answered_id = message_id
            self._answered_action = self._pending_action
            sent = self._deadline - self._pending_wait
            self._observer.answered(self._pending_action, monotonic() - sent)
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(payload)  # type: ignore[arg-type]

    async def _answer_call(self, call: Call, raw: str | None = None) -> None:
        after: Callable[[], Awaitable[None] | None] | None = None
        if raw is not None:
            CURRENT_CALL.set((call.message_id, call.action, raw))
        kind = "error"
        try:
            payload, after = await self._run_handler(call)
            text = encode(CallResult(call.message_id, payload))
            kind = "result"
        except OcppError as exc:
            text = self._error_text(call.message_id, exc.code, exc.description, exc.details)
        except Exception:
            log.exception("handler for %s failed", call.action)
            text = self._error_text(
                call.message_id, "InternalError", f"{call.action} handler failed", {}
            )
        if raw is not None:
            self._incoming_open -= 1  # answered from here on: the peer may call again
        sent = await self._send_quietly(text)
        if sent and self._tally is not None:
            self._tally("out", kind, call.action)
        if sent and after is not None:
            try:
                outcome = after()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("post-reply action for %s failed", call.action)

    async def _run_handler(
        self, call: Call
    ) -> tuple[dict[str, Any], Callable[[], Awaitable[None] | None] | None]:
        action = call.action
        if action not in self._schemas.actions:
            self._report_call("rpc-unknown-action", f"{action!r} is not an {self.version} action")
            raise OcppError("NotImplemented", f"{action!r} is not an {self.version} action")
        if self._supported is not None and action not in self._supported:
            self._report_call(
                "csms-unsupported-feature", f"{action} is not supported by this station"
            )
            raise OcppError("NotSupported", f"{action} is not supported by this endpoint")
        if self.validate:
            self._schemas.validate_request(action, call.payload)
        result = await self._handler(action, call.payload)
        if isinstance(result, Reply):
            payload, after = result.payload, result.after
        else:
            payload, after = result, None
        if self.validate:
            try:
                self._schemas.validate_response(action, payload)
            except OcppError as exc:
                log.error("handler for %s returned an invalid response: %s", action, exc)
                raise OcppError(
                    "InternalError", f"{action} handler produced an invalid response"
                ) from exc
        return payload, after

    async def _receive_send(self, frame: Send) -> None:
        assert self._on_send is not None
        try:
            if self.validate:
                self._schemas.validate_send(frame.action, frame.payload)
            await self._on_send(frame.action, frame.payload)
        except Exception:
            log.warning("dropping SEND %s", frame.action, exc_info=True)

    def _count_incoming(self, frame: Frame) -> None:
        """Tally a decoded incoming frame; an answer is named after the pending CALL it
        answers (one is outstanding at a time), an answer to none with no action."""
        tally = self._tally
        assert tally is not None
        if type(frame) is Call:
            tally("in", "call", frame.action)
        elif type(frame) is CallResult or type(frame) is CallError:
            action = self._pending_action if frame.message_id == self._pending_id else ""
            tally("in", "result" if type(frame) is CallResult else "error", action)
        elif type(frame) is Send:
            tally("in", "send", frame.action)
        else:
            tally("in", "resulterror", "")

    # -- rules about the peer (only with an observer) ------------------------------------

    @property
    def last_exchange(self) -> tuple[str, str, str, str] | None:
        """The last CALL answered: (message id, action, the CALL's text, the answer's text),
        valid until the next CALL goes out (read it as the answer comes back)."""
        if self._answered_id is None:
            return None
        return self._answered_id, self._answered_action, self._call_text, self._result_text

    def _report(self, rule: str, detail: str, evidence: tuple[FrameEvidence, ...]) -> None:
        observer = self._observer
        if observer is None:
            return
        try:
            observer.violation(Observation(rule, detail, evidence))
        except Exception:  # a broken observer must not break the protocol
            log.exception("RPC observer failed")

    def _exchange(self, message_id: str, action: str) -> tuple[FrameEvidence, ...]:
        return (
            FrameEvidence("out", action, message_id, self._call_text),
            FrameEvidence("in", action, message_id, self._result_text),
        )

    def _report_call(self, rule: str, detail: str) -> None:
        current = CURRENT_CALL.get()
        if current is not None and self._observer is not None:
            message_id, action, raw = current
            self._report(rule, detail, (FrameEvidence("in", action, message_id, raw),))

    def _incoming(self, call: Call, raw: str) -> None:
        """A CALL from the peer: one while another of its CALLs is unanswered breaks the
        synchronicity rule (answered all the same)."""
        if self._incoming_open:
            self._report(
                "rpc-concurrent-call",
                f"{call.action} arrived while {self._incoming_open} earlier CALL(s) of the "
                "CSMS were still unanswered",
                (FrameEvidence("in", call.action, call.message_id, raw),),
            )
        self._incoming_open += 1
        self._spawn(self._answer_call(call, raw))

    def _frame_violation(self, exc: FrameError, raw: str) -> None:
        if exc.message_type == CALLERROR:
            rule, what = "rpc-invalid-callerror", "a malformed CALLERROR"
        else:
            rule, what = "rpc-invalid-frame", "not a valid OCPP-J message"
        self._report(
            rule,
            f"{what}: {exc.description}",
            (FrameEvidence("in", None, exc.message_id, raw),),
        )

    def _stray_answer(self, message_id: str) -> None:
        if message_id == self._answered_id:
            detail = f"a second answer to message id {message_id!r}, which was answered already"
        else:
            detail = f"an answer to message id {message_id!r}, which the station never sent"
        self._report(
            "rpc-unknown-message-id",
            detail,
            (FrameEvidence("in", None, message_id, self._result_text),),
        )

    # -- plumbing --------------------------------------------------------------------------

    def _error_text(
        self, message_id: str, code: str, description: str, details: dict[str, Any]
    ) -> str:
        if is_known_code(code):
            wire_code = error_code(self.version, code)
        else:
            # A made-up code would itself violate the protocol; keep it in the description.
            wire_code = error_code(self.version, "GenericError")
            description = f"{code}: {description}"
        return encode(
            CallError(message_id, wire_code, description[:MAX_ERROR_DESCRIPTION], details)
        )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _observe(self, direction: str, text: str) -> None:
        observer = self._on_frame
        if observer is None:
            return
        try:
            observer(direction, text)
        except Exception:  # a broken observer must not break the protocol
            log.exception("on_frame observer failed")

    async def _send(self, text: str) -> None:
        if self._may_send is not None and not self._may_send():
            raise ConnectionLost("this process no longer hosts the station (lease lost)")
        if self._on_frame is not None:
            self._observe("out", text)
        try:
            if self._send_now is not None:
                self._send_now(text)
            else:
                await self.websocket.send(text)
        except ConnectionClosed as exc:
            raise ConnectionLost(str(exc)) from exc

    async def _send_quietly(self, text: str) -> bool:
        try:
            await self._send(text)
        except ConnectionLost:
            log.debug("could not send a frame: connection closed")
            return False
        return True
