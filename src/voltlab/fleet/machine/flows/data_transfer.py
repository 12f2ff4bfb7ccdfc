"""DataTransfer from the CSMS: the station knows one vendor, `org.voltlab`, and one message,
`Echo`, which sends `data` back."""

from __future__ import annotations

from voltlab.fleet.machine.effects import Answer, Effect
from voltlab.fleet.machine.messages import DataTransfer, DataTransferAnswer

VENDOR_ID = "org.voltlab"
ECHO = "Echo"


def data_transfer(request: DataTransfer) -> list[Effect]:
    if request.vendor_id != VENDOR_ID:
        return [Answer(DataTransferAnswer("UnknownVendorId"))]
    if request.message_id != ECHO:
        return [Answer(DataTransferAnswer("UnknownMessageId"))]
    return [Answer(DataTransferAnswer("Accepted", request.data, request.has_data))]
