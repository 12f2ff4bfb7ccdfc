"""Typed CSMS -> station operations (RemoteStart, Reset, ...) over `BuiltinCsms.call`.

Each helper builds the request in the words of the station's negotiated OCPP version and
returns the ``status`` of the answer, exactly as the station spelt it. Errors are those of
`call`. Arguments are the same for every version; for 2.x stations a connector id is the
EVSE id (one connector per EVSE) and 0 means the whole station, as in 1.6:

============================  ===============================  ==============================
helper                        1.6                              2.x
============================  ===============================  ==============================
remote_start                  RemoteStartTransaction           RequestStartTransaction
remote_stop                   RemoteStopTransaction            RequestStopTransaction (the
                                                               station's own transaction id)
reserve_now                   ReserveNow (connectorId)         ReserveNow (evseId)
cancel_reservation            CancelReservation                CancelReservation
unlock_connector              UnlockConnector                  UnlockConnector (evseId, 1)
reset(hard=False / True)      Reset Soft / Hard                Reset OnIdle / Immediate
change_availability           ChangeAvailability               ChangeAvailability
trigger_message               TriggerMessage                   TriggerMessage
============================  ===============================  ==============================
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voltlab.csms import ocpp201_payloads as v2
from voltlab.csms.ocpp16 import remote_start_payload, reserve_now_payload
from voltlab.ocpp.versions import is_ocpp2

log = logging.getLogger(__name__)


class StationNotConnected(Exception):
    """The station has no open connection to this CSMS (or lost it during the call)."""


class StationOperations:
    """Mixin: needs ``call``, ``link_version``, ``station_transaction_id`` and
    ``next_remote_start_id`` (BuiltinCsms provides them)."""

    # Provided by the class this is mixed into (declared for the type checker only).
    if TYPE_CHECKING:

        async def call(
            self,
            cpo_id: str,
            identity: str,
            action: str,
            payload: dict[str, Any],
            timeout: float = 30.0,
        ) -> dict[str, Any]: ...

        def link_version(self, cpo_id: str, identity: str) -> str | None: ...

        def station_transaction_id(
            self, cpo_id: str, identity: str, transaction_id: int
        ) -> str | None: ...

        def next_remote_start_id(self) -> int: ...

    def _speaks_2x(self, cpo_id: str, identity: str) -> bool:
        # Not connected: build the 1.6 request; call() then raises StationNotConnected.
        version = self.link_version(cpo_id, identity)
        return version is not None and is_ocpp2(version)

    async def _status_call(
        self, cpo_id: str, identity: str, action: str, payload: dict[str, Any], timeout: float
    ) -> str:
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
        id_token_type: str | None = None,
        timeout: float = 30.0,
    ) -> str:
        """Start a transaction; the station's status (Accepted / Rejected).

        ``charging_profile`` must be in the station's version's shape. ``id_token_type``
        (2.x only) overrides the guess of `ocpp201_payloads.id_token_type_for`.
        """
        if self._speaks_2x(cpo_id, identity):
            payload = v2.request_start_payload(
                id_tag, connector_id, self.next_remote_start_id(), charging_profile, id_token_type
            )
            action = "RequestStartTransaction"
        else:
            payload = remote_start_payload(id_tag, connector_id, charging_profile)
            action = "RemoteStartTransaction"
        return await self._status_call(cpo_id, identity, action, payload, timeout)

    async def remote_stop(
        self, cpo_id: str, identity: str, transaction_id: int, *, timeout: float = 30.0
    ) -> str:
        """Stop a transaction by the CSMS's id of it; Accepted / Rejected."""
        if not self._speaks_2x(cpo_id, identity):
            payload: dict[str, Any] = {"transactionId": transaction_id}
            return await self._status_call(
                cpo_id, identity, "RemoteStopTransaction", payload, timeout
            )
        station_tx_id = self.station_transaction_id(cpo_id, identity, transaction_id)
        if station_tx_id is None:
            # Nothing the station could recognise to send; it would answer Rejected too.
            log.warning("%s/%s has no transaction %d", cpo_id, identity, transaction_id)
            return "Rejected"
        payload = {"transactionId": station_tx_id}
        return await self._status_call(cpo_id, identity, "RequestStopTransaction", payload, timeout)

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
        id_token_type: str | None = None,
        timeout: float = 30.0,
    ) -> str:
        """ReserveNow; Accepted / Faulted / Occupied / Rejected / Unavailable."""
        if self._speaks_2x(cpo_id, identity):
            payload = v2.reserve_now_payload(
                connector_id, expiry, id_tag, reservation_id, parent_id_tag, id_token_type
            )
        else:
            payload = reserve_now_payload(
                connector_id, expiry, id_tag, reservation_id, parent_id_tag
            )
        return await self._status_call(cpo_id, identity, "ReserveNow", payload, timeout)

    async def cancel_reservation(
        self, cpo_id: str, identity: str, reservation_id: int, *, timeout: float = 30.0
    ) -> str:
        payload = {"reservationId": reservation_id}  # the same in every version
        return await self._status_call(cpo_id, identity, "CancelReservation", payload, timeout)

    async def unlock_connector(
        self, cpo_id: str, identity: str, connector_id: int, *, timeout: float = 30.0
    ) -> str:
        """UnlockConnector; 1.6 Unlocked / UnlockFailed / NotSupported, 2.x Unlocked /
        UnlockFailed / OngoingAuthorizedTransaction / UnknownConnector."""
        if self._speaks_2x(cpo_id, identity):
            payload = v2.unlock_connector_payload(connector_id)
        else:
            payload = {"connectorId": connector_id}
        return await self._status_call(cpo_id, identity, "UnlockConnector", payload, timeout)

    async def reset(
        self, cpo_id: str, identity: str, *, hard: bool = False, timeout: float = 30.0
    ) -> str:
        """Reset; Accepted / Rejected (2.x also Scheduled)."""
        if self._speaks_2x(cpo_id, identity):
            payload = v2.reset_payload(hard)
        else:
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
        if self._speaks_2x(cpo_id, identity):
            payload = v2.change_availability_payload(connector_id, operative)
        else:
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
        """TriggerMessage with a 1.6 or 2.x message name (1.6 DiagnosticsStatusNotification
        is 2.x LogStatusNotification); Accepted / Rejected / NotImplemented."""
        if self._speaks_2x(cpo_id, identity):
            payload = v2.trigger_message_payload(message, connector_id)
        else:
            payload = {"requestedMessage": message}
            if connector_id is not None:
                payload["connectorId"] = connector_id
        return await self._status_call(cpo_id, identity, "TriggerMessage", payload, timeout)
