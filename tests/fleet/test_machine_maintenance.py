"""The firmware and log-upload flows of the station machine, driven event by event with
explicit `now` values: no loop, no socket, no sleep, no HTTP (the transfers' outcomes are
events the test feeds). Plus the 1.6 and 2.x maintenance codecs against the OCA schemas."""

from __future__ import annotations

import pytest

from fleet.firmware_signing import SIGNATURE, SIGNING_CERTIFICATE
from voltlab.fleet.codecs import ocpp16_maintenance as codec16
from voltlab.fleet.codecs import ocpp201_maintenance as codec2x
from voltlab.fleet.codecs import shared_maintenance as shared
from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    CancelTransfer,
    Download,
    Persist,
    ReadFrameLog,
    ResetStation,
    SendCall,
    SetTimer,
    Upload,
)
from voltlab.fleet.machine.events import (
    CsmsRequest,
    DownloadDone,
    FrameLogRead,
    TimerFired,
    TransferFailed,
    UploadDone,
)
from voltlab.fleet.machine.flows.maintenance_rules import (
    MAX_FIRMWARE_BYTES,
    RECENT_LINES,
    firmware_version_from,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.maintenance_messages import (
    FirmwareStatusReport,
    GetLog,
    GetLogAnswer,
    LogStatusReport,
    SecurityEventReport,
    UpdateFirmware,
    UpdateFirmwareAnswer,
)
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.station import Station
from voltlab.ocpp.schemas import SchemaSet, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

T0 = 1_800_000_000.0
LAB = "http://127.0.0.1:8080"
IMAGE = b"\x7fFIRMWARE" * 100

# Same self-signed P-256 certificate as tests/fleet/test_maintenance.py.


def machine() -> StationMachine:
    station = Station("CP-1/lab", CATALOG["ac-22kw-2c"], seed=1)
    station.firmware_version = "1.4.2"
    return StationMachine(station, MachineSettings(reports_reservation_ends=True))


def update(location: str, retrieve_at: float = T0, **kw: object) -> CsmsRequest:
    fields: dict[str, object] = {"retries": 0, "retry_interval": 30.0, **kw}
    return CsmsRequest(UpdateFirmware(location, retrieve_at, **fields))


def firmware(status: str, request_id: int | None = None, signed: bool = False) -> SendCall:
    return SendCall(FirmwareStatusReport(status, request_id, signed))


# -- firmware ----------------------------------------------------------------------------------


def test_unsigned_update_downloads_installs_and_reboots_step_by_step() -> None:
    m = machine()
    location = f"{LAB}/fw/ac22-fw-1.5.0.bin"
    assert m.handle(update(location, T0 + 60, request_id=7), T0) == [
        SetTimer("firmware:1", T0 + 60),
        Answer(UpdateFirmwareAnswer("Accepted")),
    ]
    assert m.maintenance.firmware.status == "Idle"  # accepted, nothing reported yet
    assert m.handle(TimerFired("firmware:1"), T0 + 60) == [
        firmware("Downloading", 7),
        Download("firmware:1", location, MAX_FIRMWARE_BYTES),
    ]
    assert m.maintenance.firmware.status == "Downloading"
    # Downloaded after the simulated download time, then installing at once.
    assert m.handle(DownloadDone("firmware:1", IMAGE), T0 + 61) == [SetTimer("firmware:1", T0 + 66)]
    assert m.handle(TimerFired("firmware:1"), T0 + 66) == [
        firmware("Downloaded", 7),
        firmware("Installing", 7),
        SetTimer("firmware:1", T0 + 76),
    ]
    assert m.station.firmware_version == "1.4.2"
    assert m.handle(TimerFired("firmware:1"), T0 + 76) == [
        Persist(),
        firmware("Installed", 7),
        SendCall(SecurityEventReport("FirmwareUpdated", T0 + 76)),
        ResetStation(hard=True, boot_reason="FirmwareUpdate"),
    ]
    # The new version is stored before the reboot's BootNotification.
    assert m.station.firmware_version == "1.5.0"
    assert m.maintenance.firmware.status == "Idle"


def test_an_image_without_a_version_in_its_name_reports_stem_and_hash() -> None:
    m = machine()
    location = f"{LAB}/fw/image.bin"
    m.handle(update(location), T0)
    m.handle(TimerFired("firmware:1"), T0)
    m.handle(DownloadDone("firmware:1", IMAGE), T0)
    m.handle(TimerFired("firmware:1"), T0 + 5)
    m.handle(TimerFired("firmware:1"), T0 + 15)
    assert m.station.firmware_version.startswith("image-")
    assert m.station.firmware_version == firmware_version_from(location, IMAGE)


def test_signed_update_verifies_before_installing() -> None:
    m = machine()
    request = update(
        f"{LAB}/fw/fw-2.0.0.bin",
        request_id=3,
        signature=SIGNATURE,
        signing_certificate=SIGNING_CERTIFICATE,
    )
    assert m.handle(request, T0)[-1] == Answer(UpdateFirmwareAnswer("Accepted"))
    m.handle(TimerFired("firmware:1"), T0)
    m.handle(DownloadDone("firmware:1", IMAGE), T0 + 1)
    assert m.handle(TimerFired("firmware:1"), T0 + 6) == [
        firmware("Downloaded", 3, signed=True),
        SetTimer("firmware:1", T0 + 8),
    ]
    assert m.handle(TimerFired("firmware:1"), T0 + 8) == [
        firmware("SignatureVerified", 3, signed=True),
        firmware("Installing", 3, signed=True),
        SetTimer("firmware:1", T0 + 18),
    ]
    assert m.handle(TimerFired("firmware:1"), T0 + 18)[1] == firmware("Installed", 3, signed=True)
    assert m.station.firmware_version == "2.0.0"


@pytest.mark.parametrize(
    ("signature", "reason"), [(None, "no firmware signature"), ("  ", "no firmware signature")]
)
def test_a_missing_signature_stops_before_installing(signature: str | None, reason: str) -> None:
    m = machine()
    m.handle(
        update(
            f"{LAB}/fw/fw-2.0.0.bin", signing_certificate=SIGNING_CERTIFICATE, signature=signature
        ),
        T0,
    )
    m.handle(TimerFired("firmware:1"), T0)
    m.handle(DownloadDone("firmware:1", IMAGE), T0)
    m.handle(TimerFired("firmware:1"), T0 + 5)
    assert m.handle(TimerFired("firmware:1"), T0 + 7) == [
        SendCall(FirmwareStatusReport("InvalidSignature", None, True, reason))
    ]
    assert m.station.firmware_version == "1.4.2"
    assert m.maintenance.firmware.status == "Idle"


def test_an_invalid_signing_certificate_is_refused_in_the_answer() -> None:
    m = machine()
    request = update(f"{LAB}/fw/fw-2.0.0.bin", signature=SIGNATURE, signing_certificate="x")
    assert m.handle(request, T0) == [Answer(UpdateFirmwareAnswer("InvalidCertificate"))]


def test_a_failed_download_is_retried_then_reported() -> None:
    m = machine()
    location = f"{LAB}/missing/fw-9.9.9.bin"
    m.handle(update(location, retries=2, retry_interval=30.0, request_id=8), T0)
    m.handle(TimerFired("firmware:1"), T0)
    failure = TransferFailed("firmware:1", f"GET {location} answered HTTP 404")
    assert m.handle(failure, T0 + 1) == [SetTimer("firmware:1", T0 + 31)]
    # A retry downloads again without another Downloading.
    assert m.handle(TimerFired("firmware:1"), T0 + 31) == [
        Download("firmware:1", location, MAX_FIRMWARE_BYTES)
    ]
    assert m.handle(failure, T0 + 32) == [SetTimer("firmware:1", T0 + 62)]
    m.handle(TimerFired("firmware:1"), T0 + 62)
    assert m.handle(failure, T0 + 63) == [
        SendCall(FirmwareStatusReport("DownloadFailed", 8, False, failure.reason))
    ]
    assert m.maintenance.firmware.status == "Idle"


def test_a_failure_retrying_cannot_help_is_reported_at_once() -> None:
    m = machine()
    m.handle(update(f"{LAB}/fw/big-1.1.bin", retries=3), T0)
    m.handle(TimerFired("firmware:1"), T0)
    too_big = TransferFailed("firmware:1", "firmware exceeds 1024 bytes", retryable=False)
    assert m.handle(too_big, T0) == [
        SendCall(FirmwareStatusReport("DownloadFailed", None, False, too_big.reason))
    ]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("ftp://127.0.0.1/fw/fw-1.0.0.bin", "scheme 'ftp'"),
        ("http://example.com/fw/fw-1.0.0.bin", "host 'example.com'"),
        ("fw-1.0.0.bin", "scheme '(none)'"),
    ],
)
def test_a_location_outside_the_lab_fails_at_once_without_a_transfer(
    location: str, reason: str
) -> None:
    m = machine()
    effects = m.handle(update(location, T0 + 3600, retries=3), T0)
    assert effects[0] == Answer(UpdateFirmwareAnswer("Accepted"))
    [report] = effects[1:]
    assert isinstance(report, SendCall) and isinstance(report.message, FirmwareStatusReport)
    assert report.message.status == "DownloadFailed"
    assert reason in (report.message.reason or "")
    assert m.maintenance.firmware.status == "Idle"


