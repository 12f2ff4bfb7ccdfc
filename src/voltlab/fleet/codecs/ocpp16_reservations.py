"""OCPP 1.6 codec for reservations: ReserveNow and CancelReservation. 1.6 has no message for
a reservation that ended; the connector's StatusNotification says it."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.messages import (
    CancelReservation,
    CancelReservationAnswer,
    ReserveNow,
    ReserveNowAnswer,
)
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp


def decode_reserve_now(payload: dict[str, Any]) -> ReserveNow:
    return ReserveNow(
        reservation_id=payload["reservationId"],
        connector_id=payload["connectorId"],
        id_tag=payload["idTag"],
        parent_id_tag=payload.get("parentIdTag"),
        expires_at=parse_timestamp(payload["expiryDate"]),
    )


def decode_cancel_reservation(payload: dict[str, Any]) -> CancelReservation:
    return CancelReservation(payload["reservationId"])


def encode_answer(answer: ReserveNowAnswer | CancelReservationAnswer) -> dict[str, Any]:
    return {"status": answer.status}


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "ReserveNow": RequestCodec(decode_reserve_now, encode_answer),
    "CancelReservation": RequestCodec(decode_cancel_reservation, encode_answer),
}
