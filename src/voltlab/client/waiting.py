"""Handles that wait: a queued command until its final status, a virtual CPO until READY, a
scenario run until finished. Polling, bounded in time by `timeout` (real seconds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from voltlab.client import models, ops_calls
from voltlab.client.errors import CommandFailed, CpoFailed, WaitTimeout
from voltlab.client.transport import AsyncTransport, SyncTransport
from voltlab.clock import monotonic

T = TypeVar("T")

FINAL_COMMAND_STATUSES = frozenset({"succeeded", "failed", "timed_out"})
DEFAULT_POLL_SECONDS = 0.05
DEFAULT_COMMAND_TIMEOUT = 60.0
DEFAULT_CPO_TIMEOUT = 120.0


def poll(
    read: Callable[[], T], done: Callable[[T], bool], timeout: float, interval: float, what: str
) -> T:
    deadline = monotonic() + timeout
    while True:
        state = read()
        if done(state):
            return state
        if monotonic() >= deadline:
            raise WaitTimeout(f"{what}: not done within {timeout:g} s", state)
        time.sleep(interval)


async def apoll(
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float,
    interval: float,
    what: str,
) -> T:
    deadline = monotonic() + timeout
    while True:
        state = await read()
        if done(state):
            return state
        if monotonic() >= deadline:
            raise WaitTimeout(f"{what}: not done within {timeout:g} s", state)
        await asyncio.sleep(interval)


def _final(command: models.CommandView) -> bool:
    return command.status in FINAL_COMMAND_STATUSES


def _checked(command: models.CommandView, check: bool) -> models.CommandView:
    if check and command.status != "succeeded":
        raise CommandFailed(command)
    return command


def _cpo_settled(status: models.CpoStatusView) -> bool:
    return status.status in ("READY", "FAILED", "DESTROYING", "DESTROYED")


def _ready(status: models.CpoStatusView) -> models.CpoStatusView:
    if status.status != "READY":
        raise CpoFailed(status)
    return status


@dataclass
class QueuedCommand:
    """One command the server queued: `wait()` polls its record until it is final."""

    id: str
    charger_id: str
    identity: str
    transport: SyncTransport = field(repr=False)

    def get(self) -> models.CommandView:
        return self.transport.send(ops_calls.get_command(self.id))

    def wait(
        self,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
        *,
        check: bool = False,
        interval: float = DEFAULT_POLL_SECONDS,
    ) -> models.CommandView:
        """The final record (succeeded, failed or timed_out); with `check`, anything but
        succeeded raises CommandFailed."""
        final = poll(self.get, _final, timeout, interval, f"command {self.id}")
        return _checked(final, check)


@dataclass
class AsyncQueuedCommand:
    id: str
    charger_id: str
    identity: str
    transport: AsyncTransport = field(repr=False)

    async def get(self) -> models.CommandView:
        return await self.transport.send(ops_calls.get_command(self.id))

    async def wait(
        self,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
        *,
        check: bool = False,
        interval: float = DEFAULT_POLL_SECONDS,
    ) -> models.CommandView:
        final = await apoll(self.get, _final, timeout, interval, f"command {self.id}")
        return _checked(final, check)


@dataclass
class CommandBatch:
    """The 202 of a command (`accepted`: the seed's shape) and a handle per queued command;
    targets the server refused at once are in `accepted.failed`."""

    accepted: models.CommandAccepted
    commands: list[QueuedCommand]

    def wait(
        self, timeout: float = DEFAULT_COMMAND_TIMEOUT, *, check: bool = False
    ) -> list[models.CommandView]:
        deadline = monotonic() + timeout
        return [c.wait(max(0.0, deadline - monotonic()), check=check) for c in self.commands]


@dataclass
class AsyncCommandBatch:
    accepted: models.CommandAccepted
    commands: list[AsyncQueuedCommand]

    async def wait(
        self, timeout: float = DEFAULT_COMMAND_TIMEOUT, *, check: bool = False
    ) -> list[models.CommandView]:
        deadline = monotonic() + timeout
        return [await c.wait(max(0.0, deadline - monotonic()), check=check) for c in self.commands]


def batch(accepted: models.CommandAccepted, transport: SyncTransport) -> CommandBatch:
    handles = [
        QueuedCommand(r.command.id, r.charger_id, r.identity, transport) for r in accepted.results
    ]
    return CommandBatch(accepted, handles)


def async_batch(accepted: models.CommandAccepted, transport: AsyncTransport) -> AsyncCommandBatch:
    handles = [
        AsyncQueuedCommand(r.command.id, r.charger_id, r.identity, transport)
        for r in accepted.results
    ]
    return AsyncCommandBatch(accepted, handles)


def wait_cpo_ready(
    transport: SyncTransport, cpo_id: str, timeout: float, interval: float
) -> models.CpoStatusView:
    def read() -> models.CpoStatusView:
        return transport.send(ops_calls.cpo_status(cpo_id))

    return _ready(poll(read, _cpo_settled, timeout, interval, f"CPO {cpo_id}"))


async def await_cpo_ready(
    transport: AsyncTransport, cpo_id: str, timeout: float, interval: float
) -> models.CpoStatusView:
    async def read() -> models.CpoStatusView:
        return await transport.send(ops_calls.cpo_status(cpo_id))

    return _ready(await apoll(read, _cpo_settled, timeout, interval, f"CPO {cpo_id}"))


def _run_finished(run: models.RunView) -> bool:
    return run.status == "finished"


def wait_run(
    transport: SyncTransport, run_id: str, timeout: float, interval: float
) -> models.RunView:
    def read() -> models.RunView:
        return transport.send(ops_calls.get_run(run_id))

    return poll(read, _run_finished, timeout, interval, f"scenario run {run_id}")


async def await_run(
    transport: AsyncTransport, run_id: str, timeout: float, interval: float
) -> models.RunView:
    async def read() -> models.RunView:
        return await transport.send(ops_calls.get_run(run_id))

    return await apoll(read, _run_finished, timeout, interval, f"scenario run {run_id}")


def _replay_finished(run: models.ReplayView) -> bool:
    return run.status != "running"


def wait_replay(
    transport: SyncTransport, run_id: str, timeout: float, interval: float
) -> models.ReplayView:
    def read() -> models.ReplayView:
        return transport.send(ops_calls.get_replay(run_id))

    return poll(read, _replay_finished, timeout, interval, f"replay {run_id}")


async def await_replay(
    transport: AsyncTransport, run_id: str, timeout: float, interval: float
) -> models.ReplayView:
    async def read() -> models.ReplayView:
        return await transport.send(ops_calls.get_replay(run_id))

    return await apoll(read, _replay_finished, timeout, interval, f"replay {run_id}")
