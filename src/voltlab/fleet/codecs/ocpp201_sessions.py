"""OCPP 2.0.1 / 2.1 codec for a session's messages: TransactionEvent Started / Updated /
Ended (seqNo, triggerReason, the station's own transaction id) and MeterValues outside a
transaction. A TransactionEvent queued offline is sent with `offline: true`."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import common
from voltlab.fleet.codecs.ocpp21_cost_details import encode_cost_details
from voltlab.fleet.codecs.ocpp201_authorization import station_id_token
from voltlab.fleet.machine.events import QueuedStartDelivered
from voltlab.fleet.machine.session_messages import (
    ChargingStateChanged,
    MeterValuesAnswer,
    MeterValuesReport,
    OperationModeChanged,
    Received,
    SessionAnswer,
    SessionMessage,
    StatusReport,
    TransactionAuthorized,
    TransactionAuthorizedAnswer,
    TransactionEnded,
    TransactionEndedAnswer,
    TransactionRef,
    TransactionStarted,
    TransactionStartedAnswer,
    TransactionTriggered,
)
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.measurands import Sample
from voltlab.ocpp.vocabulary.authorization import authorization_from_2x
from voltlab.ocpp.vocabulary.stop_reasons import stop_reason_to_2x
from voltlab.ocpp.vocabulary.timestamps import format_timestamp


def id_tag_info(body: dict[str, Any] | None) -> IdTagInfo:
    return IdTagInfo(*authorization_from_2x(body))


def sampled_value(sample: Sample, context: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "value": round(sample.value, sample.decimals),
        "context": context,
        "measurand": sample.measurand,
        "location": sample.location,
        "unitOfMeasure": {"unit": sample.unit},
    }
    if sample.phase:
        body["phase"] = sample.phase
    return body


def transaction_event(
    event_type: str,
    trigger: str,
    tx: TransactionRef,
    sent_at: float,
    info: dict[str, Any] | None = None,
    **extra: Any,
) -> tuple[str, dict[str, Any]]:
    transaction_info: dict[str, Any] = {"transactionId": str(tx.transaction_id)}
    if info:
        transaction_info.update(info)
    return "TransactionEvent", {
        "eventType": event_type,
        "timestamp": format_timestamp(sent_at),
        "triggerReason": trigger,
        "seqNo": tx.seq_no,
        "transactionInfo": transaction_info,
        **extra,
    }


def _evse(connector_id: int) -> dict[str, int]:
    return {"id": connector_id, "connectorId": 1}  # one connector per EVSE


def encode_session_call(message: SessionMessage) -> tuple[str, dict[str, Any]]:
    if isinstance(message, TransactionStarted):
        return _started(message)
    if isinstance(message, StatusReport):
        return "StatusNotification", {
            "timestamp": format_timestamp(message.sent_at),
            "connectorStatus": message.status,
            "evseId": message.connector_id,
            "connectorId": 1,
        }
    if isinstance(message, ChargingStateChanged):
        state = {"chargingState": message.state}
        return transaction_event("Updated", message.trigger, message.tx, message.sent_at, state)
    if isinstance(message, TransactionTriggered):
        return transaction_event("Updated", "Trigger", message.tx, message.sent_at)
    if isinstance(message, TransactionAuthorized):
        info: dict[str, Any] = {}
        if message.remote_start_id is not None:
            info["remoteStartId"] = message.remote_start_id
        extra: dict[str, Any] = {"idToken": station_id_token(message.id_tag, message.id_token_type)}
        if message.reservation_id is not None:
            extra["reservationId"] = message.reservation_id
        return transaction_event(
            "Updated", message.trigger, message.tx, message.sent_at, info, **extra
        )
    if isinstance(message, MeterValuesReport):
        value = [common.encode_meter_value(message.value, sampled_value)]
        if message.tx is not None:
            return transaction_event(
                "Updated", message.trigger, message.tx, message.sent_at, meterValue=value
            )
        return "MeterValues", {"evseId": message.connector_id, "meterValue": value}
    if isinstance(message, OperationModeChanged):  # 2.1's (codecs/ocpp21_sessions.py)
        raise TypeError(f"OCPP 2.0.1 has no message for {message!r}")
    return _ended(message)


def _started(message: TransactionStarted) -> tuple[str, dict[str, Any]]:
    extra: dict[str, Any] = {
        "evse": _evse(message.tx.connector_id),
        "meterValue": [common.encode_meter_value(message.begin, sampled_value)],
    }
    info: dict[str, Any] = {"chargingState": "EVConnected"}
    if message.remote_start_id is not None:
        info["remoteStartId"] = message.remote_start_id
    if message.tariff_id is not None:  # 2.1 local cost
        info["tariffId"] = message.tariff_id
    if message.id_tag is not None:
        extra["idToken"] = station_id_token(message.id_tag, message.id_token_type)
    if message.reservation_id is not None:
        extra["reservationId"] = message.reservation_id
    return transaction_event("Started", message.trigger, message.tx, message.sent_at, info, **extra)


def _ended(message: TransactionEnded) -> tuple[str, dict[str, Any]]:
    stopped, trigger = stop_reason_to_2x(message.reason)
    extra: dict[str, Any] = {"evse": _evse(message.tx.connector_id)}
    if message.end is not None:
        extra["meterValue"] = [common.encode_meter_value(message.end, sampled_value)]
    if message.id_tag is not None and trigger == "StopAuthorized":
        extra["idToken"] = station_id_token(message.id_tag)
    info: dict[str, Any] = {
        "stoppedReason": stopped,
        "chargingState": "EVConnected" if message.plugged else "Idle",
        "timeSpentCharging": int(max(0.0, message.stopped_at - message.started_at)),
    }
    if message.tariff_id is not None:  # 2.1 local cost
        info["tariffId"] = message.tariff_id
    if message.cost is not None:
        extra["costDetails"] = encode_cost_details(message.cost)
    return transaction_event("Ended", trigger, message.tx, message.sent_at, info, **extra)


def decode_session_answer(message: SessionMessage, payload: dict[str, Any]) -> SessionAnswer:
    info = payload.get("idTokenInfo")
    if isinstance(message, TransactionStarted):
        # The station names its transactions; an answer without idTokenInfo accepts the tag.
        accepted = id_tag_info(info or {"status": "Accepted"})
        return TransactionStartedAnswer(None, accepted if message.id_tag is not None else None)
    if isinstance(message, TransactionAuthorized):
        return TransactionAuthorizedAnswer(id_tag_info(info or {"status": "Accepted"}))
    if isinstance(message, TransactionEnded):
        return TransactionEndedAnswer(id_tag_info(info) if info else None)
    if isinstance(message, StatusReport | ChargingStateChanged | TransactionTriggered):
        return Received()
    return MeterValuesAnswer()


def queued_session_answer(message: SessionMessage, payload: dict[str, Any]) -> SessionAnswer:
    """Queued offline: answered later, nothing to learn now."""
    return decode_session_answer(message, {})


def queued_transaction(action: str, payload: dict[str, Any]) -> str | None:
    """The transaction a queued TransactionEvent belongs to, by the station's own id."""
    if action != "TransactionEvent":
        return None
    return str(payload["transactionInfo"]["transactionId"])


def offline_variant(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "offline": True}


def queued_delivered(
    action: str, payload: dict[str, Any], answer: dict[str, Any]
) -> QueuedStartDelivered | None:
    """2.x transaction ids are the station's own: nothing to learn once delivered."""
    return None
