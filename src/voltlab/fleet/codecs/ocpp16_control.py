"""OCPP 1.6 codec for the requests that control charging: RemoteStartTransaction,
RemoteStopTransaction, SetChargingProfile, ClearChargingProfile."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import common
from voltlab.fleet.codecs.common import read_profile
from voltlab.fleet.machine.control_messages import (
    ClearChargingProfile,
    ClearChargingProfileAnswer,
    ControlAnswer,
    RemoteStartRequest,
    SetChargingProfile,
)
from voltlab.fleet.smart_charging import ChargingProfile


def decode_remote_start(payload: dict[str, Any]) -> RemoteStartRequest:
    profile, problem = read_profile(payload.get("chargingProfile"), ChargingProfile.from_ocpp16)
    return RemoteStartRequest(
        payload.get("connectorId"), payload["idTag"], None, profile, problem is not None
    )


def decode_set_charging_profile(payload: dict[str, Any]) -> SetChargingProfile:
    profile, problem = read_profile(payload["csChargingProfiles"], ChargingProfile.from_ocpp16)
    return SetChargingProfile(payload["connectorId"], profile, problem)


def decode_clear_charging_profile(payload: dict[str, Any]) -> ClearChargingProfile:
    return common.clear_criteria(payload, ("id", "connectorId"))


def encode_control_answer(answer: ControlAnswer) -> dict[str, Any]:
    if isinstance(answer, ClearChargingProfileAnswer):
        return common.encode_clear_charging_profile_answer(answer)
    return {"status": answer.status}  # 1.6 has no status info