def test_a_second_update_replaces_the_first_and_ignores_its_late_outcome() -> None:
    m = machine()
    m.handle(update(f"{LAB}/slow/fw-1.8.0.bin", request_id=1), T0)
    m.handle(TimerFired("firmware:1"), T0)
    assert m.handle(update(f"{LAB}/fw/fw-1.9.0.bin", request_id=2), T0 + 1) == [
        CancelTimer("firmware:1"),
        SetTimer("firmware:2", T0),
        Answer(UpdateFirmwareAnswer("AcceptedCanceled")),
        CancelTransfer("firmware:1"),
    ]
    # The replaced download's result and timer change nothing.
    assert m.handle(DownloadDone("firmware:1", IMAGE), T0 + 2) == []
    assert m.handle(TimerFired("firmware:1"), T0 + 2) == []
    assert m.maintenance.firmware.status == "Idle"  # the new job has not reported yet
    assert m.handle(TimerFired("firmware:2"), T0 + 2)[0] == firmware("Downloading", 2)


# -- logs --------------------------------------------------------------------------------------


def get_log(location: str, kind: str = "log", **kw: object) -> CsmsRequest:
    fields: dict[str, object] = {
        "request_id": 42,
        "start_time": None,
        "stop_time": None,
        "retries": 0,
        "retry_interval": 30.0,
        **kw,
    }
    return CsmsRequest(GetLog(kind, location, **fields))


