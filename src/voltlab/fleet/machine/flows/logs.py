"""Diagnostics and log uploads: 1.6 GetDiagnostics, 1.6 GetLog and 2.x GetLog, one at a time.

Steps: Uploading, read the station's recent frames (the driver's `ReadFrameLog`), build a
text file of the lines inside the requested window, upload it after the simulated collect
time (the driver's `Upload`, retried after `retry_interval` while attempts are left), and
report Uploaded after the simulated upload time. A location this lab may not reach fails at
once with a single UploadFailed. One job at a time (`jobs`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from voltlab.fleet.machine.effects import Answer, Effect, ReadFrameLog, SendCall, Upload
from voltlab.fleet.machine.events import TransferFailed
from voltlab.fleet.machine.flows.jobs import Job, OneJobAtATime
from voltlab.fleet.machine.flows.maintenance_rules import (
    RECENT_LINES,
    MaintenancePacing,
    location_problem,
)
from voltlab.fleet.machine.maintenance_messages import (
    GetLog,
    GetLogAnswer,
    LogKind,
    LogStatusReport,
    UploadStatus,
)
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

TIMER_PREFIX = "log:"
_UNSAFE_FILE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
# Phases: read (the frame log is read), collect, upload (the transfer runs), retry, uploaded.


@dataclass(kw_only=True)
class LogJob(Job):
    request: GetLog
    file_name: str
    content: bytes = b""


class LogFlow(OneJobAtATime[LogJob]):
    def __init__(self, identity: str, pacing: MaintenancePacing) -> None:
        super().__init__(TIMER_PREFIX)
        self.identity = identity
        self.pacing = pacing

    def get_log(self, request: GetLog, now: float) -> list[Effect]:
        start = self.replace()
        # 1.6 GetDiagnostics answers the file name before the upload starts.
        file_name = upload_file_name(self.identity, request.kind, now)
        job = LogJob(
            start.name,
            "read",
            request.retries,
            request.retry_interval,
            request=request,
            file_name=file_name,
        )
        self.job = job
        problem = location_problem(request.location, self.pacing.allowed_hosts)
        if problem is not None:
            start.after.append(self._end(job, "UploadFailed", problem))
        else:
            start.after += [self._report(job, "Uploading"), ReadFrameLog(job.name, RECENT_LINES)]
        return [*start.before, Answer(GetLogAnswer(start.status, file_name)), *start.after]

    def status_of(self, kind: LogKind) -> UploadStatus:
        """What TriggerMessage reports for uploads of `kind`: the running upload's last
        status when it is of that kind, else Idle."""
        job = self.job
        if job is None or job.request.kind != kind:
            return "Idle"
        return cast(UploadStatus, job.status)  # only `_report` sets it, with an UploadStatus

    def request_id_of(self, kind: LogKind) -> int | None:
        """The running upload's requestId when it is of `kind`, which a triggered report
        carries (2.0.1 LogStatusNotificationRequest: mandatory unless triggered and idle)."""
        job = self.job
        return job.request.request_id if job is not None and job.request.kind == kind else None

    def frame_log_read(self, name: str, lines: tuple[str, ...], now: float) -> list[Effect]:
        job = self.current(name, "read")
        if job is None:
            return []
        job.content = self._build_file(job, lines, now)
        return [self.wait(job, "collect", now + self.pacing.collect_seconds)]

    def timer_fired(self, name: str, now: float) -> list[Effect]:
        job = self.current(name)
        if job is None:
            return []
        if job.phase in ("collect", "retry"):
            job.phase = "upload"
            return [Upload(job.name, job.request.location, job.file_name, job.content)]
        if job.phase == "uploaded":
            return [self._end(job, "Uploaded")]
        return []  # "read", "upload": the transfer's outcome moves the job on

    def uploaded(self, name: str, now: float) -> list[Effect]:
        job = self.current(name, "upload")
        if job is None:
            return []
        return [self.wait(job, "uploaded", now + self.pacing.upload_seconds)]

    def transfer_failed(self, failure: TransferFailed, now: float) -> list[Effect]:
        job = self.current(failure.name, "read", "upload")
        if job is None:
            return []
        if job.phase == "read":
            return [self._end(job, "UploadFailed", f"collecting the log failed: {failure.reason}")]
        retry = self.retry(job, failure, now, "retry")
        return [retry] if retry is not None else [self._end(job, "UploadFailed", failure.reason)]

    def _build_file(self, job: LogJob, lines: tuple[str, ...], now: float) -> bytes:
        request = job.request
        start, stop = request.start_time, request.stop_time
        kept = [line for line in lines if _within(line, start, stop)]
        header = [
            f"# voltlab {request.kind} log",
            f"# station: {self.identity}",
            f"# request_id: {request.request_id if request.request_id is not None else '-'}",
            f"# generated: {format_timestamp(now)}",
            f"# window: {_stamp(start)} .. {_stamp(stop)}",
            f"# lines: {len(kept)}",
        ]
        return ("\n".join([*header, *kept]) + "\n").encode("utf-8")

    @staticmethod
    def _report(job: LogJob, status: UploadStatus, reason: str | None = None) -> SendCall:
        job.status = status
        request = job.request
        return SendCall(
            LogStatusReport(request.kind, status, request.request_id, job.file_name, reason)
        )

    def _end(self, job: LogJob, status: UploadStatus, reason: str | None = None) -> SendCall:
        return self._report(self.finish(job), status, reason)


def upload_file_name(identity: str, kind: LogKind, now: float) -> str:
    stamp = format_timestamp(now).replace("-", "").replace(":", "")
    stamp = stamp.split(".", 1)[0] + "Z"
    safe_identity = _UNSAFE_FILE_NAME_CHARACTERS.sub("_", identity) or "station"
    return f"{safe_identity}-{kind}-{stamp}.log"


def _stamp(moment: float | None) -> str:
    return format_timestamp(moment) if moment is not None else "-"


def _within(line: str, start_time: float | None, stop_time: float | None) -> bool:
    """Lines stamped outside the window are left out; lines without a stamp are kept."""
    if start_time is None and stop_time is None:
        return True
    first_word = line.split(maxsplit=1)[0] if line.strip() else ""
    try:
        moment = parse_timestamp(first_word)
    except ValueError:
        return True
    if start_time is not None and moment < start_time:
        return False
    return stop_time is None or moment <= stop_time
