"""Codec for the maintenance messages whose words and shapes are the same in OCPP 1.6 (with
the security whitepaper) and 2.x: GetLog, LogStatusNotification, SecurityEventNotification and
the `firmware` request of 1.6 SignedUpdateFirmware and 2.x UpdateFirmware."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.maintenance_messages import (
    GetLog,
    GetLogAnswer,
    LogStatusReport,
    SecurityEventReport,
    UpdateFirmware,
    UpdateFirmwareAnswer,
)
from voltlab.ocpp.vocabulary.security_events import security_event_type
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

DEFAULT_RETRY_INTERVAL = 30  # seconds, when the CSMS sends none
# The neutral UploadFailed as LogStatusNotification spells it.
LOG_STATUS_ON_WIRE = {"UploadFailed": "UploadFailure"}
TECH_INFO_MAX_LENGTH = 255
EVENT_TYPE_MAX_LENGTH = 50


def timestamp_or_none(text: str | None) -> float | None:
    return None if text is None else parse_timestamp(text)


def with_request_id(body: dict[str, Any], request_id: int | None) -> dict[str, Any]:
    if request_id is not None:
        body["requestId"] = request_id
    return body


def decode_signed_update_firmware(payload: dict[str, Any]) -> UpdateFirmware:
    """1.6 SignedUpdateFirmware and 2.x UpdateFirmware (where the signature is optional)."""
    firmware = payload["firmware"]
    return UpdateFirmware(
        location=firmware["location"],
        retrieve_at=parse_timestamp(firmware["retrieveDateTime"]),
        retries=payload.get("retries", 0),
        retry_interval=payload.get("retryInterval", DEFAULT_RETRY_INTERVAL),
        request_id=payload["requestId"],
        signature=firmware.get("signature"),
        signing_certificate=firmware.get("signingCertificate"),
    )


def encode_update_firmware_answer(answer: UpdateFirmwareAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def decode_get_log(payload: dict[str, Any]) -> GetLog:
    log_spec = payload["log"]
    return GetLog(
        kind="log",
        location=log_spec["remoteLocation"],
        request_id=payload["requestId"],
        start_time=timestamp_or_none(log_spec.get("oldestTimestamp")),
        stop_time=timestamp_or_none(log_spec.get("latestTimestamp")),
        retries=payload.get("retries", 0),
        retry_interval=payload.get("retryInterval", DEFAULT_RETRY_INTERVAL),
    )


def encode_get_log_answer(answer: GetLogAnswer) -> dict[str, Any]:
    return {"status": answer.status, "filename": answer.file_name}


def log_status_word(status: str) -> str:
    """An upload status (or Idle) in LogStatusNotification's words."""
    return LOG_STATUS_ON_WIRE.get(status, status)


def encode_log_status(message: LogStatusReport) -> tuple[str, dict[str, Any]]:
    body = {"status": log_status_word(message.status)}
    return "LogStatusNotification", with_request_id(body, message.request_id)


def encode_security_event(message: SecurityEventReport, version: str) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "type": security_event_type(message.kind, version)[:EVENT_TYPE_MAX_LENGTH],
        "timestamp": format_timestamp(message.at),
    }
    if message.tech_info:
        body["techInfo"] = message.tech_info[:TECH_INFO_MAX_LENGTH]
    return "SecurityEventNotification", body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetLog": RequestCodec(decode_get_log, encode_get_log_answer),
}
