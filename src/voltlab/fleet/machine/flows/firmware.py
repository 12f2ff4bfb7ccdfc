"""Firmware updates: UpdateFirmware (1.6 plain and signed, 2.x), one at a time.

Steps: wait for the retrieve date, download (the driver's `Download`, retried after
`retry_interval` while attempts are left), Downloaded after the simulated download time,
verification of a signed update, install, then the new version, FirmwareUpdated and a reboot.
Statuses go to the CSMS as `FirmwareStatusReport`s. A location this lab may not reach fails
at once with a single DownloadFailed. A new request replaces the running one (AcceptedCanceled);
the replaced job's timer and transfer are cancelled, and an outcome that still arrives for it
is ignored, because every job has its own name (`firmware:<n>`), used for both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    CancelTransfer,
    Download,
    Effect,
    Persist,
    Reboot,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import TransferFailed
from voltlab.fleet.machine.flows.maintenance_rules import (
    MaintenancePacing,
    certificate_problem,
    firmware_version_from,
    location_problem,
    signature_problem,
)
from voltlab.fleet.machine.maintenance_messages import (
    FirmwareStatus,
    FirmwareStatusReport,
    SecurityEventReport,
    UpdateFirmware,
    UpdateFirmwareAnswer,
    UpdateFirmwareStatus,
)
from voltlab.fleet.station import Station

TIMER_PREFIX = "firmware:"

# What the job's timer or transfer is waiting for.
Phase = Literal["retrieve", "download", "retry", "downloaded", "verify", "install"]


@dataclass
class FirmwareJob:
    name: str
    request: UpdateFirmware
    phase: Phase
    attempt: int = 0  # attempts failed so far
    version: str = ""  # of the downloaded image
    status: str = "Idle"  # the last status reported


class FirmwareFlow:
    def __init__(self, pacing: MaintenancePacing) -> None:
        self.pacing = pacing
        self.job: FirmwareJob | None = None
        self._jobs = 0

    @staticmethod
    def owns(name: str) -> bool:
        return name.startswith(TIMER_PREFIX)

    @property
    def status(self) -> str:
        """The running job's last status, or Idle (what TriggerMessage reports)."""
        return self.job.status if self.job is not None else "Idle"

    def update_firmware(self, request: UpdateFirmware, now: float) -> list[Effect]:
        if request.signed and certificate_problem(request.signing_certificate) is not None:
            return [Answer(UpdateFirmwareAnswer("InvalidCertificate"))]
        before: list[Effect] = []
        after: list[Effect] = []
        replaced = self.job
        if replaced is not None:
            before.append(CancelTimer(replaced.name))
            after.append(CancelTransfer(replaced.name))
        self._jobs += 1
        job = FirmwareJob(f"{TIMER_PREFIX}{self._jobs}", request, "retrieve")
        self.job = job
        problem = location_problem(request.location, self.pacing.allowed_hosts)
        if problem is not None:
            after.append(self._end(job, "DownloadFailed", problem))
        else:
            before.append(SetTimer(job.name, request.retrieve_at))
        status: UpdateFirmwareStatus = "AcceptedCanceled" if replaced is not None else "Accepted"
        return [*before, Answer(UpdateFirmwareAnswer(status)), *after]

    def timer_fired(self, station: Station, name: str, now: float) -> list[Effect]:
        job = self.job
        if job is None or job.name != name:
            return []  # a replaced job's timer
        request = job.request
        if job.phase == "retrieve":
            return [self._report(job, "Downloading"), self._download(job)]
        if job.phase == "retry":
            return [self._download(job)]
        if job.phase == "downloaded":
            report = self._report(job, "Downloaded")
            if request.signed:
                return [report, self._wait(job, "verify", now + self.pacing.verify_seconds)]
            return [report, *self._install(job, now)]
        if job.phase == "verify":
            problem = signature_problem(request.signature, request.signing_certificate)
            if problem is not None:
                return [self._end(job, "InvalidSignature", problem)]
            return [self._report(job, "SignatureVerified"), *self._install(job, now)]
        if job.phase == "install":
            # Stored before Installed is reported, so the reboot's BootNotification carries it.
            station.firmware_version = job.version
            return [
                Persist(),
                self._end(job, "Installed"),
                SendCall(SecurityEventReport("FirmwareUpdated", now)),
                Reboot(),
            ]
        return []  # "download": the transfer's outcome moves the job on, not a timer

    def downloaded(self, name: str, content: bytes, now: float) -> list[Effect]:
        job = self.job
        if job is None or job.name != name or job.phase != "download":
            return []
        job.version = firmware_version_from(job.request.location, content)
        return [self._wait(job, "downloaded", now + self.pacing.download_seconds)]

    def transfer_failed(self, failure: TransferFailed, now: float) -> list[Effect]:
        job = self.job
        if job is None or job.name != failure.name or job.phase != "download":
            return []
        if failure.retryable and job.attempt < max(0, job.request.retries):
            job.attempt += 1
            return [self._wait(job, "retry", now + max(0.0, job.request.retry_interval))]
        return [self._end(job, "DownloadFailed", failure.reason)]

    def _download(self, job: FirmwareJob) -> Download:
        job.phase = "download"
        return Download(job.name, job.request.location, self.pacing.max_firmware_bytes)

    def _install(self, job: FirmwareJob, now: float) -> list[Effect]:
        report = self._report(job, "Installing")
        return [report, self._wait(job, "install", now + self.pacing.install_seconds)]

    @staticmethod
    def _wait(job: FirmwareJob, phase: Phase, at: float) -> SetTimer:
        job.phase = phase
        return SetTimer(job.name, at)

    @staticmethod
    def _report(job: FirmwareJob, status: FirmwareStatus, reason: str | None = None) -> SendCall:
        job.status = status
        request = job.request
        return SendCall(FirmwareStatusReport(status, request.request_id, request.signed, reason))

    def _end(self, job: FirmwareJob, status: FirmwareStatus, reason: str | None = None) -> SendCall:
        self.job = None
        return self._report(job, status, reason)
