"""Station maintenance flows, version-neutral: firmware updates and diagnostics/log uploads.

Adapters call these flows for 1.6 UpdateFirmware / SignedUpdateFirmware / GetDiagnostics /
GetLog and 2.0.1 UpdateFirmware / GetLog, and turn the neutral events handed to `notify` into
status frames. Events (name, fields):

* ``("firmware", {"status", "request_id", "signed"[, "reason"]})`` with status one of
  Downloading, Downloaded, DownloadFailed, SignatureVerified, InvalidSignature, Installing,
  Installed. ``signed`` says whether the request carried a signature or signing certificate
  (1.6 then answers with SignedFirmwareStatusNotification). ``reason`` (failures only) is a
  human-readable explanation for the frame log; no OCPP frame carries it.
* ``("diagnostics" | "log", {"status", "request_id", "file_name"[, "reason"]})`` with status
  one of Uploading, Uploaded, UploadFailed. The event name is the `kind` of the upload. 1.6
  DiagnosticsStatusNotification uses UploadFailed as is; LogStatusNotification (1.6 security
  extension and 2.0.1) spells it UploadFailure: see `LOG_STATUS_ON_WIRE`.

Sequences: unsigned firmware Downloading, Downloaded, Installing, Installed; signed firmware
adds SignatureVerified after Downloaded (or stops at InvalidSignature); a failed download ends
at DownloadFailed once every attempt failed. A location this lab may not reach (scheme other
than http/https, host other than 127.0.0.1) fails at once with a single DownloadFailed or
UploadFailed: no request leaves the process, so a CSMS cannot point a virtual station at the
outside world.

Both flows never raise into their caller: failures become statuses, and errors in `notify`
or `on_installed` are logged. One request at a time per flow: a new `run` cancels the running
one (`replaced_previous` tells the caller, so 2.0.1 can answer AcceptedCanceled; `busy` tells
it before the run starts). Cancelling the task awaiting `run` cancels the work with it and
leaves nothing behind; the CancelledError then propagates as asyncio expects.

Pacing (downloading, verifying, installing, uploading) is in simulated seconds on the fleet
clock; HTTP timeouts are real seconds, because the network is real.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import httpx

from voltlab.clock import Clock
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

log = logging.getLogger(__name__)

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]
UploadKind = Literal["diagnostics", "log"]
# Where an upload's lines come from: a list, or a coroutine reading the frame log.
LineSource = Callable[[], list[str] | Awaitable[list[str]]]
ResultT = TypeVar("ResultT")

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_ALLOWED_HOSTS = frozenset({"127.0.0.1"})
MAX_FIRMWARE_BYTES = 50 * 1024 * 1024
HTTP_TIMEOUT_SECONDS = 30.0  # real seconds
FIRMWARE_VERSION_MAX_LENGTH = 50  # BootNotification firmwareVersion, 1.6 and 2.0.1

# The neutral UploadFailed as LogStatusNotification (1.6 security, 2.0.1) spells it.
LOG_STATUS_ON_WIRE = {"UploadFailed": "UploadFailure"}

_VERSION_IN_NAME = re.compile(r"\d+(?:\.\d+)+(?:-[0-9A-Za-z]+)?")
_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----"
)
_UNSAFE_FILE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class MaintenanceFailure(Exception):
    """A step failed; the message becomes the `reason` of the failure status."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def location_problem(
    location: str, allowed_hosts: frozenset[str] = DEFAULT_ALLOWED_HOSTS
) -> str | None:
    """Why this lab will not fetch from or upload to `location`, or None if it may."""
    try:
        parts = urlsplit(location)
        host = parts.hostname
    except ValueError as exc:
        return f"malformed location {location!r}: {exc}"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        scheme = parts.scheme or "(none)"
        return f"scheme {scheme!r} is not supported; use http:// or https://"
    if host is None or host not in allowed_hosts:
        hosts = ", ".join(sorted(allowed_hosts))
        return f"host {host!r} is not reachable from the lab (allowed: {hosts})"
    return None


