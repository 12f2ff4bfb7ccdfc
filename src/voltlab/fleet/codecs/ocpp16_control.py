"""OCPP 1.6 codec for the requests that control charging and the station: RemoteStart- and
RemoteStopTransaction, SetChargingProfile, ClearChargingProfile, Reset, UnlockConnector."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import common
from voltlab.fleet.codecs import ocpp16_profiles as profiles16
from voltlab.fleet.codecs.common import decode_remote_stop, read_profile
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.control_messages import (
    ClearChargingProfile,
    ClearChargingProfileAnswer,
    ControlAnswer,
    RemoteStartRequest,
    ResetRequest,
    SetChargingProfile,
    UnlockAnswer,
    UnlockRequest,
)


def decode_remote_start(payload: dict[str, Any]) -> RemoteStartRequest:
    profile, problem = read_profile(payload.get("chargingProfile"), profiles16.decode_profile)
    return RemoteStartRequest(
        payload.get("connectorId"), payload["idTag"], None, profile, problem is not None
    )


def decode_set_charging_profile(payload: dict[str, Any]) -> SetChargingProfile:
    profile, problem = read_profile(payload["csChargingProfiles"], profiles16.decode_profile)
    return SetChargingProfile(payload["connectorId"], profile, problem)


def decode_clear_charging_profile(payload: dict[str, Any]) -> ClearChargingProfile:
    return common.clear_criteria(payload, ("id", "connectorId"))


def decode_reset(payload: dict[str, Any]) -> ResetRequest:
    return ResetRequest(hard=payload["type"] == "Hard")


def decode_unlock(payload: dict[str, Any]) -> UnlockRequest:
    return UnlockRequest(payload["connectorId"])


def encode_control_answer(answer: ControlAnswer) -> dict[str, Any]:
    if isinstance(answer, UnlockAnswer) and answer.status == "UnknownConnector":
        return {"status": "NotSupported"}  # 1.6's word for a connector it does not have
    if isinstance(answer, ClearChargingProfileAnswer):
        return common.encode_clear_charging_profile_answer(answer)
    return {"status": answer.status}  # 1.6 has no status info


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "RemoteStartTransaction": RequestCodec(decode_remote_start, encode_control_answer),
    "SetChargingProfile": RequestCodec(decode_set_charging_profile, encode_control_answer),
    "ClearChargingProfile": RequestCodec(decode_clear_charging_profile, encode_control_answer),
    "RemoteStopTransaction": RequestCodec(decode_remote_stop, encode_control_answer),
    "Reset": RequestCodec(decode_reset, encode_control_answer),
    "UnlockConnector": RequestCodec(decode_unlock, encode_control_answer, answer_after_calls=True),
}
