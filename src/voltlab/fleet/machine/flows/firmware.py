"""Firmware updates: UpdateFirmware (1.6 plain and signed, 2.x), one at a time (`jobs`).

Steps: wait for the retrieve date, download (the driver's `Download`, retried after
`retry_interval` while attempts are left), Downloaded after the simulated download time,
verification of a signed update, install, then the new version, FirmwareUpdated and a reboot.
Statuses go to the CSMS as `FirmwareStatusReport`s. A location this lab may not reach fails
at once with a single DownloadFailed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from voltlab.fleet.machine.effects import (
    Answer,
    Download,
    Effect,
    Persist,
    ResetStation,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import TransferFailed
from voltlab.fleet.machine.flows.jobs import Job, OneJobAtATime
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
)
from voltlab.fleet.model.station import Station

TIMER_PREFIX = "firmware:"
# Phases: retrieve, download (the transfer runs), retry, downloaded, verify, install.


@dataclass(kw_only=True)
class FirmwareJob(Job):
    request: UpdateFirmware
    version: str = ""  # of the downloaded image


class FirmwareFlow(OneJobAtATime[FirmwareJob]):
    def __init__(self, pacing: MaintenancePacing) -> None:
        super().__init__(TIMER_PREFIX)
        self.pacing = pacing

    def update_firmware(self, request: UpdateFirmware, now: float) -> list[Effect]:
        if request.signed and certificate_problem(request.signing_certificate) is not None:
            return [Answer(UpdateFirmwareAnswer("InvalidCertificate"))]
        start = self.replace()
        job = FirmwareJob(
            start.name, "retrieve", request.retries, request.retry_interval, request=request
        )
        self.job = job
        problem = location_problem(request.location, self.pacing.allowed_hosts)
        if problem is not None:
            start.after.append(self._end(job, "DownloadFailed", problem))
        else:
            start.before.append(SetTimer(job.name, request.retrieve_at))
        return [*start.before, Answer(UpdateFirmwareAnswer(start.status)), *start.after]

    @property
    def reported_status(self) -> FirmwareStatus:
        """What TriggerMessage reports: the running update's last status, or Idle."""
        return cast(FirmwareStatus, self.status)  # only `_report` sets it

    @property
    def reported_request_id(self) -> int | None:
        """The running update's requestId, which a triggered report carries while an update
        runs (2.0.1 FirmwareStatusNotificationRequest: mandatory unless triggered and idle)."""
        return self.job.request.request_id if self.job is not None else None

    def timer_fired(self, station: Station, name: str, now: float) -> list[Effect]:
        job = self.current(name)
        if job is None:
            return []
        request = job.request
        if job.phase == "retrieve":
            return [self._report(job, "Downloading"), self._download(job)]
        if job.phase == "retry":
            return [self._download(job)]
        if job.phase == "downloaded":
            report = self._report(job, "Downloaded")
            if request.signed:
                return [report, self.wait(job, "verify", now + self.pacing.verify_seconds)]
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
                ResetStation(hard=True, boot_reason="FirmwareUpdate"),
            ]
        return []  # "download": the transfer's outcome moves the job on, not a timer

    def downloaded(self, name: str, content: bytes, now: float) -> list[Effect]:
        job = self.current(name, "download")
        if job is None:
            return []
        job.version = firmware_version_from(job.request.location, content)
        return [self.wait(job, "downloaded", now + self.pacing.download_seconds)]

    def transfer_failed(self, failure: TransferFailed, now: float) -> list[Effect]:
        job = self.current(failure.name, "download")
        if job is None:
            return []
        retry = self.retry(job, failure, now, "retry")
        return [retry] if retry is not None else [self._end(job, "DownloadFailed", failure.reason)]

    def _download(self, job: FirmwareJob) -> Download:
        job.phase = "download"
        return Download(job.name, job.request.location, self.pacing.max_firmware_bytes)

    def _install(self, job: FirmwareJob, now: float) -> list[Effect]:
        report = self._report(job, "Installing")
        return [report, self.wait(job, "install", now + self.pacing.install_seconds)]

    @staticmethod
    def _report(job: FirmwareJob, status: FirmwareStatus, reason: str | None = None) -> SendCall:
        job.status = status
        request = job.request
        return SendCall(FirmwareStatusReport(status, request.request_id, request.signed, reason))

    def _end(self, job: FirmwareJob, status: FirmwareStatus, reason: str | None = None) -> SendCall:
        return self._report(self.finish(job), status, reason)