def certificate_problem(signing_certificate: str | None) -> str | None:
    """Why `signing_certificate` is not a PEM X.509 certificate (chain), or None if it is.

    Checks the PEM armour, the base64 and the outer DER structure (a certificate SEQUENCE that
    starts with the tbsCertificate SEQUENCE). The signature itself is not verified
    cryptographically: the lab has no firmware signing key infrastructure to verify against."""
    if not signing_certificate or not signing_certificate.strip():
        return "no signing certificate"
    blocks = list(_PEM_CERTIFICATE.finditer(signing_certificate))
    if not blocks:
        return "signing certificate is not PEM (no BEGIN/END CERTIFICATE block)"
    for index, block in enumerate(blocks, start=1):
        compact = "".join(block.group("body").split())
        try:
            der = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            return f"certificate {index}: invalid base64"
        if not _is_der_certificate(der):
            return f"certificate {index}: not a DER-encoded X.509 certificate"
    return None


def _is_der_certificate(der: bytes) -> bool:
    if len(der) < 4 or der[0] != 0x30:
        return False
    length_byte = der[1]
    if length_byte < 0x80:
        header, length = 2, length_byte
    else:
        count = length_byte & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            return False
        header, length = 2 + count, int.from_bytes(der[2 : 2 + count], "big")
    return header + length == len(der) and header < len(der) and der[header] == 0x30


def firmware_version_from(location: str, content: bytes) -> str:
    """The version a station reports after installing this image: the dotted version in the
    file name if there is one (fw-1.5.0.bin -> 1.5.0), else the file's stem plus a short hash
    of its content, so two different images never report the same version."""
    digest = hashlib.sha256(content).hexdigest()
    file_name = unquote(urlsplit(location).path.rsplit("/", 1)[-1])
    match = _VERSION_IN_NAME.search(file_name)
    if match:
        version = match.group(0)
    elif file_name:
        stem = file_name.split(".", 1)[0] or "firmware"
        version = f"{stem}-{digest[:8]}"
    else:
        version = digest[:12]
    return version[:FIRMWARE_VERSION_MAX_LENGTH]


