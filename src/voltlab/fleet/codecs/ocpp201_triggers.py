"""OCPP 2.0.1 / 2.1 codec for TriggerMessage (the messages it may ask for, in the station's
words; the EVSE names the connector) and GetTransactionStatus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.codecs.shared_triggers import (
    COMMON_TRIGGERS,
    decode_trigger,
    encode_trigger_answer,
)
from voltlab.fleet.machine.trigger_messages import (
    GetTransactionStatus,
    TransactionStatusAnswer,
    TriggerRequest,
    TriggerTarget,
)

# SignCombinedCertificate, PublishFirmwareStatusNotification (and 2.1's additions) are not
# simulated: NotImplemented.
TRIGGERS_2X: Mapping[str, TriggerTarget] = {
    **COMMON_TRIGGERS,
    "TransactionEvent": "TransactionEvent",
    "LogStatusNotification": "LogStatus",
    "SignChargingStationCertificate": "SignCertificate",
    "SignV2GCertificate": "SignV2GCertificate",
}


class GetTransactionStatusResponse(TypedDict):
    messagesInQueue: bool
    ongoingIndicator: NotRequired[bool]


def decode_trigger_message(payload: dict[str, Any]) -> TriggerRequest:
    evse = payload.get("evse") or {}
    return decode_trigger(TRIGGERS_2X, payload["requestedMessage"], evse.get("id"))


def decode_get_transaction_status(payload: dict[str, Any]) -> GetTransactionStatus:
    return GetTransactionStatus(payload.get("transactionId"))


def encode_transaction_status_answer(
    answer: TransactionStatusAnswer,
) -> GetTransactionStatusResponse:
    body: GetTransactionStatusResponse = {"messagesInQueue": answer.messages_in_queue}
    if answer.ongoing is not None:
        body["ongoingIndicator"] = answer.ongoing
    return body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetTransactionStatus": RequestCodec(
        decode_get_transaction_status, encode_transaction_status_answer
    ),
    "TriggerMessage": RequestCodec(decode_trigger_message, encode_trigger_answer),
}
