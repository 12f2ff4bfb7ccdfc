"""Typed CSMS -> station operations (RemoteStart, Reset, ...) over `BuiltinCsms.call`.

Each helper builds the request for the station's OCPP version and returns the ``status`` of
the answer, exactly as the station spelt it. Errors are those of `call`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from voltlab.csms.ocpp16 import remote_start_payload, reserve_now_payload
from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.versions import OCPP16


class StationNotConnected(Exception):
    """The station has no open connection to this CSMS (or lost it during the call)."""


class StationOperations:
    """Mixin: needs ``call`` and ``link_version`` (BuiltinCsms provides both)."""

    async def call(
        self,
        cpo_id: str,
        identity: str,
        action: str,
        payload: dict[str, Any],
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        raise NotImplementedError

    def link_version(self, cpo_id: str, identity: str) -> str | None:
        raise NotImplementedError

    async def _status_call(
        self, cpo_id: str, identity: str, action: str, payload: dict[str, Any], timeout: float
    ) -> str:
        version = self.link_version(cpo_id, identity)
        if version is not None and version != OCPP16:  # 2.0.1 payloads differ: not mapped yet
            raise OcppError("NotSupported", f"the {action} helper exists for {OCPP16} only")
        answer = await self.call(cpo_id, identity, action, payload, timeout)
        return str(answer["status"])

    async def remote_start(
        self,
        cpo_id: str,
        identity: str,
        connector_id: int | None,
        id_tag: str,
        *,
        charging_profile: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> str:
        """RemoteStartTransaction; the station's status (Accepted / Rejected)."""
        payload = remote_start_payload(id_tag, connector_id, charging_profile)
        return await self._status_call(cpo_id, identity, "RemoteStartTransaction", payload, timeout)

    async def remote_stop(
        self, cpo_id: str, identity: str, transaction_id: int, *, timeout: float = 30.0
    ) -> str:
        payload = {"transactionId": transaction_id}
        return await self._status_call(cpo_id, identity, "RemoteStopTransaction", payload, timeout)

    async def reserve_now(
        self,
        cpo_id: str,
        identity: str,
        connector_id: int,
        id_tag: str,
        expiry: datetime,
        reservation_id: int,
        *,
        parent_id_tag: str | None = None,
        timeout: float = 30.0,
    ) -> str:
        """ReserveNow; Accepted / Faulted / Occupied / Rejected / Unavailable."""
        payload = reserve_now_payload(connector_id, expiry, id_tag, reservation_id, parent_id_tag)
        return await self._status_call(cpo_id, identity, "ReserveNow", payload, timeout)

    async def cancel_reservation(
        self, cpo_id: str, identity: str, reservation_id: int, *, timeout: float = 30.0
    ) -> str:
        payload = {"reservationId": reservation_id}
        return await self._status_call(cpo_id, identity, "CancelReservation", payload, timeout)

    async def unlock_connector(
        self, cpo_id: str, identity: str, connector_id: int, *, timeout: float = 30.0
    ) -> str:
        """UnlockConnector; Unlocked / UnlockFailed / NotSupported."""
        payload = {"connectorId": connector_id}
        return await self._status_call(cpo_id, identity, "UnlockConnector", payload, timeout)

    async def reset(
        self, cpo_id: str, identity: str, *, hard: bool = False, timeout: float = 30.0
    ) -> str:
        payload = {"type": "Hard" if hard else "Soft"}
        return await self._status_call(cpo_id, identity, "Reset", payload, timeout)

    async def change_availability(
        self,
        cpo_id: str,
        identity: str,
        connector_id: int,
        *,
        operative: bool,
        timeout: float = 30.0,
    ) -> str:
        """ChangeAvailability; Accepted / Rejected / Scheduled."""
        payload = {
            "connectorId": connector_id,
            "type": "Operative" if operative else "Inoperative",
        }
        return await self._status_call(cpo_id, identity, "ChangeAvailability", payload, timeout)

    async def trigger_message(
        self,
        cpo_id: str,
        identity: str,
        message: str,
        *,
        connector_id: int | None = None,
        timeout: float = 30.0,
    ) -> str:
        payload: dict[str, Any] = {"requestedMessage": message}
        if connector_id is not None:
            payload["connectorId"] = connector_id
        return await self._status_call(cpo_id, identity, "TriggerMessage", payload, timeout)
