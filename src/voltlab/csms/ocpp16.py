"""The OCPP 1.6 side of the built-in CSMS: answers for every charge-point-initiated action,
and payload builders for the operations the CSMS sends.

An `Ocpp16Session` serves one WebSocket of one station. It turns requests into registry
updates and `Notification`s (recorded through ``emit``, delivered later by the station's
notifier), and awaits only the one decision a station must wait for: authorization.
Payloads reaching it have passed schema validation in `RpcConnection`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from voltlab.csms.events import CsmsTransaction, IdTagStatus
from voltlab.csms.metering import parse_meter_values
from voltlab.csms.notify import (
    ConnectorStatusChanged,
    MeterValuesReceived,
    Notification,
    TransactionStarted,
    TransactionStopped,
)
from voltlab.csms.registry import ConnectorState, Registry
from voltlab.csms.session_core import SessionCore
from voltlab.ocpp.vocabulary.authorization import ID_TAG_MAX_LENGTH_16, IdTagInfo16, id_tag_info_16
from voltlab.ocpp.vocabulary.stop_reasons import stop_reason_from_16
from voltlab.ocpp.vocabulary.timestamps import format_datetime, parse_datetime_or

log = logging.getLogger(__name__)

# Every request a 1.6 charge point may send (core profiles plus the security whitepaper).
# Anything else the station sends is a CSMS-side action: answered NotSupported.
CHARGE_POINT_ACTIONS: frozenset[str] = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    }
)

Authorizer = Callable[[str], Awaitable[IdTagStatus]]
Emit = Callable[[Notification], None]
Clock = Callable[[], datetime]


def id_tag_info(status: IdTagStatus) -> IdTagInfo16:
    expiry = None if status.expiry is None else format_datetime(status.expiry)
    parent = status.parent_id_tag
    if parent and len(parent) > ID_TAG_MAX_LENGTH_16:
        # sending it would make the whole answer schema-invalid
        log.warning("dropping parent id tag %r: longer than 20 characters", parent)
        parent = None
    return id_tag_info_16(status.status, expiry, parent)


class Ocpp16Session(SessionCore):
    def __init__(
        self,
        *,
        cpo_id: str,
        identity: str,
        registry: Registry,
        authorize: Authorizer,
        emit: Emit,
        now: Clock,
        heartbeat_interval: int,
    ) -> None:
        self.cpo_id = cpo_id
        self.identity = identity
        self.registry = registry
        self.record = registry.station(cpo_id, identity)
        self._authorize = authorize
        self._emit = emit
        self._now = now
        self.heartbeat_interval = heartbeat_interval
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "Authorize": self._on_authorize,
            "BootNotification": self._on_boot_notification,
            "DataTransfer": self._on_data_transfer,
            "DiagnosticsStatusNotification": self._on_diagnostics_status,
            "FirmwareStatusNotification": self._on_firmware_status,
            "Heartbeat": self._on_heartbeat,
            "LogStatusNotification": self._on_acknowledge,
            "MeterValues": self._on_meter_values,
            "SecurityEventNotification": self._on_acknowledge,
            "SignCertificate": self._on_sign_certificate,
            "SignedFirmwareStatusNotification": self._on_firmware_status,
            "StartTransaction": self._on_start_transaction,
            "StatusNotification": self._on_status_notification,
            "StopTransaction": self._on_stop_transaction,
        }

    async def handle(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The RpcConnection handler; ``action`` is one of CHARGE_POINT_ACTIONS."""
        self.record.last_seen = self._now()
        return await self._handlers[action](payload)

    # -- core ---------------------------------------------------------------------------------

    async def _on_status_notification(self, payload: dict[str, Any]) -> dict[str, Any]:
        connector_id = int(payload["connectorId"])
        timestamp = parse_datetime_or(payload.get("timestamp"), self._now())
        state = self.record.connectors.get(connector_id)
        if state is None:
            state = ConnectorState(connector_id, payload["status"], payload["errorCode"], timestamp)
            self.record.connectors[connector_id] = state
        state.status = payload["status"]
        state.error_code = payload["errorCode"]
        state.timestamp = timestamp
        state.info = payload.get("info")
        state.vendor_error_code = payload.get("vendorErrorCode")
        self._emit(ConnectorStatusChanged(connector_id, state.status, state.error_code, timestamp))
        return {}

    async def _on_authorize(self, payload: dict[str, Any]) -> dict[str, Any]:
        status = await self._authorize(payload["idTag"])
        return {"idTagInfo": id_tag_info(status)}

    async def _on_start_transaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        # The transaction is recorded whatever the authorization says: the station started
        # it, and with a non-Accepted idTagInfo it is the station that stops it (DeAuthorized).
        status = await self._authorize(payload["idTag"])
        tx, superseded = self.registry.start_transaction(
            self.cpo_id,
            self.identity,
            connector_id=int(payload["connectorId"]),
            id_tag=payload["idTag"],
            meter_start_wh=float(payload["meterStart"]),
            started_at=parse_datetime_or(payload.get("timestamp"), self._now()),
            authorization=status,
            reservation_id=payload.get("reservationId"),
        )
        for stale in superseded:
            log.warning(
                "%s/%s: transaction %d on connector %d never stopped; closed by the CSMS",
                self.cpo_id,
                self.identity,
                stale.transaction_id,
                stale.connector_id,
            )
            self._emit(TransactionStopped(stale.snapshot()))
        self._emit(TransactionStarted(tx.snapshot()))
        return {"idTagInfo": id_tag_info(status), "transactionId": tx.transaction_id}

    async def _on_meter_values(self, payload: dict[str, Any]) -> dict[str, Any]:
        connector_id = int(payload["connectorId"])
        samples = parse_meter_values(payload["meterValue"], self._now())
        if not samples:
            return {}
        state = self.record.connectors.get(connector_id)
        if state is not None:
            state.last_sample = samples[-1]
        transaction_id = payload.get("transactionId")
        if transaction_id is None:
            return {}  # connector-level values (no transaction): nothing to bill
        tx = self.registry.open_transaction(self.cpo_id, self.identity, transaction_id)
        if tx is None:
            tx = self.registry.adopt(
                self.cpo_id, self.identity, transaction_id, connector_id, samples
            )
            if tx is None:
                log.info(
                    "%s/%s: meter values for closed or foreign transaction %s ignored",
                    self.cpo_id,
                    self.identity,
                    transaction_id,
                )
                return {}
            self._emit(TransactionStarted(tx.snapshot()))
        recorded = self.registry.record_samples(tx, samples)
        if recorded:  # implausible readings are not billing truth: the listener never sees them
            self._emit(MeterValuesReceived(tx.snapshot(), recorded))
        return {}

    async def _on_stop_transaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        now = self._now()
        transaction_id = int(payload["transactionId"])
        id_tag = payload.get("idTag")
        known = self.registry.open_transaction(self.cpo_id, self.identity, transaction_id)
        status: IdTagStatus | None = None
        if id_tag is not None:
            status = self._known_status(known, id_tag) or await self._authorize(id_tag)
        tx, newly_stopped = self.registry.stop_transaction(
            self.cpo_id,
            self.identity,
            transaction_id,
            meter_stop_wh=float(payload["meterStop"]),
            stopped_at=parse_datetime_or(payload.get("timestamp"), now),
            reason=stop_reason_from_16(payload.get("reason")),
            id_tag=id_tag,
            samples=parse_meter_values(payload.get("transactionData") or [], now),
        )
        if newly_stopped:
            self._emit(TransactionStopped(tx.snapshot()))
        return {} if status is None else {"idTagInfo": id_tag_info(status)}

    @staticmethod
    def _known_status(tx: CsmsTransaction | None, id_tag: str) -> IdTagStatus | None:
        # The tag that started the transaction was decided on at the start; asking the
        # listener again (possibly an eMSP over the network) would only slow the stop down.
        if tx is None or tx.id_tag != id_tag:
            return None
        return IdTagStatus(tx.id_tag_status, None, tx.parent_id_tag)

    # -- the rest -----------------------------------------------------------------------------

    async def _on_data_transfer(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"status": "UnknownVendorId"}

    async def _on_diagnostics_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.record.diagnostics_status = payload["status"]
        return {}

    async def _on_firmware_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.record.firmware_status = payload["status"]
        return {}

    async def _on_acknowledge(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def _on_sign_certificate(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"status": "Rejected"}  # the built-in CSMS runs no certificate authority


# -- CSMS -> station payloads -------------------------------------------------------------------


def remote_start_payload(
    id_tag: str, connector_id: int | None, charging_profile: dict[str, Any] | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"idTag": id_tag}
    if connector_id is not None:
        payload["connectorId"] = connector_id
    if charging_profile is not None:
        payload["chargingProfile"] = charging_profile
    return payload


def reserve_now_payload(
    connector_id: int,
    expiry: datetime,
    id_tag: str,
    reservation_id: int,
    parent_id_tag: str | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "connectorId": connector_id,
        "expiryDate": format_datetime(expiry),
        "idTag": id_tag,
        "reservationId": reservation_id,
    }
    if parent_id_tag:
        payload["parentIdTag"] = parent_id_tag
    return payload
