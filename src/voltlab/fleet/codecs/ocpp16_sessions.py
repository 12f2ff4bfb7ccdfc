"""OCPP 1.6 codec for a session's messages: StartTransaction, MeterValues, StopTransaction.

1.6 learns a transaction's id from the CSMS; a StartTransaction queued offline stands under a
provisional id (negative, derived from the message) until the queue delivers it."""

from __future__ import annotations

import zlib
from typing import Any

from voltlab.fleet.codecs import common
from voltlab.fleet.machine import session_messages as messages
from voltlab.fleet.machine.events import QueuedStartDelivered
from voltlab.fleet.machine.flows.data_transfer import VENDOR_ID
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.measurands import Sample
from voltlab.ocpp.vocabulary.authorization import authorization_from_16
from voltlab.ocpp.vocabulary.connector_status import error_code_16
from voltlab.ocpp.vocabulary.stop_reasons import stop_reason_to_16
from voltlab.ocpp.vocabulary.timestamps import format_timestamp


def provisional_transaction_id(start_payload: dict[str, Any]) -> int:
    """The id a StartTransaction queued offline stands under until the CSMS answers it:
    negative (no CSMS gives those) and derived from the message, so it survives restarts."""
    key = f"{start_payload['connectorId']}|{start_payload['timestamp']}|{start_payload['idTag']}"
    return -(zlib.crc32(key.encode()) & 0x7FFFFFFF) - 1


def id_tag_info(body: dict[str, Any] | None) -> IdTagInfo:
    return IdTagInfo(*authorization_from_16(body))


# "%.1f" % value says what f"{value:.1f}" says, without a format spec built per sample.
_DECIMALS = tuple(f"%.{n}f" for n in range(7))


def sampled_value(sample: Sample, context: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "value": _DECIMALS[sample.decimals] % sample.value,
        "context": context,
        "format": "Raw",
        "measurand": sample.measurand,
        "location": sample.location,
        "unit": sample.unit,
    }
    if sample.phase:
        body["phase"] = sample.phase
    return body


def encode_session_call(message: messages.SessionMessage) -> tuple[str, dict[str, Any]]:
    if isinstance(message, messages.TransactionStarted):
        start: dict[str, Any] = {
            "connectorId": message.tx.connector_id,
            "idTag": message.id_tag,
            "meterStart": round(message.meter_start_wh),
            "timestamp": format_timestamp(message.started_at),
        }
        if message.reservation_id is not None:
            start["reservationId"] = message.reservation_id
        return "StartTransaction", start
    if isinstance(message, messages.MeterValuesReport):
        body: dict[str, Any] = {
            "connectorId": message.connector_id,
            "meterValue": [common.encode_meter_value(message.value, sampled_value)],
        }
        if message.tx is not None:
            body["transactionId"] = int(message.tx.transaction_id or 0)
        return "MeterValues", body
    if isinstance(message, messages.TransactionEnded):
        return "StopTransaction", _stop_transaction(message)
    if isinstance(message, messages.StatusReport):
        return "StatusNotification", _status_notification(message)
    # 1.6 transactions always start with an id tag: nothing authorizes one later, its
    # StatusNotification says the charging state, and nothing triggers a transaction message.
    raise TypeError(f"OCPP 1.6 has no message for {message!r}")


def _status_notification(message: messages.StatusReport) -> dict[str, Any]:
    body: dict[str, Any] = {
        "connectorId": message.connector_id,
        "errorCode": error_code_16(message.error_code),
        "status": message.status,
        "timestamp": format_timestamp(message.sent_at),
    }
    if message.info:
        body["info"] = message.info[:50]
    elif body["errorCode"] == "OtherError" and message.error_code:
        # A fault 1.6 has no code for (a grid frequency event) is named in `info`.
        body["info"] = message.error_code
    if message.vendor_error_code:
        body["vendorErrorCode"] = message.vendor_error_code[:50]
        body["vendorId"] = VENDOR_ID
    return body


def _stop_transaction(message: messages.TransactionEnded) -> dict[str, Any]:
    stop: dict[str, Any] = {
        "transactionId": int(message.tx.transaction_id or 0),
        "idTag": message.id_tag,
        "meterStop": round(message.meter_stop_wh),
        "timestamp": format_timestamp(message.stopped_at),
        "reason": stop_reason_to_16(message.reason),
    }
    if message.end is not None:
        values = [message.begin, message.end] if message.begin is not None else [message.end]
        stop["transactionData"] = [
            common.encode_meter_value(value, sampled_value) for value in values
        ]
    return stop


def decode_session_answer(
    message: messages.SessionMessage, payload: dict[str, Any]
) -> messages.SessionAnswer:
    if isinstance(message, messages.TransactionStarted):
        return messages.TransactionStartedAnswer(
            int(payload["transactionId"]), id_tag_info(payload.get("idTagInfo"))
        )
    if isinstance(message, messages.TransactionEnded):
        info = payload.get("idTagInfo")
        return messages.TransactionEndedAnswer(id_tag_info(info) if info else None)
    if isinstance(message, messages.StatusReport):
        return messages.Received()
    return messages.MeterValuesAnswer()


def queued_session_answer(
    message: messages.SessionMessage, payload: dict[str, Any]
) -> messages.SessionAnswer:
    """What a flow goes on with when its message was queued offline: a provisional id that
    the queue rewrites once the CSMS gives the real one."""
    if isinstance(message, messages.TransactionStarted):
        return messages.TransactionStartedAnswer(
            provisional_transaction_id(payload), IdTagInfo("Accepted")
        )
    if isinstance(message, messages.TransactionEnded):
        return messages.TransactionEndedAnswer(None)
    return messages.MeterValuesAnswer()


def queued_transaction(action: str, payload: dict[str, Any]) -> str | None:
    """The transaction a queued message belongs to: a StartTransaction's provisional id, the
    id the others carry (MeterValues outside a transaction carries none)."""
    if action == "StartTransaction":
        return str(provisional_transaction_id(payload))
    transaction_id = payload.get("transactionId")
    return None if transaction_id is None else str(transaction_id)


def offline_variant(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # 1.6 queues a transaction message as it would have sent it


def queued_delivered(
    action: str, payload: dict[str, Any], answer: dict[str, Any]
) -> QueuedStartDelivered | None:
    """What the machine learns when a queued message is delivered: a StartTransaction's
    real id for the provisional one it was queued under."""
    if action != "StartTransaction":
        return None
    info = answer.get("idTagInfo")
    return QueuedStartDelivered(
        provisional_transaction_id(payload),
        int(answer["transactionId"]),
        payload["idTag"],
        id_tag_info(info) if info else None,
    )
