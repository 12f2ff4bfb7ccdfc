"""OCPP 2.0.1 / 2.1 codec for ChangeAvailability: an EVSE (no evse: the whole station)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.messages import ChangeAvailability, ChangeAvailabilityAnswer


def decode_change_availability(payload: dict[str, Any]) -> ChangeAvailability:
    evse_id = (payload.get("evse") or {}).get("id", 0)
    return ChangeAvailability(evse_id, payload["operationalStatus"] == "Operative")


def encode_change_availability_answer(answer: ChangeAvailabilityAnswer) -> dict[str, Any]:
    return {"status": answer.status}


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "ChangeAvailability": RequestCodec(
        decode_change_availability, encode_change_availability_answer
    ),
}
