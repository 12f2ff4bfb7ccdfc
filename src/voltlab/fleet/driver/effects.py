"""The station machine's driver: it feeds events to `StationMachine` and executes the effects
it returns with the station's clock, link and writes: calls go out (a flow's answer goes back
in as an event), timers are loop callbacks, waits are awaited, and what a timer starts runs in
the station's outbox. It hands the effects that belong to a collaborator to it: transaction
messages to the offline delivery, transfers to maintenance, `Registered` and `Reconnect` to
the registration follow-up (docs/station-machine.md)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from voltlab.clock import Clock, TimerHandle, wall_time
from voltlab.fleet.codecs.station_codec import StationCodec
from voltlab.fleet.driver.call_errors import TRANSPORT_ERRORS, failure_reason
from voltlab.fleet.driver.findings import StationFindings
from voltlab.fleet.driver.link import StationLink
from voltlab.fleet.driver.maintenance import Transfer
from voltlab.fleet.driver.station_tasks import StationTasks
from voltlab.fleet.driver.writes import StationWrites
from voltlab.fleet.machine.control_messages import Reset
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
    UseSecurityProfile,
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
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import (
    BootRequest,
    CsmsAnswerMessage,
    CsmsRequestMessage,
    GatewayCommandMessage,
)
from voltlab.fleet.machine.session_messages import ReportStatuses, is_transaction_message
from voltlab.fleet.model.records import StationError
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.errors import OcppError, error_code

log = logging.getLogger(__name__)

# A timer's effects in the station's outbox, with the store's mark when they were made.
Posted = tuple[list[Effect], int | None]
Payload = dict[str, Any]


class TransactionMessages(Protocol):
    """Delivers transaction messages in order and at least once (`OfflineDelivery`)."""

    async def transaction_message(
        self,
        action: str,
        payload: Payload,
        offline_variant: Callable[[Payload], Payload] | None = None,
    ) -> Payload | None: ...


class Transfers(Protocol):
    """Runs the machine's downloads, uploads and frame-log reads (`StationMaintenance`)."""

    def start_transfer(self, effect: Transfer) -> None: ...

    def cancel_transfer(self, name: str) -> None: ...


class RegistrationEffects(Protocol):
    """What follows the machine's `Registered` and `Reconnect` (`RegistrationFollowUp`)."""

    def registration_accepted(self) -> None: ...

    async def reboot(self, reason: str) -> None: ...


