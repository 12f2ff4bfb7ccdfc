"""The OCPP 2.0.1 (and 2.1) side of the built-in CSMS: answers for every request a charging
station may send, reported to the listener in the same terms as 1.6.

An `Ocpp201Session` serves one WebSocket of one 2.x station, like `Ocpp16Session` for 1.6:
requests become registry updates and `Notification`s; the only awaited decision is
authorization. TransactionEvent lives in `ocpp201_tx`; the station's 2.x state in
`ocpp201_state` (its statuses unfold to 1.6 words by `ocpp.vocabulary.connector_status`);
idTokenInfo and the CSMS's own requests in `ocpp201_payloads`.

2.1 is served by the same handlers: every 2.0.1 action's 2.1 schema accepts what they answer
(checked by validating each answer on the way out), and the few station actions 2.1 adds get
the answer of a CSMS without the feature. Features the built-in CSMS lacks (a certificate
authority, smart charging, tariffs) answer as the spec says such a CSMS does: Rejected or
Failed, never a made-up Accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from voltlab.csms.events import CsmsTransaction, IdTagStatus
from voltlab.csms.metering import parse_meter_values
from voltlab.csms.notify import ConnectorStatusChanged, Notification
from voltlab.csms.ocpp201_payloads import id_token_info
from voltlab.csms.ocpp201_tx import NO_AUTHORIZATION, TransactionEvents
from voltlab.csms.registry import ConnectorState, Registry
from voltlab.csms.session_core import SessionCore
from voltlab.ocpp.versions import OCPP21
from voltlab.ocpp.vocabulary.connector_status import CONNECTOR_STATUSES_2X, connector_status_16
from voltlab.ocpp.vocabulary.timestamps import format_datetime, parse_datetime_or

log = logging.getLogger(__name__)

# Answers that depend on nothing in the request.
_FIXED_ANSWERS: dict[str, dict[str, Any]] = {
    "ClearedChargingLimit": {},
    "DataTransfer": {"status": "UnknownVendorId"},  # no vendor extensions here
    "Get15118EVCertificate": {"status": "Failed", "exiResponse": ""},  # no certificate pool
    "GetCertificateStatus": {"status": "Failed"},  # no OCSP responder
    "NotifyChargingLimit": {},
    "NotifyCustomerInformation": {},
    "NotifyDisplayMessages": {},
    "NotifyEVChargingNeeds": {"status": "Rejected"},  # no smart charging: "not available"
    "NotifyEVChargingSchedule": {"status": "Accepted"},  # the EV's plan is fine with us
    "NotifyMonitoringReport": {},
    "NotifyReport": {},
    "PublishFirmwareStatusNotification": {},
    "ReportChargingProfiles": {},
    "SignCertificate": {"status": "Rejected"},  # the built-in CSMS runs no certificate authority
}
# 2.1 additions; all but the three with a status are plain notifications.
_FIXED_ANSWERS_21: dict[str, dict[str, Any]] = {
    "BatterySwap": {},
    "ClosePeriodicEventStream": {},
    "NotifyDERAlarm": {},
    "NotifyDERStartStop": {},
    "NotifyPriorityCharging": {},
    "NotifySettlement": {},
    "OpenPeriodicEventStream": {"status": "Rejected"},  # no stream consumer
    "PullDynamicScheduleUpdate": {"status": "Rejected"},  # no dynamic schedules
    "ReportDERControl": {},
}

_HANDLED = frozenset(
    {
        "Authorize",
        "BootNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyEvent",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "StatusNotification",
        "TransactionEvent",
    }
)
_HANDLED_21 = frozenset({"GetCertificateChainStatus", "VatNumberValidation"})

# Every request a 2.0.1 charging station may send; anything else is a CSMS-side action,
# answered NotSupported by the RPC layer.
CHARGING_STATION_ACTIONS_201: frozenset[str] = _HANDLED | frozenset(_FIXED_ANSWERS)
CHARGING_STATION_ACTIONS_21: frozenset[str] = (
    CHARGING_STATION_ACTIONS_201 | _HANDLED_21 | frozenset(_FIXED_ANSWERS_21)
)

Decide = Callable[[str], Awaitable[IdTagStatus | None]]  # None: the listener gave no answer
Emit = Callable[[Notification], None]
Clock = Callable[[], datetime]
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def charging_station_actions(version: str) -> frozenset[str]:
    return CHARGING_STATION_ACTIONS_21 if version == OCPP21 else CHARGING_STATION_ACTIONS_201


class Ocpp201Session(TransactionEvents, SessionCore):
    def __init__(
        self,
        *,
        cpo_id: str,
        identity: str,
        version: str,
        registry: Registry,
        decide: Decide,
        emit: Emit,
        now: Clock,
        heartbeat_interval: int,
    ) -> None:
        self.cpo_id = cpo_id
        self.identity = identity
        self.version = version
        self.registry = registry
        self.record = registry.station(cpo_id, identity)
        self._decide = decide
        self._emit = emit
        self._now = now
        self.heartbeat_interval = heartbeat_interval
        self._handlers: dict[str, Handler] = {
            "Authorize": self._on_authorize,
            "BootNotification": self._on_boot_notification,
            "FirmwareStatusNotification": self._on_firmware_status,
            "GetCertificateChainStatus": self._on_certificate_chain_status,
            "Heartbeat": self._on_heartbeat,
            "LogStatusNotification": self._on_log_status,
            "MeterValues": self._on_meter_values,
            "NotifyEvent": self._on_notify_event,
            "ReservationStatusUpdate": self._on_reservation_status,
            "SecurityEventNotification": self._on_security_event,
            "StatusNotification": self._on_status_notification,
            "TransactionEvent": self._on_transaction_event,
            "VatNumberValidation": self._on_vat_number_validation,
        }
        self._fixed = dict(_FIXED_ANSWERS)
        if version == OCPP21:
            self._fixed.update(_FIXED_ANSWERS_21)

    async def handle(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The RpcConnection handler; ``action`` is one of charging_station_actions()."""
        self.record.last_seen = self._now()
        handler = self._handlers.get(action)
        if handler is not None:
            return await handler(payload)
        return dict(self._fixed[action])

    # -- provisioning and availability --------------------------------------------------------

    async def _on_status_notification(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._connector_status(
            int(payload["evseId"]),
            int(payload["connectorId"]),
            payload["connectorStatus"],
            parse_datetime_or(payload.get("timestamp"), self._now()),
        )
        return {}

    async def _on_notify_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        # A station may report connector status as the AvailabilityState variable of its
        # Connector components instead of StatusNotification; both mean the same here.
        for event in payload["eventData"]:
            component = event["component"]
            evse = component.get("evse")
            if (
                component["name"] == "Connector"
                and event["variable"]["name"] == "AvailabilityState"
                and evse is not None
                and event["actualValue"] in CONNECTOR_STATUSES_2X
            ):
                self._connector_status(
                    int(evse["id"]),
                    int(evse.get("connectorId") or 1),
                    event["actualValue"],
                    parse_datetime_or(event.get("timestamp"), self._now()),
                )
        return {}

    def _connector_status(
        self, evse_id: int, connector_id: int, status: str, timestamp: datetime
    ) -> None:
        self.record.ocpp2.set_connector_status(evse_id, connector_id, status)
        self._refresh_evse(evse_id, timestamp, force=True)

    def _refresh_evse(self, evse_id: int, timestamp: datetime, *, force: bool = False) -> None:
        """Report the EVSE's status in 1.6 words: always when forced (the station reported a
        status, as 1.6 reports every StatusNotification), else only when it changed."""
        evse_status = self.record.ocpp2.evse_status(evse_id)
        if evse_status is None:
            return  # never reported: a transaction alone does not say what the EVSE is
        tx = self.registry.open_on_connector(self.cpo_id, self.identity, evse_id)
        status, error_code = connector_status_16(
            evse_status,
            self._charging_state(tx),
            tx is not None,
            evse_id in self.record.ocpp2.finishing,
        )
        state = self.record.connectors.get(evse_id)
        if state is None:
            state = ConnectorState(evse_id, status, error_code, timestamp)
            self.record.connectors[evse_id] = state
        elif not force and (state.status, state.error_code) == (status, error_code):
            return
        state.status = status
        state.error_code = error_code
        state.timestamp = timestamp
        self._emit(ConnectorStatusChanged(evse_id, status, error_code, timestamp))

    def _charging_state(self, tx: CsmsTransaction | None) -> str | None:
        if tx is None or tx.station_transaction_id is None:
            return None
        state = self.record.ocpp2.transactions.get(tx.station_transaction_id)
        return None if state is None else state.charging_state

    # -- authorization ------------------------------------------------------------------------

    async def _on_authorize(self, payload: dict[str, Any]) -> dict[str, Any]:
        status = await self._token_status(payload["idToken"], None)
        return {"idTokenInfo": id_token_info(status, self.version)}

    async def _token_status(
        self, token: dict[str, Any], known: CsmsTransaction | None
    ) -> IdTagStatus | None:
        if token["type"] == NO_AUTHORIZATION:
            # The station's own configuration waived identification (free vend); there is
            # no identifier for the listener to decide on.
            return IdTagStatus.accept()
        value = str(token["idToken"])
        if known is not None and known.id_tag == value:
            # Decided on when the transaction learnt the token; asking the listener again
            # (possibly an eMSP over the network) would only slow the station down.
            return IdTagStatus(known.id_tag_status, None, known.parent_id_tag)
        return await self._decide(value)

    # -- metering -----------------------------------------------------------------------------

    async def _on_meter_values(self, payload: dict[str, Any]) -> dict[str, Any]:
        # 2.x puts a transaction's meter values in its TransactionEvents; MeterValues carries
        # the rest (clock-aligned or triggered readings). They describe the EVSE, not a bill.
        samples = parse_meter_values(payload["meterValue"], self._now(), ocpp2=True)
        state = self.record.connectors.get(int(payload["evseId"]))
        if samples and state is not None:
            state.last_sample = samples[-1]
        return {}

    # -- the rest -----------------------------------------------------------------------------

    async def _on_firmware_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.record.firmware_status = payload["status"]
        return {}

    async def _on_log_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        # 2.x log upload is what 1.6 called diagnostics; StationView shows it there.
        self.record.diagnostics_status = payload["status"]
        return {}

    async def _on_security_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        log.info(
            "%s/%s security event %s at %s: %s",
            self.cpo_id,
            self.identity,
            payload["type"],
            payload["timestamp"],
            payload.get("techInfo", ""),
        )
        return {}

    async def _on_reservation_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        log.info(
            "%s/%s reservation %s: %s",
            self.cpo_id,
            self.identity,
            payload["reservationId"],
            payload["reservationUpdateStatus"],
        )
        return {}

    async def _on_certificate_chain_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        # No revocation source to ask: every certificate's status is Failed (2.1).
        now = format_datetime(self._now())
        return {
            "certificateStatus": [
                {
                    "certificateHashData": request["certificateHashData"],
                    "source": request["source"],
                    "status": "Failed",
                    "nextUpdate": now,
                }
                for request in payload["certificateStatusRequests"]
            ]
        }

    async def _on_vat_number_validation(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"vatNumber": payload["vatNumber"], "status": "Rejected"}  # no VAT registry