def log_status(
    status: str, file_name: str, request_id: int | None = 42, kind: str = "log"
) -> SendCall:
    return SendCall(LogStatusReport(kind, status, request_id, file_name))


def test_log_upload_reads_collects_uploads_and_reports() -> None:
    m = machine()
    location = f"{LAB}/upload"
    file_name = "CP-1_lab-log-20270115T080000Z.log"
    assert m.handle(get_log(location, start_time=T0 - 3600, stop_time=T0), T0) == [
        Answer(GetLogAnswer("Accepted", file_name)),
        log_status("Uploading", file_name),
        ReadFrameLog("log:1", RECENT_LINES),
    ]
    early = f"{format_timestamp(T0 - 7200)} >> too early"
    inside = f"{format_timestamp(T0 - 600)} >> inside the window"
    late = f"{format_timestamp(T0 + 7200)} >> too late"
    lines = (early, inside, late, "no timestamp: kept")
    assert m.handle(FrameLogRead("log:1", lines), T0 + 1) == [SetTimer("log:1", T0 + 3)]
    [upload] = m.handle(TimerFired("log:1"), T0 + 3)
    assert isinstance(upload, Upload)
    assert (upload.name, upload.location, upload.file_name) == ("log:1", location, file_name)
    text = upload.content.decode().splitlines()
    assert inside in text and "no timestamp: kept" in text
    assert early not in text and late not in text
    assert "# request_id: 42" in text and "# lines: 2" in text and "# station: CP-1/lab" in text
    assert m.maintenance.logs.status == "Uploading"
    assert m.handle(UploadDone("log:1"), T0 + 4) == [SetTimer("log:1", T0 + 7)]
    assert m.handle(TimerFired("log:1"), T0 + 7) == [log_status("Uploaded", file_name)]
    assert m.maintenance.logs.status == "Idle"