class MachineDriver:
    """Executes one station's machine effects. Built before the collaborators that feed it
    events (they take it in their constructors); `attach` then gives it those it hands
    effects to, before the station starts."""

    __slots__ = (
        "machine",
        "codec",
        "_identity",
        "_clock",
        "_link",
        "_tasks",
        "_writes",
        "_findings",
        "_timers",
        "_outbox",
        "_sender",
        "_offline",
        "_transfers",
        "_registration",
    )
    # Given by `attach` (the collaborators take this driver in their constructors).
    _offline: TransactionMessages
    _transfers: Transfers
    _registration: RegistrationEffects

    def __init__(
        self,
        *,
        identity: str,
        machine: StationMachine,
        codec: StationCodec,
        clock: Clock,
        link: StationLink,
        tasks: StationTasks,
        writes: StationWrites,
        findings: StationFindings,
    ) -> None:
        self.machine = machine
        self.codec = codec
        self._identity = identity
        self._clock = clock
        self._link = link
        self._tasks = tasks
        self._writes = writes
        self._findings = findings
        self._timers: dict[str, TimerHandle] = {}
        # What the machine's timers started, executed in order by one task (`_send_outbox`).
        self._outbox: deque[Posted] | None = None
        self._sender: asyncio.Task[None] | None = None

    def attach(
        self,
        offline: TransactionMessages,
        transfers: Transfers,
        registration: RegistrationEffects,
    ) -> None:
        self._offline = offline
        self._transfers = transfers
        self._registration = registration

    def stop(self) -> None:
        """The station stops: its timers end, and what they left in the outbox is dropped (the
        outbox's sender is one of the station's tasks, cancelled with them)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._outbox = None

    # -- CSMS requests ------------------------------------------------------------------------

    async def handle_request(self, action: str, payload: Payload) -> Reply | Payload:
        """A CSMS request as the RPC layer hands it over (validated against the version's
        schema): decoded by the version's codec, answered by the machine, encoded back."""
        codec = self.codec.requests.get(action)
        if codec is None:
            code = error_code(self.codec.version, "NotSupported")
            raise OcppError(code, f"{action} is not supported")
        request = codec.decode(payload)
        if codec.answer_after_calls:
            return dict(codec.encode(await self.answer_after_calls(request)))
        return self.answer_request(request, codec.encode)

    def answer_request(
        self,
        request: CsmsRequestMessage,
        encode: Callable[[CsmsAnswerMessage], Mapping[str, Any]],
    ) -> Reply:
        """Handle a decoded CSMS request: the effects before the machine's answer run now, the
        answer goes back encoded by the version's codec, the rest once it is on the wire."""
        effects = self.feed(CsmsRequest(request, wall_time()))
        for index, effect in enumerate(effects):
            if isinstance(effect, Answer):
                later = effects[index + 1 :]
                after = self._tasks.defer(partial(self.execute, later)) if later else None
                return Reply(dict(encode(effect.message)), after=after)
            self.execute_at_once(effect)
        raise RuntimeError(f"the station machine did not answer {request!r}")

    async def answer_after_calls(self, request: CsmsRequestMessage) -> CsmsAnswerMessage:
        """Handle a CSMS request whose answer waits for the station's own calls (an unlock
        finishes the transaction first): every effect runs, then the answer goes back."""
        answers: list[CsmsAnswerMessage] = []
        await self.execute(self.feed(CsmsRequest(request, wall_time())), answers)
        if not answers:
            raise RuntimeError(f"the station machine did not answer {request!r}")
        return answers[0]

    # -- events in, effects out ---------------------------------------------------------------

    def feed(self, event: Event) -> list[Effect]:
        """Hand an event to the machine at the clock's now."""
        return self.machine.handle(event, self._clock.now())

    async def run_command(self, command: GatewayCommandMessage) -> CsmsAnswerMessage:
        """A gateway command the machine decides on: its effects run in order (with the round
        trips of a flow that waits for the CSMS) and its answer is the command's result."""
        answers: list[CsmsAnswerMessage] = []
        await self.execute(self.feed(GatewayCommand(command)), answers)
        if not answers:
            raise RuntimeError(f"the station machine did not answer {command!r}")
        return answers[0]

    async def execute(
        self,
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
                await self.run_command(ReportStatuses())
            elif isinstance(effect, AwaitStoredMeter):
                try:
                    await self._writes.meter_settled(meter_mark)
                except asyncio.CancelledError:
                    self.feed(CallAbandoned(effect.call_id))
                    raise
                await self.execute(self.feed(Resumed(effect.call_id)), answers)
            elif isinstance(effect, ResetStation):
                self._tasks.spawn(self.run_command(Reset(effect.hard, effect.boot_reason)))
            elif isinstance(effect, Reconnect):
                await self._registration.reboot(effect.reason)
            elif isinstance(effect, UseSecurityProfile):
                self.use_profile(effect)
                if effect.reconnect:
                    await self._link.restart()
            elif isinstance(effect, Persist) and effect.write_ahead:
                await self._writes.write_ahead()
            elif isinstance(effect, Download | Upload | ReadFrameLog):
                self._transfers.start_transfer(effect)
            elif isinstance(effect, CancelTransfer):
                self._transfers.cancel_transfer(effect.name)
            elif isinstance(effect, Registered):
                self._registration.registration_accepted()
            else:
                self.execute_at_once(effect)

    async def _send_call(self, effect: SendCall, answers: list[CsmsAnswerMessage] | None) -> None:
        message = effect.message
        codec = self.codec
        action, payload = codec.encode_call(message)
        try:
            if action in codec.unconfirmed:  # 2.1 SEND: never answered, never queued
                await self._link.send(action, payload)
                return
            if is_transaction_message(message):
                # In order and at least once: queued (None) while the CSMS is not reachable.
                variant = codec.offline_variant
                answer = await self._offline.transaction_message(action, payload, variant)
            elif isinstance(message, BootRequest):
                # Only BootNotification may go out before the CSMS accepted the station.
                answer = await self._link.call_raw(action, payload)
            else:
                answer = await self._link.call(action, payload)
        except asyncio.CancelledError:
            if effect.call_id is not None:  # its flow would wait forever, holding what it holds
                self.feed(CallAbandoned(effect.call_id))
            raise
        except TRANSPORT_ERRORS as exc:
            log.debug("%s: %s not answered: %s", self._identity, action, exc)
            if effect.call_id is not None:
                failed = CallFailed(effect.call_id, failure_reason(exc), str(exc))
                await self.execute(self.feed(failed), answers)
            return
        if effect.call_id is not None:
            if answer is None:
                decoded = codec.queued_answer(message, payload)
            else:
                decoded = codec.decode_answer(message, answer)
            await self.execute(self.feed(CallAnswered(effect.call_id, decoded)), answers)

    def use_profile(self, effect: UseSecurityProfile) -> None:
        """The link connects with the profile (and URL, password) from its next connection."""
        store = self.machine.context.certificates
        self._link.use_profile(
            effect.profile,
            store.csms_ca_pem(),
            store.client_credentials(),
            csms_url=effect.csms_url,
            password=effect.password,
        )

    def execute_at_once(self, effect: Effect) -> None:
        """An effect that neither sends nor waits: a timer set or cancelled, a write-behind, an
        observation, a flow's failure raised."""
        if isinstance(effect, SetTimer):
            self._cancel_timer(effect.name)
            delay = max(0.0, effect.at - self._clock.now())
            handle = self._clock.call_later(delay, self.timer_fired, effect.name)
            self._timers[effect.name] = handle
        elif isinstance(effect, CancelTimer):
            self._cancel_timer(effect.name)
        elif isinstance(effect, Persist) and not effect.write_ahead:
            self._writes.changed()
        elif isinstance(effect, Fail):
            raise effect.error
        elif isinstance(effect, Observe):
            self._findings.observe(effect)
        elif isinstance(effect, UseSecurityProfile) and not effect.reconnect:
            self.use_profile(effect)
        else:
            # Sending or awaiting before the answer would hold the CSMS's request open.
            raise RuntimeError(f"{effect!r} cannot run before the answer or without a request")

    # -- timers and the outbox ----------------------------------------------------------------

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def timer_fired(self, name: str) -> None:
        """A machine timer, run as a plain loop callback: what the machine does at once
        (timers, write-behind) runs here; calls and waits go to the station's outbox."""
        self._timers.pop(name, None)
        effects = self.feed(TimerFired(name))
        for index, effect in enumerate(effects):
            if isinstance(effect, SetTimer | CancelTimer | Observe) or (
                isinstance(effect, Persist) and not effect.write_ahead
            ):
                self.execute_at_once(effect)
            else:
                self._post(effects[index:])
                return

    def _post(self, effects: list[Effect]) -> None:
        """Queue what a timer started behind what earlier timers started: one task per
        station (`_send_outbox`) executes them in order, instead of a task per sample. A
        reading's wait for the store is marked now, when it was taken, so the readings a
        flush covered while they queued wait for nothing when their turn comes."""
        mark = None
        for effect in effects:
            if isinstance(effect, AwaitStoredMeter):
                mark = self._writes.meter_mark()
                break
        outbox = self._outbox
        if outbox is None:
            outbox = self._outbox = deque()
        outbox.append((effects, mark))
        if self._sender is None:
            self._sender = self._tasks.spawn(self._send_outbox(outbox))

    @property
    def outbox_busy(self) -> bool:
        """The outbox's sender is running (it ends when the outbox is empty)."""
        return self._sender is not None or self._outbox is not None

    async def _send_outbox(self, outbox: deque[Posted]) -> None:
        try:
            while outbox:
                effects, mark = outbox.popleft()
                try:
                    await self.execute(effects, None, mark)
                except (StationError, *TRANSPORT_ERRORS):
                    pass  # the flow's own refusal or a lost call: as a task of its own would
                except Exception:
                    log.exception("%s: a timer's effects failed", self._identity)
        finally:
            if self._outbox is outbox:
                self._outbox = None
            self._sender = None