class _OneAtATime:
    """Runs one job at a time; a new job cancels the running one. Each job runs in its own
    task so that replacing it does not cancel the task of whoever awaited it."""

    def __init__(self, clock: Clock, notify: Notify) -> None:
        self.clock = clock
        self._notify = notify
        self._task: asyncio.Task[Any] | None = None
        self._status = "Idle"
        # Did the latest run cancel an earlier one? (2.0.1 answers AcceptedCanceled.)
        self.replaced_previous = False

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def status(self) -> str:
        """The last status of the running job, or Idle (what TriggerMessage reports)."""
        return self._status if self.busy else "Idle"

    async def cancel(self) -> None:
        """Stop the running job, if any, and wait until it has stopped."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})

    async def _run_alone(
        self, start_job: Callable[[], Coroutine[Any, Any, ResultT]]
    ) -> ResultT | None:
        previous = self._task
        self.replaced_previous = previous is not None and not previous.done()
        if previous is not None:
            previous.cancel()
        task = asyncio.create_task(self._after(previous, start_job))
        self._task = task
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our caller was cancelled: awaiting the job already cancelled it
            return None  # a newer request replaced this one

    async def _after(
        self,
        previous: asyncio.Task[Any] | None,
        start_job: Callable[[], Coroutine[Any, Any, ResultT]],
    ) -> ResultT:
        # The replaced job must be gone before this one reports, or statuses would interleave.
        if previous is not None and not previous.done():
            await asyncio.wait({previous})
        return await start_job()

    async def _emit(self, event: str, fields: dict[str, Any]) -> None:
        self._status = fields["status"]
        try:
            await self._notify(event, fields)
        except Exception:  # a lost status frame must not abort the flow itself
            log.warning("%s %s notification failed", event, fields["status"], exc_info=True)


class FirmwareUpdater(_OneAtATime):
    def __init__(
        self,
        *,
        clock: Clock,
        notify: Notify,
        on_installed: Callable[[], Awaitable[None]],
        current_version: str,
        allowed_hosts: frozenset[str] = DEFAULT_ALLOWED_HOSTS,
        max_bytes: int = MAX_FIRMWARE_BYTES,
        download_seconds: float = 5.0,
        verify_seconds: float = 2.0,
        install_seconds: float = 10.0,
    ) -> None:
        super().__init__(clock, notify)
        self._on_installed = on_installed
        self.current_version = current_version
        self.allowed_hosts = allowed_hosts
        self.max_bytes = max_bytes
        self.download_seconds = download_seconds
        self.verify_seconds = verify_seconds
        self.install_seconds = install_seconds

    async def run(
        self,
        location: str,
        retrieve_at: float,
        *,
        retries: int,
        retry_interval: float,
        request_id: int | None = None,
        signature: str | None = None,
        signing_certificate: str | None = None,
    ) -> None:
        """Download, verify (signed updates), install, then call `on_installed`. `retrieve_at`
        is simulated POSIX time; `retries` counts attempts after the first one; a failed
        attempt waits `retry_interval` simulated seconds before the next."""

        async def job() -> None:
            await self._update(
                location,
                retrieve_at,
                retries=max(0, retries),
                retry_interval=max(0.0, retry_interval),
                request_id=request_id,
                signature=signature,
                signing_certificate=signing_certificate,
            )

        await self._run_alone(job)

    async def _update(
        self,
        location: str,
        retrieve_at: float,
        *,
        retries: int,
        retry_interval: float,
        request_id: int | None,
        signature: str | None,
        signing_certificate: str | None,
    ) -> None:
        signed = signature is not None or signing_certificate is not None

        async def report(status: str, reason: str | None = None) -> None:
            fields: dict[str, Any] = {"status": status, "request_id": request_id, "signed": signed}
            if reason is not None:
                fields["reason"] = reason
            await self._emit("firmware", fields)

        problem = location_problem(location, self.allowed_hosts)
        if problem is not None:
            await report("DownloadFailed", problem)
            return
        await self.clock.sleep(retrieve_at - self.clock.now())
        await report("Downloading")
        try:
            content = await self._download_with_retries(location, retries, retry_interval)
        except MaintenanceFailure as failure:
            await report("DownloadFailed", failure.reason)
            return
        await self.clock.sleep(self.download_seconds)
        await report("Downloaded")
        if signed:
            await self.clock.sleep(self.verify_seconds)
            reason = _signature_problem(signature, signing_certificate)
            if reason is not None:
                await report("InvalidSignature", reason)
                return
            await report("SignatureVerified")
        await report("Installing")
        await self.clock.sleep(self.install_seconds)
        # Set before reporting Installed so the reboot's BootNotification carries it.
        self.current_version = firmware_version_from(location, content)
        await report("Installed")
        try:
            await self._on_installed()
        except Exception:  # the image is installed; a failed reboot is the runner's concern
            log.exception("reboot after firmware %s failed", self.current_version)

    async def _download_with_retries(
        self, location: str, retries: int, retry_interval: float
    ) -> bytes:
        attempt = 0
        while True:
            try:
                return await self._download(location)
            except MaintenanceFailure as failure:
                if not failure.retryable or attempt >= retries:
                    raise
                log.info("firmware download attempt %d failed: %s", attempt + 1, failure.reason)
            attempt += 1
            await self.clock.sleep(retry_interval)

    async def _download(self, location: str) -> bytes:
        try:
            async with (
                httpx.AsyncClient(
                    timeout=HTTP_TIMEOUT_SECONDS,
                    follow_redirects=False,  # a redirect could leave the allowed hosts
                    trust_env=False,  # a proxy from the environment cannot reach 127.0.0.1
                ) as client,
                client.stream("GET", location) as response,
            ):
                if response.status_code != 200:
                    raise MaintenanceFailure(
                        f"GET {location} answered HTTP {response.status_code}", retryable=True
                    )
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                    raise MaintenanceFailure(
                        f"firmware of {declared} bytes exceeds {self.max_bytes}", retryable=False
                    )
                chunks: list[bytes] = []
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise MaintenanceFailure(
                            f"firmware exceeds {self.max_bytes} bytes", retryable=False
                        )
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise MaintenanceFailure(
                f"GET {location} failed: {type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if received == 0:
            raise MaintenanceFailure(f"GET {location} returned an empty file", retryable=True)
        return b"".join(chunks)


def _signature_problem(signature: str | None, signing_certificate: str | None) -> str | None:
    if signature is None or not signature.strip():
        return "no firmware signature"
    return certificate_problem(signing_certificate)


class DiagnosticsUploader(_OneAtATime):
    """Builds a text log file from the station's recent lines and uploads it with an HTTP POST
    of multipart/form-data, the file in the form field `file` (what web upload endpoints
    expect). A 2xx answer means Uploaded."""

    def __init__(
        self,
        *,
        clock: Clock,
        notify: Notify,
        identity: str,
        allowed_hosts: frozenset[str] = DEFAULT_ALLOWED_HOSTS,
        collect_seconds: float = 2.0,
        upload_seconds: float = 3.0,
    ) -> None:
        super().__init__(clock, notify)
        self.identity = identity
        self.allowed_hosts = allowed_hosts
        self.collect_seconds = collect_seconds
        self.upload_seconds = upload_seconds

    def new_file_name(self, kind: UploadKind) -> str:
        """A file name for the next upload: 1.6 GetDiagnostics answers it before the upload
        starts, so the adapter takes it here and passes it to `run`."""
        stamp = format_timestamp(self.clock.now()).replace("-", "").replace(":", "")
        stamp = stamp.split(".", 1)[0] + "Z"
        identity = _UNSAFE_FILE_NAME_CHARACTERS.sub("_", self.identity) or "station"
        return f"{identity}-{kind}-{stamp}.log"

    async def run(
        self,
        location: str,
        *,
        request_id: int | None,
        start_time: float | None,
        stop_time: float | None,
        log_lines: LineSource,
        kind: UploadKind,
        file_name: str | None = None,
        retries: int = 0,
        retry_interval: float = 0.0,
    ) -> str | None:
        """Upload the log; returns its file name, or None when cancelled or replaced. Lines
        that start with an ISO-8601 timestamp outside [start_time, stop_time] (simulated
        POSIX seconds) are left out; lines without one are kept."""
        name = file_name or self.new_file_name(kind)

        async def job() -> str:
            await self._upload(
                location,
                name,
                request_id=request_id,
                start_time=start_time,
                stop_time=stop_time,
                log_lines=log_lines,
                kind=kind,
                retries=max(0, retries),
                retry_interval=max(0.0, retry_interval),
            )
            return name

        return await self._run_alone(job)

    async def _upload(
        self,
        location: str,
        file_name: str,
        *,
        request_id: int | None,
        start_time: float | None,
        stop_time: float | None,
        log_lines: LineSource,
        kind: UploadKind,
        retries: int,
        retry_interval: float,
    ) -> None:
        async def report(status: str, reason: str | None = None) -> None:
            fields: dict[str, Any] = {
                "status": status,
                "request_id": request_id,
                "file_name": file_name,
            }
            if reason is not None:
                fields["reason"] = reason
            await self._emit(kind, fields)

        problem = location_problem(location, self.allowed_hosts)
        if problem is not None:
            await report("UploadFailed", problem)
            return
        await report("Uploading")
        try:
            lines = log_lines()
            lines = list(await lines if inspect.isawaitable(lines) else lines)
        except Exception as exc:  # the caller's line source must not escape as an exception
            log.exception("collecting %s lines failed", kind)
            await report("UploadFailed", f"collecting the log failed: {exc}")
            return
        content = self._build_file(kind, request_id, start_time, stop_time, lines)
        await self.clock.sleep(self.collect_seconds)
        attempt = 0
        while True:
            try:
                await self._post(location, file_name, content)
                break
            except MaintenanceFailure as failure:
                if attempt >= retries:
                    await report("UploadFailed", failure.reason)
                    return
                log.info("%s upload attempt %d failed: %s", kind, attempt + 1, failure.reason)
            attempt += 1
            await self.clock.sleep(retry_interval)
        await self.clock.sleep(self.upload_seconds)
        await report("Uploaded")

    def _build_file(
        self,
        kind: UploadKind,
        request_id: int | None,
        start_time: float | None,
        stop_time: float | None,
        lines: list[str],
    ) -> bytes:
        kept = [line for line in lines if _within(line, start_time, stop_time)]
        window_start = format_timestamp(start_time) if start_time is not None else "-"
        window_stop = format_timestamp(stop_time) if stop_time is not None else "-"
        header = [
            f"# voltlab {kind} log",
            f"# station: {self.identity}",
            f"# request_id: {request_id if request_id is not None else '-'}",
            f"# generated: {format_timestamp(self.clock.now())}",
            f"# window: {window_start} .. {window_stop}",
            f"# lines: {len(kept)}",
        ]
        return ("\n".join([*header, *kept]) + "\n").encode("utf-8")

    async def _post(self, location: str, file_name: str, content: bytes) -> None:
        try:
            async with httpx.AsyncClient(
                timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False, trust_env=False
            ) as client:
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


def _within(line: str, start_time: float | None, stop_time: float | None) -> bool:
    if start_time is None and stop_time is None:
        return True
    first_word = line.split(maxsplit=1)[0] if line.strip() else ""
    try:
        moment = parse_timestamp(first_word)
    except ValueError:
        return True  # no timestamp to judge by: keep the line
    if start_time is not None and moment < start_time:
        return False
    return stop_time is None or moment <= stop_time
