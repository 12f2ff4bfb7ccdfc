"""OCPP 1.6 codec for TriggerMessage and the security whitepaper's ExtendedTriggerMessage: the
messages each may ask for, in the station's words (`connectorId` 0 is the Charge Point)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.codecs.shared_triggers import (
    COMMON_TRIGGERS,
    decode_trigger,
    encode_trigger_answer,
)
from voltlab.fleet.machine.trigger_messages import TriggerRequest, TriggerTarget

TRIGGERS_16: Mapping[str, TriggerTarget] = {
    **COMMON_TRIGGERS,
    "DiagnosticsStatusNotification": "DiagnosticsStatus",
}
EXTENDED_TRIGGERS_16: Mapping[str, TriggerTarget] = {
    **COMMON_TRIGGERS,
    "LogStatusNotification": "LogStatus",
    "SignChargePointCertificate": "SignCertificate",
}


def decode_trigger_message(payload: dict[str, Any]) -> TriggerRequest:
    return decode_trigger(TRIGGERS_16, payload["requestedMessage"], payload.get("connectorId"))


def decode_extended_trigger_message(payload: dict[str, Any]) -> TriggerRequest:
    requested = payload["requestedMessage"]
    return decode_trigger(EXTENDED_TRIGGERS_16, requested, payload.get("connectorId"))


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "TriggerMessage": RequestCodec(decode_trigger_message, encode_trigger_answer),
    "ExtendedTriggerMessage": RequestCodec(decode_extended_trigger_message, encode_trigger_answer),
}
