"""What goes out of the station machine, to be executed by the driver in the given order."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.messages import CsmsAnswerMessage, StationMessage


@dataclass(frozen=True)
class Answer:
    """The answer to the CSMS request being handled. Effects before it run before the answer
    is sent; effects after it once it is on the wire."""

    message: CsmsAnswerMessage


@dataclass(frozen=True)
class SendCall:
    """Send a message to the CSMS. With a `call_id` a flow waits for the answer: the driver
    feeds it back as `CallAnswered(call_id, answer)` or `CallFailed(call_id, ...)`."""

    message: StationMessage
    call_id: int | None = None


@dataclass(frozen=True)
class SetTimer:
    """Feed `TimerFired(name)` at the simulated instant `at`; replaces a timer of that name."""

    name: str
    at: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class Persist:
    """The station's state changed: store it (now, before what follows, if `write_ahead`)."""

    write_ahead: bool = False


@dataclass(frozen=True)
class ReportStatus:
    """Connector statuses may have changed: report the changes to the CSMS. Until status
    reporting moves into the machine (migration step 3) the driver does it."""


@dataclass(frozen=True)
class Registered:
    """The CSMS accepted the station on this connection (it was not accepted before): the
    driver does what follows a registration (offline queue, interrupted transactions,
    statuses, sampling) until those flows move into the machine."""


Effect = Answer | SendCall | SetTimer | CancelTimer | Persist | ReportStatus | Registered
