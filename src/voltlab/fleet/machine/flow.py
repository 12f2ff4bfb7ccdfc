"""Flows that wait for the CSMS: generators the machine steps through.

A flow yields effects; it yields `Call(message)` where it needs the CSMS's answer and is
resumed with the decoded neutral answer, or with `CallFailure` when none came. What it
returns is its result (a gateway command's answer). `FlowStepper` runs a flow up to its next
call and keeps it under a call id until `CallAnswered` / `CallFailed` brings it back, so a
whole session can be driven event by event on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from voltlab.fleet.machine.effects import Effect, SendCall
from voltlab.fleet.machine.messages import StationAnswerMessage, StationMessage

T = TypeVar("T")

# Why a CALL brought no answer: the station was not connected (certainly not sent), the
# connection went away or the CSMS stayed silent (maybe delivered), or it answered CALLERROR.
FailureReason = Literal["not_connected", "connection_lost", "timeout", "call_error"]


@dataclass(frozen=True)
class Call:
    """Yielded by a flow: send `message` to the CSMS and resume the flow with its answer."""

    message: StationMessage


@dataclass(frozen=True)
class CallFailure:
    """What a flow is resumed with when its call brought no answer."""

    reason: FailureReason
    detail: str = ""


Step = Effect | Call
Resume = StationAnswerMessage | CallFailure | None
Flow = Generator[Step, Resume, T]
# Turns a finished flow's result into the effects that report it (an Answer, say).
Completion = Callable[[Any], list[Effect]]


class UnknownCall(KeyError):
    """An answer for a call no flow waits for: a driver bug."""


class FlowStepper:
    def __init__(self) -> None:
        self._waiting: dict[int, tuple[Flow[Any], Completion]] = {}
        self._next_call_id = 1

    @property
    def waiting(self) -> int:
        """How many flows wait for an answer."""
        return len(self._waiting)

    def start(self, flow: Flow[Any], done: Completion) -> list[Effect]:
        return self._run(flow, done, None)

    def resume(self, call_id: int, value: StationAnswerMessage | CallFailure) -> list[Effect]:
        try:
            flow, done = self._waiting.pop(call_id)
        except KeyError:
            raise UnknownCall(call_id) from None
        return self._run(flow, done, value)

    def _run(self, flow: Flow[Any], done: Completion, value: Resume) -> list[Effect]:
        """Step the flow until it waits for an answer or returns; an exception it raises
        reaches the caller of `handle` with the effects so far lost, as an await chain's
        would (flows raise before they change anything they cannot take back)."""
        effects: list[Effect] = []
        while True:
            try:
                step = flow.send(value)
            except StopIteration as finished:
                effects.extend(done(finished.value))
                return effects
            if isinstance(step, Call):
                call_id = self._next_call_id
                self._next_call_id += 1
                self._waiting[call_id] = (flow, done)
                effects.append(SendCall(step.message, call_id))
                return effects
            effects.append(step)
            value = None


def no_result(_: object) -> list[Effect]:
    return []
