"""OCPP 2.1 codec for a session's messages: 2.0.1's (`ocpp201_sessions`), and the
TransactionEvent 2.1 adds for a transaction whose schedule changed its operation mode
(triggerReason OperationModeChanged, `transactionInfo.operationMode`)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import ocpp201_sessions as sessions201
from voltlab.fleet.codecs.ocpp201_sessions import (
    offline_variant,
    queued_delivered,
    queued_session_answer,
    queued_transaction,
)
from voltlab.fleet.machine.session_messages import (
    OperationModeChanged,
    Received,
    SessionAnswer,
    SessionMessage,
)

__all__ = [
    "decode_session_answer",
    "encode_session_call",
    "offline_variant",
    "queued_delivered",
    "queued_session_answer",
    "queued_transaction",
]


def encode_session_call(message: SessionMessage) -> tuple[str, dict[str, Any]]:
    if isinstance(message, OperationModeChanged):
        mode = {"operationMode": message.mode}
        return sessions201.transaction_event(
            "Updated", "OperationModeChanged", message.tx, message.sent_at, mode
        )
    return sessions201.encode_session_call(message)


def decode_session_answer(message: SessionMessage, payload: dict[str, Any]) -> SessionAnswer:
    if isinstance(message, OperationModeChanged):
        return Received()
    return sessions201.decode_session_answer(message, payload)
