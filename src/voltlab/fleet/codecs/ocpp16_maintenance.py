"""OCPP 1.6 codec for firmware updates and diagnostics: UpdateFirmware, GetDiagnostics and
their status notifications. SignedUpdateFirmware and GetLog (security whitepaper) share their
shapes with 2.x (`shared_maintenance`); a signed update reports with
SignedFirmwareStatusNotification."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import shared_maintenance
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.codecs.shared_maintenance import (
    DEFAULT_RETRY_INTERVAL,
    decode_signed_update_firmware,
    encode_log_status,
    encode_security_event,
    timestamp_or_none,
    with_request_id,
)
from voltlab.fleet.machine.maintenance_messages import (
    FirmwareStatusReport,
    GetLog,
    GetLogAnswer,
    LogStatusReport,
    MaintenanceCall,
    UpdateFirmware,
    UpdateFirmwareAnswer,
)
from voltlab.ocpp.versions import OCPP16
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

# FirmwareStatusNotification's words (an unsigned update never verifies a signature).
FIRMWARE_16 = frozenset(
    {
        "Downloading",
        "Downloaded",
        "DownloadFailed",
        "Installing",
        "Installed",
        "InstallationFailed",
        "Idle",
    }
)


def decode_update_firmware(payload: dict[str, Any]) -> UpdateFirmware:
    return UpdateFirmware(
        location=payload["location"],
        retrieve_at=parse_timestamp(payload["retrieveDate"]),
        retries=payload.get("retries", 0),
        retry_interval=payload.get("retryInterval", DEFAULT_RETRY_INTERVAL),
    )


def encode_update_firmware_answer(answer: UpdateFirmwareAnswer) -> dict[str, Any]:
    return {}  # 1.6 UpdateFirmware.conf carries nothing


def decode_get_diagnostics(payload: dict[str, Any]) -> GetLog:
    return GetLog(
        kind="diagnostics",
        location=payload["location"],
        request_id=None,
        start_time=timestamp_or_none(payload.get("startTime")),
        stop_time=timestamp_or_none(payload.get("stopTime")),
        retries=payload.get("retries", 0),
        retry_interval=payload.get("retryInterval", DEFAULT_RETRY_INTERVAL),
    )


def encode_get_diagnostics_answer(answer: GetLogAnswer) -> dict[str, Any]:
    return {"fileName": answer.file_name}


def encode_call(message: MaintenanceCall) -> tuple[str, dict[str, Any]]:
    if isinstance(message, FirmwareStatusReport):
        if message.signed:
            body = with_request_id({"status": message.status}, message.request_id)
            return "SignedFirmwareStatusNotification", body
        # 1.6 has no word for a signed update's verification (nor does a triggered report
        # of one): Idle.
        status = message.status if message.status in FIRMWARE_16 else "Idle"
        return "FirmwareStatusNotification", {"status": status}
    if isinstance(message, LogStatusReport):
        if message.kind == "diagnostics":
            return "DiagnosticsStatusNotification", {"status": message.status}
        return encode_log_status(message)
    return encode_security_event(message, OCPP16)


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "UpdateFirmware": RequestCodec(decode_update_firmware, encode_update_firmware_answer),
    "SignedUpdateFirmware": RequestCodec(
        decode_signed_update_firmware, shared_maintenance.encode_update_firmware_answer
    ),
    "GetDiagnostics": RequestCodec(decode_get_diagnostics, encode_get_diagnostics_answer),
}
