"""OCPP 2.0.1 / 2.1 codec for the requests that control charging and the station:
RequestStart- and RequestStopTransaction, SetChargingProfile, ClearChargingProfile, Reset,
UnlockConnector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voltlab.fleet.codecs import common
from voltlab.fleet.codecs import ocpp201_profiles as profiles201
from voltlab.fleet.codecs.common import decode_remote_stop, read_profile
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.control_messages import (
    ClearChargingProfile,
    ClearChargingProfileAnswer,
    ControlAnswer,
    RemoteStartAnswer,
    RemoteStartRequest,
    ResetRequest,
    SetChargingProfile,
    SetChargingProfileAnswer,
    UnlockRequest,
)
from voltlab.fleet.model.charging_profile import ChargingProfile

REASON_CODE_LENGTH = 20  # StatusInfoType.reasonCode is a string(20)


ProfileDecoder = Callable[[dict[str, Any]], ChargingProfile]


def decode_request_start(
    payload: dict[str, Any], decode_profile: ProfileDecoder = profiles201.decode_profile
) -> RemoteStartRequest:
    """RequestStartTransaction; 2.1 reads its profile with its own `decode_profile`."""
    profile, problem = read_profile(payload.get("chargingProfile"), decode_profile)
    token = payload["idToken"]["idToken"]
    start_id = payload["remoteStartId"]
    return RemoteStartRequest(payload.get("evseId"), token, start_id, profile, problem is not None)


def decode_set_charging_profile(
    payload: dict[str, Any], decode_profile: ProfileDecoder = profiles201.decode_profile
) -> SetChargingProfile:
    """SetChargingProfile; 2.1 reads its profile with its own `decode_profile`."""
    profile, problem = read_profile(payload["chargingProfile"], decode_profile)
    return SetChargingProfile(payload["evseId"], profile, problem)


def decode_clear_charging_profile(payload: dict[str, Any]) -> ClearChargingProfile:
    criteria = payload.get("chargingProfileCriteria") or {}
    given = {"chargingProfileId": payload.get("chargingProfileId"), **criteria}
    return common.clear_criteria(given, ("chargingProfileId", "evseId"))


def decode_reset(payload: dict[str, Any]) -> ResetRequest:
    # 2.x resets are all hard; OnIdle waits for the running transactions.
    return ResetRequest(True, payload["type"] == "OnIdle", payload.get("evseId"))


def decode_unlock(payload: dict[str, Any]) -> UnlockRequest:
    # One connector per EVSE: connectorId 1 is the only one.
    return UnlockRequest(payload["evseId"] if payload["connectorId"] == 1 else None)


def encode_control_answer(answer: ControlAnswer) -> dict[str, Any]:
    if isinstance(answer, ClearChargingProfileAnswer):
        return common.encode_clear_charging_profile_answer(answer)
    body: dict[str, Any] = {"status": answer.status}
    if isinstance(answer, RemoteStartAnswer) and answer.transaction_id is not None:
        body["transactionId"] = answer.transaction_id
    if isinstance(answer, SetChargingProfileAnswer) and answer.reason is not None:
        body["statusInfo"] = {"reasonCode": answer.reason[:REASON_CODE_LENGTH]}
    return body


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "RequestStartTransaction": RequestCodec(decode_request_start, encode_control_answer),
    "RequestStopTransaction": RequestCodec(decode_remote_stop, encode_control_answer),
    "SetChargingProfile": RequestCodec(decode_set_charging_profile, encode_control_answer),
    "ClearChargingProfile": RequestCodec(decode_clear_charging_profile, encode_control_answer),
    "Reset": RequestCodec(decode_reset, encode_control_answer),
    "UnlockConnector": RequestCodec(decode_unlock, encode_control_answer, answer_after_calls=True),
}
