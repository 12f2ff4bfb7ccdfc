"""OCPP 2.0.1 / 2.1 codec for BootNotification: a reason and a chargingStation object (the
answer and Heartbeat are in `shared_registration`)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.machine.messages import BootRequest


def encode_boot(message: BootRequest) -> tuple[str, dict[str, Any]]:
    # The schema's maximum lengths; a serial number keeps its end, where identities differ.
    return "BootNotification", {
        "reason": message.reason,
        "chargingStation": {
            "model": message.model[:20],
            "vendorName": message.vendor[:50],
            "serialNumber": message.serial_number[-25:],
            "firmwareVersion": message.firmware_version[:50],
        },
    }
