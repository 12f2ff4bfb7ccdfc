"""OCPI ChargingProfiles received by a virtual CPO, carried out on its chargers: the
ChargingProfileResponse comes at once; the result object is POSTed to the eMSP's response_url
once the charger answered GetCompositeSchedule / SetChargingProfile / ClearChargingProfile.

A session maps to a charger through the stored OCPI session (location_id, evse_uid), the
network index (identity, connector id) and the CSMS's open transaction on that connector. The
profile set is a TxProfile on that transaction, at stack level 1, with an id derived from the
session id so that a later DELETE clears exactly it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voltlab.cpo.roaming import RoamingBridge, ocpi_time, session_id_for
from voltlab.csms.server import BuiltinCsms
from voltlab.ocpi.chargingprofiles_module import ProfileAction
from voltlab.ocpi.envelope import parse_datetime
from voltlab.ocpi.service import OcpiService
from voltlab.ocpp.versions import is_ocpp2
from voltlab.tasks import BackgroundTasks

log = logging.getLogger(__name__)

PROFILE_TIMEOUT = 30  # seconds the eMSP is told to wait for the result
STACK_LEVEL = 1
STATION_CALL_TIMEOUT = 20.0


@dataclass(frozen=True)
class SessionTarget:
    identity: str
    connector_id: int  # the 1.6 connector id / 2.x EVSE id
    transaction_id: int  # the CSMS's id of the transaction
    station_transaction_id: str | None  # the 2.x station's own id (None for 1.6)
    ocpp_version: str


def profile_id_for(session_id: str) -> int:
    """A stable positive OCPP chargingProfileId for an OCPI session."""
    return (zlib.crc32(session_id.encode()) & 0x7FFFFFFF) or 1


def _limit(value: Any) -> float:
    return round(float(value), 1)


def ocpp_schedule(profile: dict[str, Any], *, absolute: bool) -> dict[str, Any]:
    """An OCPI ChargingProfile's schedule in OCPP shape (1.6 chargingSchedule; 2.0.1 adds an id)."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": profile["charging_rate_unit"],
        "chargingSchedulePeriod": [
            {"startPeriod": int(p["start_period"]), "limit": _limit(p["limit"])}
            for p in profile.get("charging_profile_period") or []
        ],
    }
    if profile.get("duration") is not None:
        schedule["duration"] = int(profile["duration"])
    if absolute:
        schedule["startSchedule"] = ocpi_time(parse_datetime(profile["start_date_time"]))
    if profile.get("min_charging_rate") is not None:
        schedule["minChargingRate"] = _limit(profile["min_charging_rate"])
    return schedule


def set_profile_payload(
    target: SessionTarget, profile_id: int, profile: dict[str, Any]
) -> dict[str, Any]:
    """SetChargingProfile request for the target's version: a TxProfile on its transaction."""
    absolute = profile.get("start_date_time") is not None
    kind = "Absolute" if absolute else "Relative"
    schedule = ocpp_schedule(profile, absolute=absolute)
    if is_ocpp2(target.ocpp_version):
        return {
            "evseId": target.connector_id,
            "chargingProfile": {
                "id": profile_id,
                "stackLevel": STACK_LEVEL,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": kind,
                "transactionId": target.station_transaction_id,
                "chargingSchedule": [{"id": profile_id, **schedule}],
            },
        }
    return {
        "connectorId": target.connector_id,
        "csChargingProfiles": {
            "chargingProfileId": profile_id,
            "transactionId": target.transaction_id,
            "stackLevel": STACK_LEVEL,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": kind,
            "chargingSchedule": schedule,
        },
    }


def clear_profile_payload(target: SessionTarget, profile_id: int) -> dict[str, Any]:
    if is_ocpp2(target.ocpp_version):
        return {"chargingProfileId": profile_id}
    return {"id": profile_id}


def composite_payload(target: SessionTarget, duration: int) -> dict[str, Any]:
    key = "evseId" if is_ocpp2(target.ocpp_version) else "connectorId"
    return {key: target.connector_id, "duration": duration}


