"""One job at a time, for the maintenance flows: a new request replaces the running job
(AcceptedCanceled), cancelling its timer before the answer and its transfer after it. Every job
has its own name (`<prefix><n>`), used for its timer and its transfer alike, so that a timer
or transfer outcome of a replaced job is recognised and ignored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from voltlab.fleet.machine.effects import CancelTimer, CancelTransfer, Effect, SetTimer
from voltlab.fleet.machine.events import TransferFailed

AcceptedStatus = Literal["Accepted", "AcceptedCanceled"]


@dataclass
class Job:
    name: str
    # What the job's timer or transfer is waiting for; each flow has its own words.
    phase: str
    retries: int
    retry_interval: float
    attempt: int = 0  # failed attempts of the current transfer
    status: str = "Idle"  # the last status reported


JobT = TypeVar("JobT", bound=Job)


@dataclass
class Replacement:
    """What starting a new job means: its name, what to do before the answer, what after."""

    name: str
    status: AcceptedStatus
    before: list[Effect]
    after: list[Effect]


class OneJobAtATime(Generic[JobT]):
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.job: JobT | None = None
        self._started = 0

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix)

    @property
    def status(self) -> str:
        """The running job's last status, or Idle (what TriggerMessage reports)."""
        return self.job.status if self.job is not None else "Idle"

    def replace(self) -> Replacement:
        """Stop the running job, if any, and name the next one (which the caller sets)."""
        replaced = self.job
        self.job = None
        self._started += 1
        name = f"{self.prefix}{self._started}"
        if replaced is None:
            return Replacement(name, "Accepted", [], [])
        return Replacement(
            name, "AcceptedCanceled", [CancelTimer(replaced.name)], [CancelTransfer(replaced.name)]
        )

    def current(self, name: str, *phases: str) -> JobT | None:
        """The running job if `name` is its name (and it is in one of `phases`, if given);
        None for what a replaced or finished job left behind."""
        job = self.job
        if job is None or job.name != name or (phases and job.phase not in phases):
            return None
        return job

    def finish(self, job: JobT) -> JobT:
        self.job = None
        return job

    @staticmethod
    def wait(job: Job, phase: str, at: float) -> SetTimer:
        job.phase = phase
        return SetTimer(job.name, at)

    def retry(self, job: Job, failure: TransferFailed, now: float, phase: str) -> SetTimer | None:
        """A timer for the next attempt, or None when no attempt is left or none can help."""
        if not failure.retryable or job.attempt >= max(0, job.retries):
            return None
        job.attempt += 1
        return self.wait(job, phase, now + max(0.0, job.retry_interval))
