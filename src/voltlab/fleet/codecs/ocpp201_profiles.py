"""OCPP 2.0.1 / 2.1 codec for charging profiles: `chargingProfile` (SetChargingProfile,
RequestStartTransaction), GetCompositeSchedule, GetChargingProfiles and the
ReportChargingProfiles that answer it."""

from __future__ import annotations

from functools import partial
from typing import Any

from voltlab.fleet.codecs import profile_shape as shape
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.control_messages import (
    ChargingProfilesReport,
    GetChargingProfiles,
    GetChargingProfilesAnswer,
)
from voltlab.fleet.model.charging_profile import (
    CHARGE_POINT_MAX,
    PURPOSE_ALIASES,
    REASON_INVALID_SCHEDULE,
    REASON_UNSUPPORTED,
    STATION_MAX_201,
    TX_DEFAULT,
    TX_PROFILE,
    ChargingProfile,
    ProfileError,
)
from voltlab.fleet.model.smart_charging import CompositeSchedule
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

Payload = dict[str, Any]
PURPOSES_201 = (STATION_MAX_201, TX_DEFAULT, TX_PROFILE)
EXTERNAL_CONSTRAINTS = "ChargingStationExternalConstraints"
# Every profile the station holds came from the CSMS: its source is the CSO.
REPORTED_LIMIT_SOURCE = "CSO"


def decode_profile(
    body: Payload, read_period: shape.PeriodReader = shape.read_period_json
) -> ChargingProfile:
    """A 2.x `chargingProfile` object; ProfileError when it is not one. Only the first of its
    (up to three) schedules is used: the others are ISO 15118 alternatives offered to the EV,
    not extra limits. 2.1 reads its periods' additions with its own `read_period`."""
    if body.get("chargingProfilePurpose") == EXTERNAL_CONSTRAINTS:
        raise ProfileError(REASON_UNSUPPORTED, f"{EXTERNAL_CONSTRAINTS} is not simulated")
    return shape.read_guarded(body, "2.x", partial(_read_profile, read_period=read_period))


def _read_profile(body: Payload, read_period: shape.PeriodReader) -> ChargingProfile:
    schedules = body["chargingSchedule"]
    if not schedules:
        raise ProfileError(REASON_INVALID_SCHEDULE, "chargingSchedule is empty")
    schedule = schedules[0]
    transaction_id = body.get("transactionId")
    return ChargingProfile(
        id=int(body["id"]),
        purpose=shape.known(body.get("chargingProfilePurpose"), PURPOSES_201, "purpose"),
        transaction_id=None if transaction_id is None else str(transaction_id),
        schedule_id=None if schedule.get("id") is None else int(schedule["id"]),
        **shape.profile_fields(body, schedule, read_period),
    )


def encode_profile(
    profile: ChargingProfile, write_period: shape.PeriodWriter = shape.period_json
) -> Payload:
    purpose = STATION_MAX_201 if profile.purpose == CHARGE_POINT_MAX else profile.purpose
    body: Payload = {"id": profile.id}
    body.update(shape.profile_head(profile, purpose))
    if profile.transaction_id is not None:
        body["transactionId"] = str(profile.transaction_id)
    schedule_id = profile.id if profile.schedule_id is None else profile.schedule_id
    body["chargingSchedule"] = [{"id": schedule_id, **shape.schedule_json(profile, write_period)}]
    return body


def _accepted_composite(composite: CompositeSchedule, periods: list[Payload]) -> Payload:
    return {
        "schedule": {
            "evseId": composite["connector_id"],
            "scheduleStart": format_timestamp(composite["start"]),
            **shape.composite_schedule_json(composite, periods),
        },
    }


COMPOSITE = shape.CompositeWords("evseId", _accepted_composite)
decode_get_composite_schedule = COMPOSITE.decode_request
encode_composite_answer = COMPOSITE.encode_answer
# A composite schedule as a GetCompositeScheduleResponse payload.
encode_composite = COMPOSITE.encode


def decode_get_charging_profiles(payload: Payload) -> GetChargingProfiles:
    # chargingLimitSource is not a criterion here: every profile the station holds is the CSO's.
    criteria = payload.get("chargingProfile") or {}
    ids = criteria.get("chargingProfileId")
    purpose = criteria.get("chargingProfilePurpose")
    return GetChargingProfiles(
        payload["requestId"],
        payload.get("evseId"),
        None if purpose is None else PURPOSE_ALIASES.get(purpose, purpose),
        criteria.get("stackLevel"),
        None if ids is None else tuple(ids),
    )


def encode_get_charging_profiles_answer(answer: GetChargingProfilesAnswer) -> Payload:
    return {"status": "Accepted" if answer.found else "NoProfiles"}


def encode_profiles_report(
    report: ChargingProfilesReport, write_period: shape.PeriodWriter = shape.period_json
) -> tuple[str, Payload]:
    body: Payload = {
        "requestId": report.request_id,
        "chargingLimitSource": REPORTED_LIMIT_SOURCE,
        "evseId": report.connector_id,
        "chargingProfile": [encode_profile(profile, write_period) for profile in report.profiles],
    }
    if report.more_follow:
        body["tbc"] = True
    return "ReportChargingProfiles", body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetCompositeSchedule": RequestCodec(decode_get_composite_schedule, encode_composite_answer),
    "GetChargingProfiles": RequestCodec(
        decode_get_charging_profiles, encode_get_charging_profiles_answer
    ),
}
