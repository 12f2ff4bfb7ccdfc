"""What TriggerMessage shares between OCPP 1.6 (TriggerMessage, the security whitepaper's
ExtendedTriggerMessage) and 2.x: the answer's shape, and the words every version triggers
alike. Each version's codec adds its own words to `COMMON_TRIGGERS`; a word it has none for
is decoded as no target (answered NotImplemented)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voltlab.fleet.machine.trigger_messages import TriggerAnswer, TriggerRequest, TriggerTarget

COMMON_TRIGGERS: Mapping[str, TriggerTarget] = {
    "BootNotification": "BootNotification",
    "Heartbeat": "Heartbeat",
    "StatusNotification": "StatusNotification",
    "MeterValues": "MeterValues",
    "FirmwareStatusNotification": "FirmwareStatus",
}


def decode_trigger(
    words: Mapping[str, TriggerTarget], requested: str, connector_id: int | None
) -> TriggerRequest:
    return TriggerRequest(words.get(requested), connector_id)


def encode_trigger_answer(answer: TriggerAnswer) -> dict[str, Any]:
    return {"status": answer.status}
