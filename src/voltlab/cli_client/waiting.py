"""`--wait`: poll until an outcome, bounded by `--timeout`, stoppable with Ctrl-C.

Polling, not the live channel: the status routes are the same everywhere (any process of a
cluster answers them from the database), and a poll missed is caught up by the next one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from voltlab.cli_client.common import err
from voltlab.cli_client.http import CliFailure, ExitCode
from voltlab.clock import monotonic

POLL_SECONDS = 0.25
T = TypeVar("T")


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    what: str,
    interval: float = POLL_SECONDS,
) -> T:
    """`read()` until `done(value)`; a `CliFailure` WAIT_TIMEOUT after `timeout` seconds."""
    deadline = monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        left = deadline - monotonic()
        if left <= 0:
            raise CliFailure(
                ExitCode.WAIT_TIMEOUT,
                f"gave up waiting after {timeout:g} s: {what} (it goes on at the server)",
            )
        time.sleep(min(interval, left))


@contextmanager
def interruptible(what: str) -> Iterator[None]:
    """Ctrl-C while waiting ends the command with status 130 and a line, not a traceback;
    the server's work is not cancelled by it."""
    try:
        yield
    except KeyboardInterrupt:
        raise CliFailure(
            ExitCode.INTERRUPTED, f"interrupted; {what} goes on at the server"
        ) from None


def progress_bar() -> Progress:
    """A bar on stderr (stdout stays for data)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err(),
    )
