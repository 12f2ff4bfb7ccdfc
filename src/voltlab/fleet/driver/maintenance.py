"""The I/O of the maintenance flows, executed by the driver for the station machine's
`Download` and `Upload` effects: an HTTP GET of a firmware image and an HTTP POST of a log
file. What to fetch, when, how often and what it means is decided by the machine
(`fleet/machine/flows/firmware.py`, `logs.py`); these functions only talk HTTP and say why a
transfer failed. Timeouts are real seconds, because the network is real."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx

from voltlab.fleet.machine.effects import Download, ReadFrameLog, Upload
from voltlab.fleet.machine.events import (
    DownloadDone,
    FrameLogRead,
    TransferFailed,
    TransferOutcome,
    UploadDone,
)

log = logging.getLogger(__name__)

Transfer = Download | Upload | ReadFrameLog
# Reads the station's last `limit` frames as timestamped lines, oldest first.
ReadLines = Callable[[int], Awaitable[list[str]]]

HTTP_TIMEOUT_SECONDS = 30.0  # real seconds


class MaintenanceFailure(Exception):
    """A transfer failed; the message becomes the `reason` of the failure status."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=HTTP_TIMEOUT_SECONDS,
        follow_redirects=False,  # a redirect could leave the allowed hosts
        trust_env=False,  # a proxy from the environment cannot reach 127.0.0.1
    )


async def download(location: str, max_bytes: int) -> bytes:
    """GET `location`; a file over `max_bytes` fails without retrying, since trying again
    cannot make it smaller."""
    try:
        async with _client() as client, client.stream("GET", location) as response:
            if response.status_code != 200:
                raise MaintenanceFailure(
                    f"GET {location} answered HTTP {response.status_code}", retryable=True
                )
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise MaintenanceFailure(
                    f"firmware of {declared} bytes exceeds {max_bytes}", retryable=False
                )
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise MaintenanceFailure(f"firmware exceeds {max_bytes} bytes", retryable=False)
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise MaintenanceFailure(
            f"GET {location} failed: {type(exc).__name__}: {exc}", retryable=True
        ) from exc
    if received == 0:
        raise MaintenanceFailure(f"GET {location} returned an empty file", retryable=True)
    return b"".join(chunks)


async def upload(location: str, file_name: str, content: bytes) -> None:
    """POST the file as multipart/form-data in the form field `file` (what web upload
    endpoints expect); a 2xx answer means it arrived."""
    try:
        async with _client() as client:
            response = await client.post(
                location, files={"file": (file_name, content, "text/plain")}
            )
    except httpx.HTTPError as exc:
        raise MaintenanceFailure(
            f"POST {location} failed: {type(exc).__name__}: {exc}", retryable=True
        ) from exc
    if not response.is_success:
        raise MaintenanceFailure(
            f"POST {location} answered HTTP {response.status_code}", retryable=True
        )


async def run_transfer(effect: Transfer, read_lines: ReadLines) -> TransferOutcome:
    """Execute one transfer effect; its outcome is the event to feed back to the machine.
    Never raises (but for cancellation): a failure is a `TransferFailed`."""
    try:
        if isinstance(effect, Download):
            return DownloadDone(effect.name, await download(effect.location, effect.max_bytes))
        if isinstance(effect, Upload):
            await upload(effect.location, effect.file_name, effect.content)
            return UploadDone(effect.name)
        return FrameLogRead(effect.name, tuple(await read_lines(effect.limit)))
    except MaintenanceFailure as failure:
        return TransferFailed(effect.name, failure.reason, failure.retryable)
    except Exception as exc:  # reading the frame log must not escape as an exception
        log.exception("%s failed", effect.name)
        return TransferFailed(effect.name, str(exc))
