"""Flows that wait: generators the machine steps through.

A flow yields effects; it yields `Call(message)` where it needs the CSMS's answer and is
resumed with the decoded neutral answer, or with `CallFailure` when none came; it yields
`WaitForStoredMeter()` to wait for the store (resumed with None). What it returns is its
result (a command's answer); an exception it raises becomes a `Fail` effect after the effects
it yielded before. `FlowStepper` runs a flow up to its next wait and keeps it under a call id
until `CallAnswered` / `CallFailed` / `Resumed` brings it back, so a whole session can be
driven event by event on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from voltlab.fleet.machine.effects import AwaitStoredMeter, Effect, Fail, SendCall
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
class WaitForStoredMeter:
    """Yielded by a flow: resume once the stored meter caught up (`AwaitStoredMeter`)."""


@dataclass(frozen=True)
class CallFailure:
    """What a flow is resumed with when its call brought no answer."""

    reason: FailureReason
    detail: str = ""


Step = Effect | Call | WaitForStoredMeter
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
        """How many flows wait."""
        return len(self._waiting)

    def start(self, flow: Flow[Any], done: Completion) -> list[Effect]:
        return self._run(flow, done, None)

    def resume(self, call_id: int, value: Resume) -> list[Effect]:
        try:
            flow, done = self._waiting.pop(call_id)
        except KeyError:
            raise UnknownCall(call_id) from None
        return self._run(flow, done, value)

    def abandon(self, call_id: int) -> None:
        """Forget the flow waiting under `call_id` (nothing will resume it): the generator is
        closed, so its `finally` blocks run. An unknown id is a flow that already ended."""
        waiting = self._waiting.pop(call_id, None)
        if waiting is not None:
            waiting[0].close()

    def _wait(self, flow: Flow[Any], done: Completion) -> int:
        """Keep the flow until the event with the returned call id resumes it."""
        call_id = self._next_call_id
        self._next_call_id += 1
        self._waiting[call_id] = (flow, done)
        return call_id

    def _run(self, flow: Flow[Any], done: Completion, value: Resume) -> list[Effect]:
        effects: list[Effect] = []
        while True:
            try:
                step = flow.send(value)
            except StopIteration as finished:
                effects.extend(done(finished.value))
                return effects
            except Exception as error:  # the flow's own refusal (StationError) or a bug
                effects.append(Fail(error))
                return effects
            # Exact types: one check each (nothing subclasses them), and mypy narrows them.
            if type(step) is Call:
                effects.append(SendCall(step.message, self._wait(flow, done)))
                return effects
            if type(step) is WaitForStoredMeter:
                effects.append(AwaitStoredMeter(self._wait(flow, done)))
                return effects
            effects.append(cast(Effect, step))  # neither a Call nor a wait: an effect
            value = None


def no_result(_: object) -> list[Effect]:
    """The completion of a flow whose result nobody waits for."""
    return []