def test_a_refused_upload_is_retried_then_reported() -> None:
    m = machine()
    effects = m.handle(get_log(f"{LAB}/refuse", retries=1, retry_interval=10.0), T0)
    file_name = effects[0].message.file_name
    m.handle(FrameLogRead("log:1", ("line",)), T0)
    m.handle(TimerFired("log:1"), T0 + 2)
    refused = TransferFailed("log:1", "POST answered HTTP 500")
    assert m.handle(refused, T0 + 3) == [SetTimer("log:1", T0 + 13)]
    assert isinstance(m.handle(TimerFired("log:1"), T0 + 13)[0], Upload)
    assert m.handle(refused, T0 + 14) == [
        SendCall(LogStatusReport("log", "UploadFailed", 42, file_name, refused.reason))
    ]


def test_a_frame_log_that_cannot_be_read_fails_the_upload() -> None:
    m = machine()
    effects = m.handle(get_log(f"{LAB}/upload", kind="diagnostics", request_id=None), T0)
    file_name = effects[0].message.file_name
    assert file_name.startswith("CP-1_lab-diagnostics-")
    failed = TransferFailed("log:1", "frame log unavailable")
    assert m.handle(failed, T0) == [
        SendCall(
            LogStatusReport(
                "diagnostics",
                "UploadFailed",
                None,
                file_name,
                "collecting the log failed: frame log unavailable",
            )
        )
    ]


def test_an_upload_outside_the_lab_fails_at_once() -> None:
    m = machine()
    effects = m.handle(get_log("sftp://user@127.0.0.1/upload"), T0)
    [answer, report] = effects
    assert answer == Answer(GetLogAnswer("Accepted", answer.message.file_name))
    assert isinstance(report, SendCall) and isinstance(report.message, LogStatusReport)
    assert report.message.status == "UploadFailed" and "scheme 'sftp'" in (
        report.message.reason or ""
    )


def test_a_second_log_request_replaces_the_first() -> None:
    m = machine()
    m.handle(get_log(f"{LAB}/upload", request_id=1), T0)
    m.handle(FrameLogRead("log:1", ("first",)), T0)
    effects = m.handle(get_log(f"{LAB}/upload", request_id=2), T0 + 1)
    assert effects[0] == CancelTimer("log:1")
    assert effects[1].message.status == "AcceptedCanceled"
    assert effects[2:] == [
        CancelTransfer("log:1"),
        log_status("Uploading", effects[1].message.file_name, 2),
        ReadFrameLog("log:2", RECENT_LINES),
    ]
    assert m.handle(TimerFired("log:1"), T0 + 2) == []
    assert m.handle(UploadDone("log:1"), T0 + 2) == []


# -- codecs ------------------------------------------------------------------------------------

STAMP = format_timestamp(T0)


