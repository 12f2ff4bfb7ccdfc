"""OCPP 1.6 codec for BootNotification: the charge point's identity in flat fields, no reason
(the answer and Heartbeat are in `shared_registration`)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.machine.messages import BootRequest


def encode_boot(message: BootRequest) -> tuple[str, dict[str, Any]]:
    # The schema's maximum lengths; a serial number keeps its end, where identities differ.
    serial = message.serial_number[-25:]
    return "BootNotification", {
        "chargePointVendor": message.vendor[:20],
        "chargePointModel": message.model[:20],
        "chargePointSerialNumber": serial,
        "chargeBoxSerialNumber": serial,
        "firmwareVersion": message.firmware_version[:50],
        "meterType": message.meter_type[:25],
    }
