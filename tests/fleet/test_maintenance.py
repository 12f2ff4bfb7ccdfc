"""Firmware updates and diagnostics/log uploads against a real HTTP server on 127.0.0.1: the
firmware really downloads, the log really arrives, and the neutral status events come in the
order the OCPP status notifications need."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from voltlab.clock import Clock
from voltlab.fleet.maintenance import (
    DiagnosticsUploader,
    FirmwareUpdater,
    certificate_problem,
    firmware_version_from,
    location_problem,
)
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

FIRMWARE_IMAGE = b"VOLTLAB-FIRMWARE\x00" + bytes(range(256)) * 64

# A self-signed P-256 certificate (openssl req -x509 -newkey ec), as a CSMS would send it.
SIGNING_CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUQLwtLG9RyXne5EXEIQFeva68JRgwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXdm9sdGxhYiBmaXJtd2FyZSBzaWduZXIwHhcNMjYxMTIyMDMy
NTUwWhcNMzYxMTE5MDMyNTUwWjAiMSAwHgYDVQQDDBd2b2x0bGFiIGZpcm13YXJl
IHNpZ25lcjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGjA9/ldzszbyIby52vq
czojuL7x4ba1+QkQVSBJPoJs2Lx8/XNeZTh5pP92djf5NlOr1rQ7TVo+MGeIb2zp
YoCjUzBRMB0GA1UdDgQWBBQvcQpmo5hmnQfBCDWaHwNqwsrzxjAfBgNVHSMEGDAW
gBQvcQpmo5hmnQfBCDWaHwNqwsrzxjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0gAMEUCIQCzINRHemYAsgrPDsYb6tMb/x2BPUJvSDoe294mgXNMZAIgUObB
pl4ndfxYa9r98rrNQNebEaQ5zo0k8KW/wPvHk/g=
-----END CERTIFICATE-----
"""
SIGNATURE = "MEUCIQDx0Vb3c2lnbmF0dXJlLW9mLXRoZS1pbWFnZQIgc2lnbmF0dXJlLXBhcnQtdHdv"

TIME_SCALE = 1000.0  # a 10 s simulated install takes 10 ms


@dataclass
class Upload:
    path: str
    field_name: str | None
    file_name: str | None
    content: bytes


@dataclass
class LabServer:
    """What the test HTTP server saw."""

    base_url: str = ""
    hits: dict[str, int] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> None:
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1


def _handler_for(lab: LabServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a cancelled download): nothing to answer

        def do_GET(self) -> None:
            lab.count(self.path)
            if self.path.startswith("/slow/"):
                time.sleep(1.0)  # long enough to cancel a download while it is under way
                self._answer(200, FIRMWARE_IMAGE)
            elif self.path.startswith("/fw/"):
                self._answer(200, FIRMWARE_IMAGE)
            else:
                self._answer(404, b"not found")

        def do_POST(self) -> None:
            lab.count(self.path)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path != "/upload":
                self._answer(500, b"upload refused")
                return
            header = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
            for part in message.iter_parts():
                with lab.lock:
                    lab.uploads.append(
                        Upload(
                            path=self.path,
                            field_name=part.get_param("name", header="content-disposition"),
                            file_name=part.get_filename(),
                            content=part.get_payload(decode=True),
                        )
                    )
            self._answer(201, b"stored")

    return Handler