def test_16_codec_decodes_the_requests_and_encodes_per_schema() -> None:
    schemas = SchemaSet(OCPP16, schema_directory(OCPP16))
    plain = {"location": f"{LAB}/fw.bin", "retrieveDate": STAMP, "retries": 2}
    schemas.validate_request("UpdateFirmware", plain)
    assert codec16.decode_update_firmware(plain) == UpdateFirmware(f"{LAB}/fw.bin", T0, 2, 30)
    schemas.validate_response(
        "UpdateFirmware", codec16.encode_update_firmware_answer(UpdateFirmwareAnswer("Accepted"))
    )
    signed = {
        "requestId": 5,
        "retryInterval": 10,
        "firmware": {
            "location": f"{LAB}/fw.bin",
            "retrieveDateTime": STAMP,
            "signingCertificate": SIGNING_CERTIFICATE,
            "signature": SIGNATURE,
        },
    }
    schemas.validate_request("SignedUpdateFirmware", signed)
    decoded = shared.decode_signed_update_firmware(signed)
    assert decoded == UpdateFirmware(f"{LAB}/fw.bin", T0, 0, 10, 5, SIGNATURE, SIGNING_CERTIFICATE)
    assert decoded.signed
    body = shared.encode_update_firmware_answer(UpdateFirmwareAnswer("InvalidCertificate"))
    schemas.validate_response("SignedUpdateFirmware", body)
    diagnostics = {"location": f"{LAB}/upload", "startTime": STAMP}
    schemas.validate_request("GetDiagnostics", diagnostics)
    assert codec16.decode_get_diagnostics(diagnostics) == GetLog(
        "diagnostics", f"{LAB}/upload", None, T0, None, 0, 30
    )
    answer = codec16.encode_get_diagnostics_answer(GetLogAnswer("Accepted", "x.log"))
    schemas.validate_response("GetDiagnostics", answer)
    assert answer == {"fileName": "x.log"}
    reports = [
        (
            FirmwareStatusReport("Installing", None, False),
            "FirmwareStatusNotification",
            {"status": "Installing"},
        ),
        (
            FirmwareStatusReport("SignatureVerified", 5, True),
            "SignedFirmwareStatusNotification",
            {"status": "SignatureVerified", "requestId": 5},
        ),
        (
            LogStatusReport("diagnostics", "UploadFailed", None, "x.log", "why"),
            "DiagnosticsStatusNotification",
            {"status": "UploadFailed"},
        ),
        (
            LogStatusReport("log", "UploadFailed", 9, "x.log"),
            "LogStatusNotification",
            {"status": "UploadFailure", "requestId": 9},
        ),
        (
            SecurityEventReport("FirmwareUpdated", T0),
            "SecurityEventNotification",
            {"type": "FirmwareUpdated", "timestamp": STAMP},
        ),
    ]
    for message, action, payload in reports:
        assert codec16.encode_call(message) == (action, payload)
        schemas.validate_request(action, payload)


@pytest.mark.parametrize("version", [OCPP201, OCPP21])
def test_2x_codec_decodes_the_requests_and_encodes_per_schema(version: str) -> None:
    schemas = SchemaSet(version, schema_directory(version))
    request = {"requestId": 3, "firmware": {"location": f"{LAB}/fw.bin", "retrieveDateTime": STAMP}}
    schemas.validate_request("UpdateFirmware", request)
    decoded = shared.decode_signed_update_firmware(request)
    assert decoded == UpdateFirmware(f"{LAB}/fw.bin", T0, 0, 30, 3)
    assert not decoded.signed
    for status in ("Accepted", "AcceptedCanceled", "InvalidCertificate"):
        body = shared.encode_update_firmware_answer(UpdateFirmwareAnswer(status))
        schemas.validate_response("UpdateFirmware", body)
    get = {
        "logType": "DiagnosticsLog",
        "requestId": 9,
        "retries": 1,
        "log": {"remoteLocation": f"{LAB}/upload", "latestTimestamp": STAMP},
    }
    schemas.validate_request("GetLog", get)
    assert shared.decode_get_log(get) == GetLog("log", f"{LAB}/upload", 9, None, T0, 1, 30)
    body = shared.encode_get_log_answer(GetLogAnswer("AcceptedCanceled", "x.log"))
    schemas.validate_response("GetLog", body)
    assert body == {"status": "AcceptedCanceled", "filename": "x.log"}
    reports = [
        (
            FirmwareStatusReport("Downloading", 3, False),
            "FirmwareStatusNotification",
            {"status": "Downloading", "requestId": 3},
        ),
        (
            LogStatusReport("log", "Uploaded", 9, "x.log"),
            "LogStatusNotification",
            {"status": "Uploaded", "requestId": 9},
        ),
        (
            SecurityEventReport("InvalidChargePointCertificate", T0, "x" * 300),
            "SecurityEventNotification",
            {
                "type": "InvalidChargingStationCertificate",
                "timestamp": STAMP,
                "techInfo": "x" * 255,
            },
        ),
    ]
    for message, action, payload in reports:
        assert codec2x.encode_call(message, version) == (action, payload)
        schemas.validate_request(action, payload)
