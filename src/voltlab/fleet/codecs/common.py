"""Shapes the 1.6 and 2.x codecs share: a MeterValue of samples said in a version's words,
a charging profile read out of a CSMS request, and the requests whose shape is the same in
both (RemoteStop/RequestStopTransaction name the transaction alike; ClearChargingProfile
answers alike)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voltlab.fleet.machine.control_messages import (
    ClearChargingProfile,
    ClearChargingProfileAnswer,
    RemoteStopRequest,
)
from voltlab.fleet.machine.session_messages import MeterValue
from voltlab.fleet.model.measurands import Sample
from voltlab.fleet.model.smart_charging import ChargingProfile, ProfileError
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

Payload = dict[str, Any]


def encode_meter_value(value: MeterValue, say: Callable[[Sample, str], Payload]) -> Payload:
    """One MeterValue: each sample said in the version's words by `say`."""
    return {
        "timestamp": format_timestamp(value.timestamp),
        "sampledValue": [say(sample, value.context) for sample in value.samples],
    }


def read_profile(
    body: Payload | None, parse: Callable[[Payload], ChargingProfile]
) -> tuple[ChargingProfile | None, str | None]:
    """A charging profile in a CSMS request, or why it could not be read (a reason code)."""
    if not body:
        return None, None
    try:
        return parse(body), None
    except ProfileError as exc:
        return None, exc.reason


def decode_remote_stop(payload: Payload) -> RemoteStopRequest:
    return RemoteStopRequest(payload["transactionId"])


def encode_clear_charging_profile_answer(answer: ClearChargingProfileAnswer) -> Payload:
    return {"status": "Accepted" if answer.cleared else "Unknown"}


def clear_criteria(fields: Payload, names: tuple[str, str]) -> ClearChargingProfile:
    """ClearChargingProfile's criteria; `names` are the version's words for the profile id
    and the connector (1.6 id, connectorId; 2.x chargingProfileId, evseId)."""
    profile_id, connector = names
    return ClearChargingProfile(
        fields.get(profile_id),
        fields.get(connector),
        fields.get("chargingProfilePurpose"),
        fields.get("stackLevel"),
    )
