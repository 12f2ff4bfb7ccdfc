"""What the version adapters answer alike."""

from __future__ import annotations

from typing import Any

VENDOR_ID = "org.voltlab"


def data_transfer_answer(payload: dict[str, Any]) -> dict[str, Any]:
    """DataTransfer from the CSMS: vendor `org.voltlab`, message `Echo` sends `data` back."""
    if payload["vendorId"] != VENDOR_ID:
        return {"status": "UnknownVendorId"}
    if payload.get("messageId") != "Echo":
        return {"status": "UnknownMessageId"}
    body: dict[str, Any] = {"status": "Accepted"}
    if "data" in payload:
        body["data"] = payload["data"]
    return body
