"""OCPP 2.0.1 / 2.1 codec for firmware updates and logs: UpdateFirmware and GetLog decode with
the shapes 1.6's security whitepaper shares (`shared_maintenance`); FirmwareStatusNotification
carries the request id whether or not the update is signed."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.codecs.shared_maintenance import (
    decode_signed_update_firmware,
    encode_log_status,
    encode_security_event,
    encode_update_firmware_answer,
    with_request_id,
)
from voltlab.fleet.machine.maintenance_messages import (
    FirmwareStatusReport,
    LogStatusReport,
    MaintenanceCall,
)


def encode_call(message: MaintenanceCall, version: str) -> tuple[str, dict[str, Any]]:
    if isinstance(message, FirmwareStatusReport):
        body = with_request_id({"status": message.status}, message.request_id)
        return "FirmwareStatusNotification", body
    if isinstance(message, LogStatusReport):
        return encode_log_status(message)
    return encode_security_event(message, version)


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "UpdateFirmware": RequestCodec(decode_signed_update_firmware, encode_update_firmware_answer),
}
