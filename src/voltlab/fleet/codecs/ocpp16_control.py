"""OCPP 1.6 codec for the requests that control charging: RemoteStartTransaction,
RemoteStopTransaction, SetChargingProfile, ClearChargingProfile."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.common import read_profile
from voltlab.fleet.machine.control_messages import (
    ClearChargingProfile,
    ClearChargingProfileAnswer,
    RemoteStartAnswer,
    RemoteStartRequest,
    RemoteStopAnswer,
    RemoteStopRequest,
    SetChargingProfile,
    SetChargingProfileAnswer,
)
from voltlab.fleet.smart_charging import ChargingProfile


def decode_remote_start(payload: dict[str, Any]) -> RemoteStartRequest:
    profile, problem = read_profile(payload.get("chargingProfile"), ChargingProfile.from_ocpp16)
    return RemoteStartRequest(
        payload.get("connectorId"), payload["idTag"], None, profile, problem is not None
    )


def decode_remote_stop(payload: dict[str, Any]) -> RemoteStopRequest:
    return RemoteStopRequest(payload["transactionId"])


def decode_set_charging_profile(payload: dict[str, Any]) -> SetChargingProfile:
    profile, problem = read_profile(payload["csChargingProfiles"], ChargingProfile.from_ocpp16)
    return SetChargingProfile(payload["connectorId"], profile, problem)


def decode_clear_charging_profile(payload: dict[str, Any]) -> ClearChargingProfile:
    return ClearChargingProfile(
        payload.get("id"),
        payload.get("connectorId"),
        payload.get("chargingProfilePurpose"),
        payload.get("stackLevel"),
    )


def encode_control_answer(
    answer: RemoteStartAnswer
    | RemoteStopAnswer
    | SetChargingProfileAnswer
    | ClearChargingProfileAnswer,
) -> dict[str, Any]:
    if isinstance(answer, ClearChargingProfileAnswer):
        return {"status": "Accepted" if answer.cleared else "Unknown"}
    return {"status": answer.status}  # 1.6 has no status info
