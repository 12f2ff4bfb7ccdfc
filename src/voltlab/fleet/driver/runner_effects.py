"""The runner as the station machine's driver: it feeds events to `StationMachine` and
executes the effects it returns with the runner's clock, link and writes: calls go out (a
flow's answer goes back in as an event), timers are loop callbacks, waits are awaited.
`StationRunner` mixes this in (docs/station-machine.md)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from voltlab.clock import wall_time
from voltlab.fleet.driver.link import NotConnected
from voltlab.fleet.machine.effects import (
    Answer,
    AwaitStoredMeter,
    CancelTimer,
    CancelTransfer,
    Download,
    Effect,
    Fail,
    Observe,
    Persist,
    ReadFrameLog,
    Reconnect,
    Registered,
    ReportStatus,
    ResetStation,
    SendCall,
    SetTimer,
    Upload,
)
from voltlab.fleet.machine.events import (
    CallAbandoned,
    CallAnswered,
    CallFailed,
    CsmsRequest,
    Event,
    GatewayCommand,
    Resumed,
    TimerFired,
)
from voltlab.fleet.machine.messages import (
    BootRequest,
    CsmsAnswerMessage,
    CsmsRequestMessage,
    GatewayCommandMessage,
)
from voltlab.fleet.machine.session_messages import is_transaction_message
from voltlab.fleet.model.records import StationError
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.errors import (
    CallErrorReceived,
    CallTimeout,
    ConnectionLost,
    OcppError,
    error_code,
)

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner

log = logging.getLogger(__name__)

# A timer's effects in the station's outbox, with the store's mark when they were made.
Posted = tuple[list[Effect], int | None]

# Failures of a CALL to the CSMS that a station lives with (the runner logs them and goes on).
TRANSPORT_ERRORS = (NotConnected, ConnectionLost, CallTimeout, CallErrorReceived, OcppError)


class MachineDriver:
    # What the machine's timers started, executed in order by one task (`_send_outbox`).
    _outbox: deque[Posted] | None = None
    _sender: asyncio.Task[None] | None = None

    async def handle_request(
        self: StationRunner, action: str, payload: dict[str, Any]
    ) -> Reply | dict[str, Any]:
        """A CSMS request as the RPC layer hands it over (validated against the version's
        schema): decoded by the version's codec, answered by the machine, encoded back."""
        codec = self.codec.requests.get(action)
        if codec is None:
            code = error_code(self.version, "NotSupported")
            raise OcppError(code, f"{action} is not supported")
        request = codec.decode(payload)
        if codec.answer_after_calls:
            return dict(codec.encode(await self.answer_after_calls(request)))
        return self.answer_request(request, codec.encode)

    def answer_request(
        self: StationRunner,
        request: CsmsRequestMessage,
        encode: Callable[[CsmsAnswerMessage], Mapping[str, Any]],
    ) -> Reply:
        """Handle a decoded CSMS request: the effects before the machine's answer run now, the
        answer goes back encoded by the version's codec, the rest once it is on the wire."""
        effects = self.feed(CsmsRequest(request, wall_time()))
        for index, effect in enumerate(effects):
            if isinstance(effect, Answer):
                later = effects[index + 1 :]
                after = self.defer(partial(self.execute, later)) if later else None
                return Reply(dict(encode(effect.message)), after=after)
            self._execute_at_once(effect)
        raise RuntimeError(f"the station machine did not answer {request!r}")

    async def answer_after_calls(
        self: StationRunner, request: CsmsRequestMessage
    ) -> CsmsAnswerMessage:
        """Handle a CSMS request whose answer waits for the station's own calls (an unlock
        finishes the transaction first): every effect runs, then the answer goes back."""
        answers: list[CsmsAnswerMessage] = []
        await self.execute(self.feed(CsmsRequest(request, wall_time())), answers)
        if not answers:
            raise RuntimeError(f"the station machine did not answer {request!r}")
        return answers[0]

    def feed(self: StationRunner, event: Event) -> list[Effect]:
        """Hand an event to the machine at the clock's now."""
        return self.machine.handle(event, self.now())

    async def run_command(self: StationRunner, command: GatewayCommandMessage) -> CsmsAnswerMessage:
        """A gateway command the machine decides on: its effects run in order (with the round
        trips of a flow that waits for the CSMS) and its answer is the command's result."""
        answers: list[CsmsAnswerMessage] = []
        await self.execute(self.feed(GatewayCommand(command)), answers)
        if not answers:
            raise RuntimeError(f"the station machine did not answer {command!r}")
        return answers[0]

    async def execute(
        self: StationRunner,
        effects: Sequence[Effect],
        answers: list[CsmsAnswerMessage] | None = None,
        meter_mark: int | None = None,
    ) -> None:
        """Execute effects in order; those that talk to the CSMS are awaited one by one. The
        answer to a call a flow waits for goes back to the machine, and what the flow does
        next is executed here too; `answers` collects a gateway command's answer.
        `meter_mark`: where the store stood when the effects were made (`meter_settled`)."""
        for effect in effects:
            if isinstance(effect, SendCall):
                await self._send_call(effect, answers)
            elif isinstance(effect, Answer):
                if answers is None:
                    raise RuntimeError(f"{effect!r} without a command waiting for it")
                answers.append(effect.message)
            elif isinstance(effect, ReportStatus):
                await self.publish_status()
            elif isinstance(effect, AwaitStoredMeter):
                try:
                    await self.meter_settled(meter_mark)
                except asyncio.CancelledError:
                    self.feed(CallAbandoned(effect.call_id))
                    raise
                await self.execute(self.feed(Resumed(effect.call_id)), answers)
            elif isinstance(effect, ResetStation):
                self.spawn(self.reset(effect.hard, effect.boot_reason))
            elif isinstance(effect, Reconnect):
                await self.reboot(effect.reason)
            elif isinstance(effect, Persist) and effect.write_ahead:
                await self.write_ahead()
            elif isinstance(effect, Download | Upload | ReadFrameLog):
                self.maintenance.start_transfer(effect)
            elif isinstance(effect, CancelTransfer):
                self.maintenance.cancel_transfer(effect.name)
            elif isinstance(effect, Registered):
                self.registration_accepted()
            else:
                self._execute_at_once(effect)

    async def _send_call(
        self: StationRunner, effect: SendCall, answers: list[CsmsAnswerMessage] | None
    ) -> None:
        message = effect.message
        action, payload = self.codec.encode_call(message)
        try:
            if is_transaction_message(message):
                # In order and at least once: queued (None) while the CSMS is not reachable.
                variant = self.codec.offline_variant
                answer = await self.transaction_message(action, payload, variant)
            elif isinstance(message, BootRequest):
                # Only BootNotification may go out before the CSMS accepted the station.
                answer = await self.link.call_raw(action, payload)
            else:
                answer = await self.link.call(action, payload)
        except asyncio.CancelledError:
            if effect.call_id is not None:  # its flow would wait forever, holding what it holds
                self.feed(CallAbandoned(effect.call_id))
            raise
        except TRANSPORT_ERRORS as exc:
            log.debug("%s: %s not answered: %s", self.identity, action, exc)
            if effect.call_id is not None:
                failed = CallFailed(effect.call_id, failure_reason(exc), str(exc))
                await self.execute(self.feed(failed), answers)
            return
        if effect.call_id is not None:
            if answer is None:
                decoded = self.codec.queued_answer(message, payload)
            else:
                decoded = self.codec.decode_answer(message, answer)
            await self.execute(self.feed(CallAnswered(effect.call_id, decoded)), answers)

    def _execute_at_once(self: StationRunner, effect: Effect) -> None:
        if isinstance(effect, SetTimer):
            self._cancel_timer(effect.name)
            delay = max(0.0, effect.at - self.now())
            handle = self.clock.call_later(delay, self._timer_fired, effect.name)
            self._timers[effect.name] = handle
        elif isinstance(effect, CancelTimer):
            self._cancel_timer(effect.name)
        elif isinstance(effect, Persist) and not effect.write_ahead:
            self.changed()
        elif isinstance(effect, Fail):
            raise effect.error
        elif isinstance(effect, Observe):
            self.findings.observe(effect)
        else:
            # Sending or awaiting before the answer would hold the CSMS's request open.
            raise RuntimeError(f"{effect!r} cannot run before the answer or without a request")

    def _timer_fired(self: StationRunner, name: str) -> None:
        """A machine timer, run as a plain loop callback: what the machine does at once
        (timers, write-behind) runs here; calls and waits go to the station's outbox."""
        self._timers.pop(name, None)
        effects = self.feed(TimerFired(name))
        for index, effect in enumerate(effects):
            if isinstance(effect, SetTimer | CancelTimer | Observe) or (
                isinstance(effect, Persist) and not effect.write_ahead
            ):
                self._execute_at_once(effect)
            else:
                self._post(effects[index:])
                return

    def _post(self: StationRunner, effects: list[Effect]) -> None:
        """Queue what a timer started behind what earlier timers started: one task per
        station (`_send_outbox`) executes them in order, instead of a task per sample. A
        reading's wait for the store is marked now, when it was taken, so the readings a
        flush covered while they queued wait for nothing when their turn comes."""
        mark = None
        for effect in effects:
            if isinstance(effect, AwaitStoredMeter):
                mark = self.meter_mark()
                break
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        outbox.append((effects, mark))
        if self._sender is None:
            self._sender = self.spawn(self._send_outbox(outbox))

    async def _send_outbox(self: StationRunner, outbox: deque[Posted]) -> None:
        try:
            while outbox:
                effects, mark = outbox.popleft()
                try:
                    await self.execute(effects, None, mark)
                except (StationError, *TRANSPORT_ERRORS):
                    pass  # the flow's own refusal or a lost call: as a task of its own would
                except Exception:
                    log.exception("%s: a timer's effects failed", self.identity)
        finally:
            if self._outbox is outbox:
                self._outbox = None
            self._sender = None


def failure_reason(exc: BaseException) -> str:
    """A transport error as a `flow.FailureReason`."""
    if isinstance(exc, NotConnected):
        return "not_connected"
    if isinstance(exc, CallTimeout):
        return "timeout"
    if isinstance(exc, CallErrorReceived | OcppError):
        return "call_error"
    return "connection_lost"
