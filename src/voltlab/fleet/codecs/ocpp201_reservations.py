"""OCPP 2.0.1 / 2.1 codec for reservations: ReserveNow, CancelReservation and
ReservationStatusUpdate."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.messages import (
    CancelReservation,
    CancelReservationAnswer,
    ReservationEnded,
    ReserveNow,
    ReserveNowAnswer,
)
from voltlab.fleet.model.device_model_catalog import CONNECTOR_TYPES_201
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

# ConnectorEnumType -> the catalog's (OCPI) connector type, the inverse of the device model's.
CATALOG_CONNECTOR_TYPES = {wire: catalog for catalog, wire in CONNECTOR_TYPES_201.items()}


def decode_reserve_now(payload: dict[str, Any]) -> ReserveNow:
    wanted = payload.get("connectorType")
    return ReserveNow(
        reservation_id=payload["id"],
        # No evseId: any EVSE of the station, what 1.6 calls connector 0.
        connector_id=payload.get("evseId") or 0,
        id_tag=payload["idToken"]["idToken"],
        parent_id_tag=(payload.get("groupIdToken") or {}).get("idToken"),
        expires_at=parse_timestamp(payload["expiryDateTime"]),
        connector_type=CATALOG_CONNECTOR_TYPES.get(wanted, wanted) if wanted else None,
    )


def decode_cancel_reservation(payload: dict[str, Any]) -> CancelReservation:
    return CancelReservation(payload["reservationId"])


def encode_answer(answer: ReserveNowAnswer | CancelReservationAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def encode_reservation_ended(message: ReservationEnded) -> tuple[str, dict[str, Any]]:
    return "ReservationStatusUpdate", {
        "reservationId": message.reservation_id,
        "reservationUpdateStatus": message.reason,
    }


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "ReserveNow": RequestCodec(decode_reserve_now, encode_answer),
    "CancelReservation": RequestCodec(decode_cancel_reservation, encode_answer),
}
