"""Neutral maintenance messages of the station machine: firmware updates, diagnostics and log
uploads, and the status reports that follow them, whatever the OCPP version.

1.6 UpdateFirmware, 1.6 SignedUpdateFirmware and 2.x UpdateFirmware decode to one
`UpdateFirmware`; 1.6 GetDiagnostics, 1.6 GetLog and 2.x GetLog to one `GetLog` (its `kind`
says which status message reports it). Times are POSIX seconds on the station's clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UpdateFirmwareStatus = Literal["Accepted", "AcceptedCanceled", "InvalidCertificate"]
# Idle: no update is running (what TriggerMessage reports then).
FirmwareStatus = Literal[
    "Idle",
    "Downloading",
    "Downloaded",
    "DownloadFailed",
    "SignatureVerified",
    "InvalidSignature",
    "Installing",
    "Installed",
]
# diagnostics: 1.6 GetDiagnostics (DiagnosticsStatusNotification); log: GetLog, 1.6 security
# extension and 2.x (LogStatusNotification).
LogKind = Literal["diagnostics", "log"]
GetLogStatus = Literal["Accepted", "AcceptedCanceled"]
# LogStatusNotification spells UploadFailed as UploadFailure; the codecs say it. Idle: no
# upload is running (what TriggerMessage reports then).
UploadStatus = Literal["Idle", "Uploading", "Uploaded", "UploadFailed"]


@dataclass(frozen=True)
class UpdateFirmware:
    """Download the image at `location` from `retrieve_at` on, install it and reboot.
    `retries` counts attempts after the first; a failed attempt waits `retry_interval`."""

    location: str
    retrieve_at: float
    retries: int
    retry_interval: float
    request_id: int | None = None
    signature: str | None = None
    signing_certificate: str | None = None

    @property
    def signed(self) -> bool:
        """A signed update is verified before installing (1.6 reports it with
        SignedFirmwareStatusNotification)."""
        return self.signature is not None or self.signing_certificate is not None


@dataclass(frozen=True)
class UpdateFirmwareAnswer:
    status: UpdateFirmwareStatus


@dataclass(frozen=True)
class GetLog:
    """Upload the station's recent frames to `location`; lines stamped outside
    [start_time, stop_time] are left out."""

    kind: LogKind
    location: str
    request_id: int | None
    start_time: float | None
    stop_time: float | None
    retries: int
    retry_interval: float


@dataclass(frozen=True)
class GetLogAnswer:
    status: GetLogStatus
    file_name: str


@dataclass(frozen=True)
class FirmwareStatusReport:
    """A firmware update's progress. `reason` (failures only) explains it for the frame log
    and the tests; no OCPP frame carries it."""

    status: FirmwareStatus
    request_id: int | None
    signed: bool
    reason: str | None = None


@dataclass(frozen=True)
class LogStatusReport:
    """An upload's progress; `reason` as in `FirmwareStatusReport`."""

    kind: LogKind
    status: UploadStatus
    request_id: int | None
    file_name: str
    reason: str | None = None


@dataclass(frozen=True)
class SecurityEventReport:
    """A security event (SecurityEventNotification), `kind` in 1.6 or 2.0.1 spelling."""

    kind: str
    at: float
    tech_info: str | None = None


MaintenanceRequest = UpdateFirmware | GetLog
MaintenanceAnswer = UpdateFirmwareAnswer | GetLogAnswer
# What the maintenance flows send to the CSMS without waiting for the answer.
MaintenanceCall = FirmwareStatusReport | LogStatusReport | SecurityEventReport