def active_profile_result(answer: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A GetCompositeSchedule answer (1.6 or 2.0.1) as an OCPI ActiveChargingProfileResult."""
    if answer.get("status") != "Accepted":
        return {"result": "REJECTED"}
    schedule = answer.get("schedule") or answer.get("chargingSchedule")
    if not isinstance(schedule, dict):
        return {"result": "ACCEPTED"}
    start_text = answer.get("scheduleStart") or schedule.get("scheduleStart")
    start_text = start_text or schedule.get("startSchedule")
    start = ocpi_time(parse_datetime(start_text)) if start_text else ocpi_time(now)
    charging_profile: dict[str, Any] = {
        "start_date_time": start,
        "charging_rate_unit": schedule.get("chargingRateUnit", "W"),
        "charging_profile_period": [
            {"start_period": int(p["startPeriod"]), "limit": float(p["limit"])}
            for p in schedule.get("chargingSchedulePeriod") or []
        ],
    }
    if schedule.get("duration") is not None:
        charging_profile["duration"] = int(schedule["duration"])
    if schedule.get("minChargingRate") is not None:
        charging_profile["min_charging_rate"] = float(schedule["minChargingRate"])
    return {
        "result": "ACCEPTED",
        "profile": {"start_date_time": start, "charging_profile": charging_profile},
    }


class SmartChargingBridge:
    """The cpo layer's `voltlab.ocpi.chargingprofiles_module.ChargingProfileHandler`."""

    def __init__(self, ocpi: OcpiService, csms: BuiltinCsms, roaming: RoamingBridge) -> None:
        self.ocpi = ocpi
        self.csms = csms
        self.roaming = roaming
        self._background = BackgroundTasks("OCPI charging profiles")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._background.spawn(coro)

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for the work started in the background; see `BackgroundTasks.drain`."""
        return await self._background.drain(timeout)

    # -- the OCPI ChargingProfileHandler -------------------------------------------------------

    async def __call__(
        self, cpo_id: str, action: ProfileAction, session_id: str, request: dict[str, Any]
    ) -> tuple[str, int]:
        target = self.target(cpo_id, session_id)
        if target is None:
            return "UNKNOWN_SESSION", PROFILE_TIMEOUT
        if is_ocpp2(target.ocpp_version) and target.station_transaction_id is None:
            return "UNKNOWN_SESSION", PROFILE_TIMEOUT
        response_url = str(request["response_url"])
        if action == "GET":
            self._spawn(self._get(cpo_id, target, int(request["duration"]), response_url))
        elif action == "SET":
            profile = request["charging_profile"]
            if not profile.get("charging_profile_period"):
                return "REJECTED", PROFILE_TIMEOUT  # OCPP needs at least one period
            self._spawn(self._set(cpo_id, session_id, target, profile, response_url))
        elif action == "CLEAR":
            self._spawn(self._clear(cpo_id, session_id, target, response_url))
        else:
            return "NOT_SUPPORTED", PROFILE_TIMEOUT
        return "ACCEPTED", PROFILE_TIMEOUT

    def target(self, cpo_id: str, session_id: str) -> SessionTarget | None:
        """The connected charger and open transaction behind an ACTIVE OCPI session."""
        session = self.ocpi.get_object(cpo_id, "session", session_id)
        if session is None or session.get("status") != "ACTIVE":
            return None
        index = self.roaming.index(cpo_id)
        location_id, evse_uid = session.get("location_id"), session.get("evse_uid")
        station = (
            index.station(location_id, evse_uid)
            if index is not None and isinstance(location_id, str) and isinstance(evse_uid, str)
            else None
        )
        if station is None:
            return None
        identity, connector_id = station
        tx = self.csms.find_transaction_by_connector(cpo_id, identity, connector_id)
        if tx is None or session_id_for(cpo_id, identity, tx.transaction_id) != session_id:
            return None
        version = self.csms.link_version(cpo_id, identity)
        if version is None:  # not connected: the station cannot be asked
            return None
        return SessionTarget(
            identity=identity,
            connector_id=connector_id,
            transaction_id=tx.transaction_id,
            station_transaction_id=tx.station_transaction_id,
            ocpp_version=version,
        )

    # -- background work -----------------------------------------------------------------------

    async def _call(
        self, cpo_id: str, target: SessionTarget, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(
            await self.csms.call(
                cpo_id, target.identity, action, payload, timeout=STATION_CALL_TIMEOUT
            )
        )

    async def _get(
        self, cpo_id: str, target: SessionTarget, duration: int, response_url: str
    ) -> None:
        try:
            answer = await self._call(
                cpo_id, target, "GetCompositeSchedule", composite_payload(target, duration)
            )
            body = active_profile_result(answer, self.ocpi.now())
        except Exception as exc:  # noqa: BLE001 - reported to the eMSP as REJECTED
            log.warning("GetCompositeSchedule on %s failed: %s", target.identity, exc)
            body = {"result": "REJECTED"}
        await self.ocpi.send_result(cpo_id, response_url, body)

    async def _set(
        self,
        cpo_id: str,
        session_id: str,
        target: SessionTarget,
        profile: dict[str, Any],
        response_url: str,
    ) -> None:
        payload = set_profile_payload(target, profile_id_for(session_id), profile)
        try:
            answer = await self._call(cpo_id, target, "SetChargingProfile", payload)
            result = "ACCEPTED" if answer.get("status") == "Accepted" else "REJECTED"
        except Exception as exc:  # noqa: BLE001 - reported to the eMSP as REJECTED
            log.warning("SetChargingProfile on %s failed: %s", target.identity, exc)
            result = "REJECTED"
        await self.ocpi.send_result(cpo_id, response_url, {"result": result})

    async def _clear(
        self, cpo_id: str, session_id: str, target: SessionTarget, response_url: str
    ) -> None:
        payload = clear_profile_payload(target, profile_id_for(session_id))
        try:
            answer = await self._call(cpo_id, target, "ClearChargingProfile", payload)
            status = answer.get("status")
            result = {"Accepted": "ACCEPTED", "Unknown": "UNKNOWN"}.get(str(status), "REJECTED")
        except Exception as exc:  # noqa: BLE001 - reported to the eMSP as REJECTED
            log.warning("ClearChargingProfile on %s failed: %s", target.identity, exc)
            result = "REJECTED"
        await self.ocpi.send_result(cpo_id, response_url, {"result": result})
