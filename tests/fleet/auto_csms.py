"""A test driver for the station machine that plays a compliant CSMS without a socket: every
CALL the machine sends is encoded by the version's codec and checked against the OCA schema,
answered with a schema-valid answer (decoded by the codec, fed back as `CallAnswered`), and
every timer fires in order on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voltlab.fleet.codecs.station_codec import StationCodec, codec_for
from voltlab.fleet.machine.effects import (
    Answer,
    AwaitStoredMeter,
    CancelTimer,
    Effect,
    Fail,
    Registered,
    ReportStatus,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import (
    CallAnswered,
    Connected,
    CsmsRequest,
    Event,
    GatewayCommand,
    QueueDelivered,
    Resumed,
    TimerFired,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import CsmsAnswerMessage
from voltlab.fleet.machine.session_messages import ReportStatuses
from voltlab.fleet.machine.settings import settings_for
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory

T0 = 1_800_000_000.0
WALL = 1_750_000_000.0
Payload = dict[str, Any]

ACCEPTED_TOKEN = {"idTokenInfo": {"status": "Accepted"}}
# What a compliant CSMS answers each station CALL with (a payload its schema accepts).
ANSWERS: dict[str, Callable[[Payload], Payload]] = {
    "BootNotification": lambda p: {
        "currentTime": "2027-01-15T08:00:00.000Z",
        "interval": 86_400,
        "status": "Accepted",
    },
    "Authorize": lambda p: ACCEPTED_TOKEN,
    "TransactionEvent": lambda p: ACCEPTED_TOKEN if "idToken" in p else {},
    "NotifyEVChargingNeeds": lambda p: {"status": "Accepted"},
    "NotifyEVChargingSchedule": lambda p: {"status": "Accepted"},
    "OpenPeriodicEventStream": lambda p: {"status": "Accepted"},
}


class AutoCsms:
    def __init__(self, machine: StationMachine, version: str) -> None:
        self.machine = machine
        self.codec: StationCodec = codec_for(version)
        self.schemas = SchemaSet(version, schema_directory(version))
        self.now = T0
        self.timers: dict[str, float] = {}
        self.sent: list[tuple[str, Payload]] = []
        self.answers: list[CsmsAnswerMessage] = []
        self.answered: list[tuple[str, Payload]] = []  # the requests' answers as encoded

    def feed(self, event: Event) -> list[Effect]:
        """Hand an event to the machine and run everything it leads to; the effects of the
        event itself (not of the answers to its calls) come back."""
        effects = self.machine.handle(event, self.now)
        self._run(effects)
        return effects

    def request(
        self, message: Any, wall: float = WALL, action: str | None = None
    ) -> CsmsAnswerMessage:
        """A CSMS request (its action: the message's class name unless given): the machine's
        answer, whose encoding the schema must accept."""
        before = len(self.answers)
        self.feed(CsmsRequest(message, wall))
        assert len(self.answers) == before + 1, "the machine did not answer"
        action = action or type(message).__name__
        payload = dict(self.codec.requests[action].encode(self.answers[-1]))
        self.schemas.validate_response(action, payload)
        self.answered.append((action, payload))
        return self.answers[-1]

    def command(self, message: Any) -> CsmsAnswerMessage:
        before = len(self.answers)
        self.feed(GatewayCommand(message))
        assert len(self.answers) > before, "the command did not answer"
        return self.answers[before]

    def advance(self, to: float) -> None:
        """Fire every timer due up to `to`, in order, then stand at `to`."""
        while self.timers and min(self.timers.values()) <= to:
            name = min(self.timers, key=lambda key: self.timers[key])
            self.now = self.timers.pop(name)
            self.feed(TimerFired(name))
        self.now = to

    def actions(self, action: str) -> list[Payload]:
        return [payload for sent, payload in self.sent if sent == action]

    def _run(self, effects: list[Effect], *, collect: bool = True) -> None:
        """Execute effects; `collect`: keep their answers (not a status report's, which the
        driver runs on its own)."""
        for effect in effects:
            if isinstance(effect, SetTimer):
                self.timers[effect.name] = effect.at
            elif isinstance(effect, CancelTimer):
                self.timers.pop(effect.name, None)
            elif isinstance(effect, Answer):
                if collect:
                    self.answers.append(effect.message)
            elif isinstance(effect, Fail):
                raise effect.error
            elif isinstance(effect, ReportStatus):
                statuses = self.machine.handle(GatewayCommand(ReportStatuses()), self.now)
                self._run(statuses, collect=False)
            elif isinstance(effect, Registered):  # nothing queued offline: delivered at once
                self._run(self.machine.handle(QueueDelivered(), self.now))
            elif isinstance(effect, AwaitStoredMeter):
                self._run(self.machine.handle(Resumed(effect.call_id), self.now), collect=collect)
            elif isinstance(effect, SendCall):
                self._call(effect, collect)

    def _call(self, effect: SendCall, collect: bool) -> None:
        action, payload = self.codec.encode_call(effect.message)
        if action in self.codec.unconfirmed:  # a 2.1 SEND: one schema, never answered
            self.schemas.validate_send(action, payload)
            self.sent.append((action, payload))
            return
        self.schemas.validate_request(action, payload)
        self.sent.append((action, payload))
        answer = ANSWERS.get(action, lambda p: {})(payload)
        self.schemas.validate_response(action, answer)
        if effect.call_id is None:
            return
        decoded = self.codec.decode_answer(effect.message, answer)
        resumed = self.machine.handle(CallAnswered(effect.call_id, decoded), self.now)
        self._run(resumed, collect=collect)


def station_machine(
    version: str, model: str = "ac-22kw-2c", identity: str = "CP-201"
) -> tuple[StationMachine, AutoCsms]:
    """A 2.x station machine, booted and accepted by the automatic CSMS."""
    machine = StationMachine(Station(identity, CATALOG[model], seed=11), settings_for(version))
    csms = AutoCsms(machine, version)
    csms.feed(Connected())
    assert machine.online
    return machine, csms