@pytest.fixture
def lab() -> Iterator[LabServer]:
    state = LabServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class Recorder:
    """The `notify` callback: every neutral event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, name: str, fields: dict[str, Any]) -> None:
        self.events.append((name, dict(fields)))

    def statuses(self, name: str, request_id: int | None = None) -> list[str]:
        return [
            fields["status"]
            for event, fields in self.events
            if event == name and (request_id is None or fields["request_id"] == request_id)
        ]


@dataclass
class Rig:
    clock: Clock
    recorder: Recorder
    updater: FirmwareUpdater
    reboots: list[str]


@pytest.fixture
def rig() -> Rig:
    clock = Clock(time_scale=TIME_SCALE)
    recorder = Recorder()
    reboots: list[str] = []

    async def reboot() -> None:
        reboots.append(updater.current_version)

    updater = FirmwareUpdater(
        clock=clock, notify=recorder, on_installed=reboot, current_version="1.4.2"
    )
    return Rig(clock, recorder, updater, reboots)


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uploader_for(clock: Clock, recorder: Recorder) -> DiagnosticsUploader:
    return DiagnosticsUploader(clock=clock, notify=recorder, identity="CP-1/lab")


# -- firmware ----------------------------------------------------------------------------------


async def test_unsigned_update_downloads_installs_and_reboots(rig: Rig, lab: LabServer) -> None:
    await rig.updater.run(
        f"{lab.base_url}/fw/ac22-fw-1.5.0.bin",
        rig.clock.now(),
        retries=2,
        retry_interval=30,
        request_id=7,
        signature=None,
        signing_certificate=None,
    )
    assert rig.recorder.statuses("firmware") == [
        "Downloading",
        "Downloaded",
        "Installing",
        "Installed",
    ]
    assert all(
        fields["request_id"] == 7 and fields["signed"] is False for _, fields in rig.recorder.events
    )
    assert lab.hits == {"/fw/ac22-fw-1.5.0.bin": 1}
    assert rig.updater.current_version == "1.5.0"
    assert rig.reboots == ["1.5.0"]  # the new version is known when the runner reboots
    assert not rig.updater.busy and rig.updater.status == "Idle"


async def test_update_waits_for_retrieve_at_and_paces_in_simulated_time(
    rig: Rig, lab: LabServer
) -> None:
    started = rig.clock.now()
    retrieve_at = started + 60
    await rig.updater.run(
        f"{lab.base_url}/fw/image.bin",
        retrieve_at,
        retries=0,
        retry_interval=0,
        request_id=None,
        signature=None,
        signing_certificate=None,
    )
    pacing = rig.updater.download_seconds + rig.updater.install_seconds
    assert rig.clock.now() - started >= 60 + pacing
    # No version in the name: the stem and a content hash, so different images differ.
    assert rig.updater.current_version.startswith("image-")
    assert rig.updater.current_version == firmware_version_from("/image.bin", FIRMWARE_IMAGE)


async def test_signed_update_verifies_the_signature(rig: Rig, lab: LabServer) -> None:
    await rig.updater.run(
        f"{lab.base_url}/fw/fw-2.0.0.bin",
        rig.clock.now(),
        retries=0,
        retry_interval=0,
        request_id=3,
        signature=SIGNATURE,
        signing_certificate=SIGNING_CERTIFICATE,
    )
    assert rig.recorder.statuses("firmware") == [
        "Downloading",
        "Downloaded",
        "SignatureVerified",
        "Installing",
        "Installed",
    ]
    assert all(fields["signed"] is True for _, fields in rig.recorder.events)
    assert rig.updater.current_version == "2.0.0"


@pytest.mark.parametrize(
    ("signature", "certificate", "reason"),
    [
        (None, SIGNING_CERTIFICATE, "no firmware signature"),
        ("", SIGNING_CERTIFICATE, "no firmware signature"),
        (SIGNATURE, None, "no signing certificate"),
        (SIGNATURE, "not a certificate", "not PEM"),
        (
            SIGNATURE,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "not a DER-encoded",
        ),
        (
            SIGNATURE,
            "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----",
            "not PEM",
        ),
    ],
)
async def test_bad_signature_stops_before_installing(
    rig: Rig, lab: LabServer, signature: str | None, certificate: str | None, reason: str
) -> None:
    await rig.updater.run(
        f"{lab.base_url}/fw/fw-2.0.0.bin",
        rig.clock.now(),
        retries=0,
        retry_interval=0,
        request_id=4,
        signature=signature,
        signing_certificate=certificate,
    )
    assert rig.recorder.statuses("firmware") == ["Downloading", "Downloaded", "InvalidSignature"]
    assert reason in rig.recorder.events[-1][1]["reason"]
    assert rig.updater.current_version == "1.4.2"
    assert rig.reboots == []


async def test_missing_firmware_fails_after_the_retries(rig: Rig, lab: LabServer) -> None:
    started = rig.clock.now()
    await rig.updater.run(
        f"{lab.base_url}/missing/fw-9.9.9.bin",
        started,
        retries=2,
        retry_interval=30,
        request_id=8,
        signature=None,
        signing_certificate=None,
    )
    assert rig.recorder.statuses("firmware") == ["Downloading", "DownloadFailed"]
    assert "HTTP 404" in rig.recorder.events[-1][1]["reason"]
    assert lab.hits == {"/missing/fw-9.9.9.bin": 3}  # the first attempt and two retries
    assert rig.clock.now() - started >= 2 * 30
    assert rig.updater.current_version == "1.4.2"
    assert rig.reboots == []


async def test_unreachable_port_fails_without_raising(rig: Rig) -> None:
    await rig.updater.run(
        f"http://127.0.0.1:{closed_port()}/fw/fw-1.0.0.bin",
        rig.clock.now(),
        retries=1,
        retry_interval=5,
        request_id=9,
        signature=None,
        signing_certificate=None,
    )
    assert rig.recorder.statuses("firmware") == ["Downloading", "DownloadFailed"]
    assert "ConnectError" in rig.recorder.events[-1][1]["reason"]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("ftp://127.0.0.1/fw/fw-1.0.0.bin", "scheme 'ftp'"),
        ("sftp://127.0.0.1/fw/fw-1.0.0.bin", "scheme 'sftp'"),
        ("http://example.com/fw/fw-1.0.0.bin", "host 'example.com'"),
        ("fw-1.0.0.bin", "scheme '(none)'"),
    ],
)
async def test_firmware_outside_the_lab_fails_at_once(
    rig: Rig, lab: LabServer, location: str, reason: str
) -> None:
    started = rig.clock.now()
    await rig.updater.run(
        location,
        started + 3600,  # not even waited for: the location can never work
        retries=3,
        retry_interval=60,
        request_id=10,
        signature=None,
        signing_certificate=None,
    )
    assert rig.recorder.statuses("firmware") == ["DownloadFailed"]
    assert reason in rig.recorder.events[0][1]["reason"]
    assert rig.clock.now() - started < 600
    assert lab.hits == {}


async def test_oversized_firmware_fails_without_retrying(lab: LabServer) -> None:
    clock = Clock(time_scale=TIME_SCALE)
    recorder = Recorder()

    async def reboot() -> None:
        raise AssertionError("must not reboot")

    updater = FirmwareUpdater(
        clock=clock, notify=recorder, on_installed=reboot, current_version="1", max_bytes=1024
    )
    await updater.run(
        f"{lab.base_url}/fw/big-1.1.bin",
        clock.now(),
        retries=3,
        retry_interval=1,
        request_id=None,
        signature=None,
        signing_certificate=None,
    )
    assert recorder.statuses("firmware") == ["Downloading", "DownloadFailed"]
    assert "exceeds 1024" in recorder.events[-1][1]["reason"]
    assert lab.hits == {"/fw/big-1.1.bin": 1}


async def test_second_request_cancels_the_first(rig: Rig, lab: LabServer) -> None:
    first = asyncio.create_task(
        rig.updater.run(
            f"{lab.base_url}/slow/fw-1.8.0.bin",
            rig.clock.now(),
            retries=0,
            retry_interval=0,
            request_id=1,
            signature=None,
            signing_certificate=None,
        )
    )
    while rig.recorder.statuses("firmware", 1) != ["Downloading"]:
        await asyncio.sleep(0.01)
    assert rig.updater.busy and rig.updater.status == "Downloading"
    await rig.updater.run(
        f"{lab.base_url}/fw/fw-1.9.0.bin",
        rig.clock.now(),
        retries=0,
        retry_interval=0,
        request_id=2,
        signature=None,
        signing_certificate=None,
    )
    assert rig.updater.replaced_previous  # 2.0.1 answers AcceptedCanceled
    assert await first is None  # the replaced run returns quietly to its caller
    assert rig.recorder.statuses("firmware", 1) == ["Downloading"]
    assert rig.recorder.statuses("firmware", 2) == [
        "Downloading",
        "Downloaded",
        "Installing",
        "Installed",
    ]
    assert rig.updater.current_version == "1.9.0"
    assert rig.reboots == ["1.9.0"]


async def test_cancelling_the_caller_leaves_no_background_work(rig: Rig, lab: LabServer) -> None:
    task = asyncio.create_task(
        rig.updater.run(
            f"{lab.base_url}/slow/fw-3.0.0.bin",
            rig.clock.now(),
            retries=0,
            retry_interval=0,
            request_id=5,
            signature=None,
            signing_certificate=None,
        )
    )
    while not rig.recorder.events:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not rig.updater.busy
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await asyncio.sleep(1.2)  # past the slow server's answer: nothing more happens
    assert rig.recorder.statuses("firmware") == ["Downloading"]
    assert rig.reboots == []
    assert rig.updater.current_version == "1.4.2"


async def test_notify_and_reboot_failures_do_not_escape(lab: LabServer) -> None:
    clock = Clock(time_scale=TIME_SCALE)
    seen: list[str] = []

    async def flaky_notify(name: str, fields: dict[str, Any]) -> None:
        seen.append(fields["status"])
        raise ConnectionError("link down")

    async def failing_reboot() -> None:
        raise RuntimeError("reboot failed")

    updater = FirmwareUpdater(
        clock=clock, notify=flaky_notify, on_installed=failing_reboot, current_version="1"
    )
    await updater.run(
        f"{lab.base_url}/fw/fw-4.0.bin",
        clock.now(),
        retries=0,
        retry_interval=0,
        request_id=None,
        signature=None,
        signing_certificate=None,
    )
    assert seen == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert updater.current_version == "4.0"


# -- diagnostics and logs ----------------------------------------------------------------------


async def test_diagnostics_upload_really_arrives(lab: LabServer) -> None:
    clock = Clock(time_scale=TIME_SCALE)
    recorder = Recorder()
    uploader = uploader_for(clock, recorder)
    lines = [
        '>> [2,"1","BootNotification",{"chargePointVendor":"voltlab"}]',
        '<< [3,"1",{"status":"Accepted","interval":300}]',
        "ünïcode survives",
    ]
    file_name = await uploader.run(
        f"{lab.base_url}/upload",
        request_id=None,
        start_time=None,
        stop_time=None,
        log_lines=lambda: lines,
        kind="diagnostics",
    )
    assert file_name is not None
    assert file_name.startswith("CP-1_lab-diagnostics-") and file_name.endswith(".log")
    assert recorder.statuses("diagnostics") == ["Uploading", "Uploaded"]
    assert all(fields["file_name"] == file_name for _, fields in recorder.events)
    [upload] = lab.uploads
    assert upload.field_name == "file" and upload.file_name == file_name
    text = upload.content.decode("utf-8")
    assert "# station: CP-1/lab" in text
    for line in lines:
        assert line in text.splitlines()
    assert not uploader.busy and uploader.status == "Idle"


async def test_log_upload_keeps_the_requested_window(lab: LabServer) -> None:
    clock = Clock(time_scale=TIME_SCALE)
    recorder = Recorder()
    uploader = uploader_for(clock, recorder)
    now = clock.now()
    early = f"{format_timestamp(now - 7200)} >> too early"
    inside = f"{format_timestamp(now - 600)} >> inside the window"
    late = f"{format_timestamp(now + 7200)} >> too late"
    undated = "no timestamp: kept"
    chosen_name = uploader.new_file_name("log")
    file_name = await uploader.run(
        f"{lab.base_url}/upload",
        request_id=42,
        start_time=now - 3600,
        stop_time=now,
        log_lines=lambda: [early, inside, late, undated],
        kind="log",
        file_name=chosen_name,
    )
    assert file_name == chosen_name  # 1.6 GetDiagnostics answered it before the upload
    assert recorder.statuses("log", 42) == ["Uploading", "Uploaded"]
    lines = lab.uploads[0].content.decode().splitlines()
    assert inside in lines and undated in lines
    assert early not in lines and late not in lines
    assert "# request_id: 42" in lines and "# lines: 2" in lines


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("ftp://127.0.0.1/upload", "scheme 'ftp'"),
        ("sftp://user@127.0.0.1/upload", "scheme 'sftp'"),
        ("https://example.com/upload", "host 'example.com'"),
    ],
)
async def test_upload_outside_the_lab_fails_cleanly(
    lab: LabServer, location: str, reason: str
) -> None:
    clock = Clock(time_scale=TIME_SCALE)
    recorder = Recorder()
    uploader = uploader_for(clock, recorder)
    file_name = await uploader.run(
        location,
        request_id=11,
        start_time=None,
        stop_time=None,
        log_lines=lambda: ["line"],
        kind="diagnostics",
    )
    assert file_name is not None
    assert recorder.statuses("diagnostics") == ["UploadFailed"]
    assert reason in recorder.events[0][1]["reason"]
    assert lab.hits == {} and lab.uploads == []


async def test_refused_upload_fails_after_the_retries(lab: LabServer) -> None:
    clock = Clock(time_scale=TIME_SCALE)
    recorder = Recorder()
    uploader = uploader_for(clock, recorder)
    await uploader.run(
        f"{lab.base_url}/refuse",
        request_id=12,
        start_time=None,
        stop_time=None,
        log_lines=lambda: ["line"],
        kind="log",
        retries=1,
        retry_interval=10,
    )
    assert recorder.statuses("log") == ["Uploading", "UploadFailed"]
    assert "HTTP 500" in recorder.events[-1][1]["reason"]
    assert lab.hits == {"/refuse": 2}


async def test_failing_line_source_becomes_upload_failed(lab: LabServer) -> None:
    clock = Clock(time_scale=TIME_SCALE)
    recorder = Recorder()
    uploader = uploader_for(clock, recorder)

    def broken_lines() -> list[str]:
        raise RuntimeError("frame log unavailable")

    await uploader.run(
        f"{lab.base_url}/upload",
        request_id=None,
        start_time=None,
        stop_time=None,
        log_lines=broken_lines,
        kind="diagnostics",
    )
    assert recorder.statuses("diagnostics") == ["Uploading", "UploadFailed"]
    assert "frame log unavailable" in recorder.events[-1][1]["reason"]
    assert lab.uploads == []


async def test_second_log_request_cancels_the_first(lab: LabServer) -> None:
    clock = Clock(time_scale=1.0)  # real pacing: the first upload is still collecting
    recorder = Recorder()
    uploader = DiagnosticsUploader(
        clock=clock, notify=recorder, identity="CP-1", collect_seconds=30, upload_seconds=0
    )
    first = asyncio.create_task(
        uploader.run(
            f"{lab.base_url}/upload",
            request_id=1,
            start_time=None,
            stop_time=None,
            log_lines=lambda: ["first"],
            kind="log",
        )
    )
    while recorder.statuses("log", 1) != ["Uploading"]:
        await asyncio.sleep(0.01)
    uploader.collect_seconds = 0
    second = await uploader.run(
        f"{lab.base_url}/upload",
        request_id=2,
        start_time=None,
        stop_time=None,
        log_lines=lambda: ["second"],
        kind="log",
    )
    assert uploader.replaced_previous
    assert await first is None
    assert second is not None
    assert recorder.statuses("log", 1) == ["Uploading"]
    assert recorder.statuses("log", 2) == ["Uploading", "Uploaded"]
    [upload] = lab.uploads
    assert "second" in upload.content.decode().splitlines()


# -- helpers -------------------------------------------------------------------------------------


def test_location_policy() -> None:
    assert location_problem("http://127.0.0.1:8080/fw.bin") is None
    assert location_problem("https://127.0.0.1/fw.bin") is None
    assert "scheme" in (location_problem("file:///etc/passwd") or "")
    assert "host" in (location_problem("http://localhost/fw.bin") or "")
    assert "host" in (location_problem("http://127.0.0.1.example.com/fw.bin") or "")


def test_certificate_check_accepts_a_chain() -> None:
    assert certificate_problem(SIGNING_CERTIFICATE) is None
    assert certificate_problem(SIGNING_CERTIFICATE + SIGNING_CERTIFICATE) is None
    truncated = SIGNING_CERTIFICATE.replace("pl4ndfxYa9r98rrNQNebEaQ5zo0k8KW/wPvHk/g=\n", "")
    assert certificate_problem(truncated) is not None


def test_firmware_version_from_the_file_name() -> None:
    assert firmware_version_from("http://127.0.0.1/fw/ac22-fw-1.5.0.bin", b"x") == "1.5.0"
    assert firmware_version_from("http://127.0.0.1/fw-2.1.0-rc1.tar.gz", b"x") == "2.1.0-rc1"
    by_hash = firmware_version_from("http://127.0.0.1/", b"x")
    assert len(by_hash) == 12 and by_hash != firmware_version_from("http://127.0.0.1/", b"y")
