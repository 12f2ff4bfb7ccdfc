"""Firmware updates and diagnostics/log uploads against a real HTTP server on 127.0.0.1: the
station machine's flows with the driver's real transfers (`fleet.maintenance.run_transfer`), on a
virtual clock whose timers fire in order. The firmware really downloads, the log really
arrives, and the status reports come in the order the OCPP status notifications need."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fleet.firmware_signing import SIGNATURE, SIGNING_CERTIFICATE
from voltlab.fleet.driver.maintenance import run_transfer
from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    CancelTransfer,
    Download,
    Effect,
    Persist,
    ReadFrameLog,
    ResetStation,
    SendCall,
    SetTimer,
    Upload,
)
from voltlab.fleet.machine.events import CsmsRequest, Event, TimerFired
from voltlab.fleet.machine.flows.maintenance_rules import (
    MaintenancePacing,
    certificate_problem,
    firmware_version_from,
    location_problem,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.maintenance_messages import (
    FirmwareStatusReport,
    GetLog,
    LogKind,
    LogStatusReport,
    UpdateFirmware,
)
from voltlab.fleet.machine.messages import CsmsAnswerMessage, StationMessage
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

T0 = 1_800_000_000.0

FIRMWARE_IMAGE = b"VOLTLAB-FIRMWARE\x00" + bytes(range(256)) * 64

# A self-signed P-256 certificate (openssl req -x509 -newkey ec), as a CSMS would send it.


@dataclass
class ReceivedFile:
    path: str
    field_name: str | None
    file_name: str | None
    content: bytes


@dataclass
class LabServer:
    """What the test HTTP server saw."""

    base_url: str = ""
    hits: dict[str, int] = field(default_factory=dict)
    uploads: list[ReceivedFile] = field(default_factory=list)
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
                        ReceivedFile(
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


class VirtualDriver:
    """Executes the machine's maintenance effects as the runner does (transfers as tasks,
    cancellable, their outcomes fed back), except that time is virtual: when no transfer is
    running, the clock jumps to the next timer."""

    def __init__(
        self, pacing: MaintenancePacing | None = None, lines: Callable[[], list[str]] = list
    ) -> None:
        self.station = Station("CP-1/lab", CATALOG["ac-22kw-2c"], seed=1)
        self.station.firmware_version = "1.4.2"
        self.machine = StationMachine(
            self.station, MachineSettings(reports_reservation_ends=True), pacing=pacing
        )
        self.now = T0
        self.lines = lines
        self.timers: dict[str, float] = {}
        self.transfers: dict[str, asyncio.Task[Any]] = {}
        self.sent: list[StationMessage] = []
        self.reboots: list[str] = []

    @property
    def firmware(self) -> list[FirmwareStatusReport]:
        return [m for m in self.sent if isinstance(m, FirmwareStatusReport)]

    def firmware_statuses(self, request_id: int | None = None) -> list[str]:
        return [r.status for r in self.firmware if request_id in (None, r.request_id)]

    @property
    def uploads(self) -> list[LogStatusReport]:
        return [m for m in self.sent if isinstance(m, LogStatusReport)]

    def upload_statuses(self, kind: LogKind, request_id: int | None = None) -> list[str]:
        return [
            r.status for r in self.uploads if r.kind == kind and request_id in (None, r.request_id)
        ]

    def request(self, message: UpdateFirmware | GetLog) -> CsmsAnswerMessage:
        effects = self.feed(CsmsRequest(message))
        [answer] = [e.message for e in effects if isinstance(e, Answer)]
        return answer

    def feed(self, event: Event) -> list[Effect]:
        effects = self.machine.handle(event, self.now)
        for effect in effects:
            self._execute(effect)
        return effects

    def _execute(self, effect: Effect) -> None:
        if isinstance(effect, SetTimer):
            self.timers[effect.name] = effect.at
        elif isinstance(effect, CancelTimer):
            self.timers.pop(effect.name, None)
        elif isinstance(effect, SendCall):
            self.sent.append(effect.message)
        elif isinstance(effect, Download | Upload | ReadFrameLog):
            self.transfers[effect.name] = asyncio.create_task(
                run_transfer(effect, self._read_lines)
            )
        elif isinstance(effect, CancelTransfer):
            task = self.transfers.pop(effect.name, None)
            if task is not None:
                task.cancel()
        elif isinstance(effect, ResetStation):
            self.reboots.append(self.station.firmware_version)
        else:
            assert isinstance(effect, Answer | Persist), effect

    async def _read_lines(self, limit: int) -> list[str]:
        return self.lines()[-limit:]

    async def run(self) -> None:
        """Until no transfer runs and no timer is set (bounded: a flow has few steps)."""
        for _ in range(100):
            if self.transfers:
                done, _ = await asyncio.wait(
                    self.transfers.values(), return_when=asyncio.FIRST_COMPLETED
                )
                for name, task in list(self.transfers.items()):
                    if task in done:
                        del self.transfers[name]
                        self.feed(task.result())
            elif self.timers:
                name, at = min(self.timers.items(), key=lambda item: item[1])
                del self.timers[name]
                self.now = max(self.now, at)
                self.feed(TimerFired(name))
            else:
                return
        raise AssertionError("the flow did not settle in 100 steps")

    async def wait_for_transfer(self) -> None:
        """Run until a transfer is under way (the first steps are timers only)."""
        for _ in range(10):
            if self.transfers:
                return
            name, at = min(self.timers.items(), key=lambda item: item[1])
            del self.timers[name]
            self.now = max(self.now, at)
            self.feed(TimerFired(name))
        raise AssertionError("no transfer started")


def update(
    location: str,
    retrieve_at: float = T0,
    *,
    retries: int = 0,
    retry_interval: float = 0,
    request_id: int | None = None,
    signature: str | None = None,
    signing_certificate: str | None = None,
) -> UpdateFirmware:
    return UpdateFirmware(
        location, retrieve_at, retries, retry_interval, request_id, signature, signing_certificate
    )


def get_log(
    location: str,
    kind: LogKind,
    *,
    request_id: int | None = None,
    start_time: float | None = None,
    stop_time: float | None = None,
    retries: int = 0,
    retry_interval: float = 0,
) -> GetLog:
    return GetLog(kind, location, request_id, start_time, stop_time, retries, retry_interval)


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- firmware ----------------------------------------------------------------------------------


async def test_unsigned_update_downloads_installs_and_reboots(lab: LabServer) -> None:
    driver = VirtualDriver()
    answer = driver.request(
        update(
            f"{lab.base_url}/fw/ac22-fw-1.5.0.bin", T0, retries=2, retry_interval=30, request_id=7
        )
    )
    assert answer.status == "Accepted"
    await driver.run()
    assert driver.firmware_statuses() == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert all(r.request_id == 7 and r.signed is False for r in driver.firmware)
    assert lab.hits == {"/fw/ac22-fw-1.5.0.bin": 1}
    assert driver.station.firmware_version == "1.5.0"
    assert driver.reboots == ["1.5.0"]  # the new version is known when the runner reboots
    assert driver.machine.maintenance.firmware.status == "Idle"


async def test_update_waits_for_retrieve_at_and_paces_in_simulated_time(lab: LabServer) -> None:
    driver = VirtualDriver()
    driver.request(update(f"{lab.base_url}/fw/image.bin", T0 + 60))
    await driver.run()
    pacing = MaintenancePacing()
    assert driver.now - T0 >= 60 + pacing.download_seconds + pacing.install_seconds
    # No version in the name: the stem and a content hash, so different images differ.
    assert driver.station.firmware_version.startswith("image-")
    assert driver.station.firmware_version == firmware_version_from("/image.bin", FIRMWARE_IMAGE)


async def test_signed_update_verifies_the_signature(lab: LabServer) -> None:
    driver = VirtualDriver()
    driver.request(
        update(
            f"{lab.base_url}/fw/fw-2.0.0.bin",
            request_id=3,
            signature=SIGNATURE,
            signing_certificate=SIGNING_CERTIFICATE,
        )
    )
    await driver.run()
    assert driver.firmware_statuses() == [
        "Downloading",
        "Downloaded",
        "SignatureVerified",
        "Installing",
        "Installed",
    ]
    assert all(r.signed is True for r in driver.firmware)
    assert driver.station.firmware_version == "2.0.0"


@pytest.mark.parametrize("signature", [None, ""])
async def test_missing_signature_stops_before_installing(
    lab: LabServer, signature: str | None
) -> None:
    driver = VirtualDriver()
    driver.request(
        update(
            f"{lab.base_url}/fw/fw-2.0.0.bin",
            request_id=4,
            signature=signature,
            signing_certificate=SIGNING_CERTIFICATE,
        )
    )
    await driver.run()
    assert driver.firmware_statuses() == ["Downloading", "Downloaded", "InvalidSignature"]
    assert "no firmware signature" in (driver.firmware[-1].reason or "")
    assert driver.station.firmware_version == "1.4.2"
    assert driver.reboots == []


@pytest.mark.parametrize(
    ("certificate", "reason"),
    [
        (None, "no signing certificate"),
        ("not a certificate", "not PEM"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "not a DER-encoded"),
        ("-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----", "not PEM"),
    ],
)
async def test_bad_signing_certificate_is_refused_before_downloading(
    lab: LabServer, certificate: str | None, reason: str
) -> None:
    # SignedUpdateFirmware / 2.x UpdateFirmware answer InvalidCertificate: nothing is fetched.
    assert reason in (certificate_problem(certificate) or "")
    driver = VirtualDriver()
    request = update(
        f"{lab.base_url}/fw/fw-2.0.0.bin",
        request_id=4,
        signature=SIGNATURE,
        signing_certificate=certificate,
    )
    if certificate is None:  # a signature without a certificate is still a signed update
        assert request.signed
    answer = driver.request(request)
    assert answer.status == "InvalidCertificate"
    await driver.run()
    assert driver.sent == [] and lab.hits == {}
    assert driver.station.firmware_version == "1.4.2"
    assert driver.reboots == []


async def test_missing_firmware_fails_after_the_retries(lab: LabServer) -> None:
    driver = VirtualDriver()
    driver.request(
        update(f"{lab.base_url}/missing/fw-9.9.9.bin", retries=2, retry_interval=30, request_id=8)
    )
    await driver.run()
    assert driver.firmware_statuses() == ["Downloading", "DownloadFailed"]
    assert "HTTP 404" in (driver.firmware[-1].reason or "")
    assert lab.hits == {"/missing/fw-9.9.9.bin": 3}  # the first attempt and two retries
    assert driver.now - T0 >= 2 * 30
    assert driver.station.firmware_version == "1.4.2"
    assert driver.reboots == []


async def test_unreachable_port_fails_without_raising() -> None:
    driver = VirtualDriver()
    driver.request(
        update(
            f"http://127.0.0.1:{closed_port()}/fw/fw-1.0.0.bin",
            retries=1,
            retry_interval=5,
            request_id=9,
        )
    )
    await driver.run()
    assert driver.firmware_statuses() == ["Downloading", "DownloadFailed"]
    assert "ConnectError" in (driver.firmware[-1].reason or "")


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
    lab: LabServer, location: str, reason: str
) -> None:
    driver = VirtualDriver()
    # Not even waited for: the location can never work.
    driver.request(update(location, T0 + 3600, retries=3, retry_interval=60, request_id=10))
    await driver.run()
    assert driver.firmware_statuses() == ["DownloadFailed"]
    assert reason in (driver.firmware[0].reason or "")
    assert driver.now - T0 < 600
    assert lab.hits == {}


async def test_oversized_firmware_fails_without_retrying(lab: LabServer) -> None:
    driver = VirtualDriver(MaintenancePacing(max_firmware_bytes=1024))
    driver.request(update(f"{lab.base_url}/fw/big-1.1.bin", retries=3, retry_interval=1))
    await driver.run()
    assert driver.firmware_statuses() == ["Downloading", "DownloadFailed"]
    assert "exceeds 1024" in (driver.firmware[-1].reason or "")
    assert lab.hits == {"/fw/big-1.1.bin": 1}
    assert driver.reboots == []


async def test_second_request_cancels_the_first(lab: LabServer) -> None:
    driver = VirtualDriver()
    driver.request(update(f"{lab.base_url}/slow/fw-1.8.0.bin", request_id=1))
    await driver.wait_for_transfer()
    [first_download] = driver.transfers.values()
    assert driver.firmware_statuses(1) == ["Downloading"]
    assert driver.machine.maintenance.firmware.status == "Downloading"
    answer = driver.request(update(f"{lab.base_url}/fw/fw-1.9.0.bin", request_id=2))
    assert answer.status == "AcceptedCanceled"
    await driver.run()
    assert first_download.cancelled()  # the slow GET was stopped, not waited for
    assert driver.firmware_statuses(1) == ["Downloading"]
    assert driver.firmware_statuses(2) == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert driver.station.firmware_version == "1.9.0"
    assert driver.reboots == ["1.9.0"]


async def test_cancelling_a_download_leaves_no_background_work(lab: LabServer) -> None:
    driver = VirtualDriver()
    driver.request(update(f"{lab.base_url}/slow/fw-3.0.0.bin", request_id=5))
    await driver.wait_for_transfer()
    [task] = driver.transfers.values()
    task.cancel()  # what the runner's stop does with every task of the station
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await asyncio.sleep(1.2)  # past the slow server's answer: nothing more happens
    assert driver.firmware_statuses() == ["Downloading"]
    assert driver.reboots == []
    assert driver.station.firmware_version == "1.4.2"


# -- diagnostics and logs ----------------------------------------------------------------------


async def test_diagnostics_upload_really_arrives(lab: LabServer) -> None:
    lines = [
        '>> [2,"1","BootNotification",{"chargePointVendor":"voltlab"}]',
        '<< [3,"1",{"status":"Accepted","interval":300}]',
        "ünïcode survives",
    ]
    driver = VirtualDriver(lines=lambda: lines)
    answer = driver.request(get_log(f"{lab.base_url}/upload", "diagnostics"))
    file_name = answer.file_name
    assert file_name.startswith("CP-1_lab-diagnostics-") and file_name.endswith(".log")
    await driver.run()
    assert driver.upload_statuses("diagnostics") == ["Uploading", "Uploaded"]
    assert all(r.file_name == file_name for r in driver.uploads)
    [upload] = lab.uploads
    assert upload.field_name == "file" and upload.file_name == file_name
    text = upload.content.decode("utf-8")
    assert "# station: CP-1/lab" in text
    for line in lines:
        assert line in text.splitlines()
    assert driver.machine.maintenance.logs.status == "Idle"


async def test_log_upload_keeps_the_requested_window(lab: LabServer) -> None:
    early = f"{format_timestamp(T0 - 7200)} >> too early"
    inside = f"{format_timestamp(T0 - 600)} >> inside the window"
    late = f"{format_timestamp(T0 + 7200)} >> too late"
    undated = "no timestamp: kept"
    driver = VirtualDriver(lines=lambda: [early, inside, late, undated])
    answer = driver.request(
        get_log(f"{lab.base_url}/upload", "log", request_id=42, start_time=T0 - 3600, stop_time=T0)
    )
    await driver.run()
    assert driver.upload_statuses("log", 42) == ["Uploading", "Uploaded"]
    # 1.6 GetDiagnostics answered the file name before the upload.
    assert lab.uploads[0].file_name == answer.file_name
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
    driver = VirtualDriver(lines=lambda: ["line"])
    answer = driver.request(get_log(location, "diagnostics", request_id=11))
    assert answer.file_name
    await driver.run()
    assert driver.upload_statuses("diagnostics") == ["UploadFailed"]
    assert reason in (driver.uploads[0].reason or "")
    assert lab.hits == {} and lab.uploads == []


async def test_refused_upload_fails_after_the_retries(lab: LabServer) -> None:
    driver = VirtualDriver(lines=lambda: ["line"])
    driver.request(
        get_log(f"{lab.base_url}/refuse", "log", request_id=12, retries=1, retry_interval=10)
    )
    await driver.run()
    assert driver.upload_statuses("log") == ["Uploading", "UploadFailed"]
    assert "HTTP 500" in (driver.uploads[-1].reason or "")
    assert lab.hits == {"/refuse": 2}


async def test_failing_line_source_becomes_upload_failed(lab: LabServer) -> None:
    def broken_lines() -> list[str]:
        raise RuntimeError("frame log unavailable")

    driver = VirtualDriver(lines=broken_lines)
    driver.request(get_log(f"{lab.base_url}/upload", "diagnostics"))
    await driver.run()
    assert driver.upload_statuses("diagnostics") == ["Uploading", "UploadFailed"]
    assert "frame log unavailable" in (driver.uploads[-1].reason or "")
    assert lab.uploads == []


async def test_second_log_request_cancels_the_first(lab: LabServer) -> None:
    contents = iter([["first"], ["second"]])
    driver = VirtualDriver(MaintenancePacing(collect_seconds=30), lines=lambda: next(contents))
    driver.request(get_log(f"{lab.base_url}/upload", "log", request_id=1))
    # The first upload has read its lines and is still collecting (30 simulated seconds).
    [(name, reading)] = driver.transfers.items()
    driver.feed(await reading)
    driver.transfers.clear()
    assert driver.upload_statuses("log", 1) == ["Uploading"] and name in driver.timers
    answer = driver.request(get_log(f"{lab.base_url}/upload", "log", request_id=2))
    assert answer.status == "AcceptedCanceled"
    await driver.run()
    assert driver.upload_statuses("log", 1) == ["Uploading"]
    assert driver.upload_statuses("log", 2) == ["Uploading", "Uploaded"]
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
