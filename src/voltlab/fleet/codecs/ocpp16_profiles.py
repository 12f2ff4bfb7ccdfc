"""OCPP 1.6 codec for charging profiles: `csChargingProfiles` (SetChargingProfile,
RemoteStartTransaction) and GetCompositeSchedule."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import profile_shape as shape
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.model.charging_profile import PURPOSES, ChargingProfile
from voltlab.fleet.model.smart_charging import CompositeSchedule
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

Payload = dict[str, Any]


def decode_profile(body: Payload) -> ChargingProfile:
    """A 1.6 `csChargingProfiles` object; ProfileError when it is not one."""
    return shape.read_guarded(body, "1.6", _read_profile)


def _read_profile(body: Payload) -> ChargingProfile:
    return ChargingProfile(
        id=int(body["chargingProfileId"]),
        purpose=shape.known(body["chargingProfilePurpose"], PURPOSES, "purpose"),
        transaction_id=body.get("transactionId"),
        **shape.profile_fields(body, body["chargingSchedule"]),
    )


def encode_profile(profile: ChargingProfile) -> Payload:
    body: Payload = {"chargingProfileId": profile.id}
    body.update(shape.profile_head(profile, profile.purpose))
    transaction_id = _integer_or_none(profile.transaction_id)
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    body["chargingSchedule"] = shape.schedule_json(profile)
    return body


def _accepted_composite(composite: CompositeSchedule, periods: list[Payload]) -> Payload:
    start = format_timestamp(composite["start"])
    return {
        "connectorId": composite["connector_id"],
        "scheduleStart": start,
        "chargingSchedule": {
            "startSchedule": start,
            **shape.composite_schedule_json(composite, periods),
        },
    }


COMPOSITE = shape.CompositeWords("connectorId", _accepted_composite)
decode_get_composite_schedule = COMPOSITE.decode_request
encode_composite_answer = COMPOSITE.encode_answer
# A composite schedule as a GetCompositeSchedule.conf payload.
encode_composite = COMPOSITE.encode


def _integer_or_none(value: str | int | None) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None  # a 2.x string id has no 1.6 form


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetCompositeSchedule": RequestCodec(decode_get_composite_schedule, encode_composite_answer),
}
