"""OCPP 2.0.1 adapter (and, by subclass, 2.1): the one station model in 2.x frames.

Outgoing messages live here; CSMS-initiated requests in `ocpp201_requests`. A 2.x
transaction is a series of TransactionEvents (Started / Updated / Ended with seqNo); where it
starts and stops follows TxStartPoint / TxStopPoint from the device model."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.ocpp201_maintenance import MAINTENANCE_ACTIONS_201, Ocpp201Maintenance
from voltlab.fleet.adapters.ocpp201_requests import Ocpp201Requests
from voltlab.fleet.auth import IdTagInfo
from voltlab.fleet.codecs import ocpp201_authorization as authorization201
from voltlab.fleet.codecs import ocpp201_registration as registration201
from voltlab.fleet.codecs import shared_registration
from voltlab.fleet.codecs.ocpp201_authorization import station_id_token
from voltlab.fleet.codecs.ocpp201_reservations import encode_reservation_ended
from voltlab.fleet.device_model import DeviceModel
from voltlab.fleet.machine.messages import (
    AuthorizeRequest,
    BootRequest,
    HeartbeatRequest,
    StationAnswerMessage,
    StationMessage,
)
from voltlab.fleet.measurands import Sample, meter_value
from voltlab.fleet.station import MeterReading, StatusChange, Transaction
from voltlab.ocpp.versions import OCPP201
from voltlab.ocpp.vocabulary.authorization import authorization_from_2x
from voltlab.ocpp.vocabulary.connector_status import charging_state_2x, connector_status_2x
from voltlab.ocpp.vocabulary.stop_reasons import stop_reason_to_2x
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.runner import StationRunner


def id_tag_info(body: dict[str, Any] | None) -> IdTagInfo:
    return IdTagInfo(*authorization_from_2x(body))


def sampled_value(sample: Sample, context: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "value": round(sample.value, sample.decimals),
        "context": context,
        "measurand": sample.measurand,
        "location": sample.location,
        "unitOfMeasure": {"unit": sample.unit},
    }
    if sample.phase:
        body["phase"] = sample.phase
    return body


class Ocpp201Adapter(Ocpp201Requests, Ocpp201Maintenance):
    version = OCPP201
    supported_actions = Ocpp201Requests.supported_actions | MAINTENANCE_ACTIONS_201

    reports_reservation_ends = True
    hides_disabled_local_list = False
    clear_cache_needs_enabled_cache = True

    def __init__(self, runner: StationRunner) -> None:
        self.runner = runner
        self.station = runner.station
        self.device_model = DeviceModel(runner.station)
        self._connector_status: dict[int, str] = {}
        self._charging_state: dict[int, str] = {}  # by transaction local id

    async def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.runner.link.call(action, payload)

    def _now(self) -> str:
        return format_timestamp(self.runner.now())

    # -- policy -------------------------------------------------------------------------------

    def opens_transaction_on_plug(self) -> bool:
        return bool({"EVConnected", "ParkingBayOccupancy"} & self.device_model.tx_start_points())

    def stops_transaction_on_unplug(self) -> bool:
        return bool(
            {"EVConnected", "PowerPathClosed", "EnergyTransfer"}
            & self.device_model.tx_stop_points()
        ) or (self.station.config.get_bool("StopTransactionOnEVSideDisconnect"))

    # -- station -> CSMS ----------------------------------------------------------------------

    async def send_status(self, change: StatusChange) -> None:
        if change.connector_id == 0:
            return  # 2.x reports per EVSE/connector; the station as a whole has no status
        conn = self.station.connectors[change.connector_id]
        status: str = connector_status_2x(change.status)
        if status == "Occupied" and not conn.plugged and conn.transaction is None:
            status = "Available"  # waiting for a cable after a remote start: nothing there yet
        if self._connector_status.get(change.connector_id) != status:
            self._connector_status[change.connector_id] = status
            await self._call(
                "StatusNotification",
                {
                    "timestamp": self._now(),
                    "connectorStatus": status,
                    "evseId": change.connector_id,
                    "connectorId": 1,
                },
            )
        tx = conn.transaction
        if tx is not None and tx.transaction_id is not None:
            state = charging_state_2x(change.status)
            if state is not None and self._charging_state.get(tx.local_id) not in (None, state):
                self._charging_state[tx.local_id] = state
                await self._event("Updated", "ChargingStateChanged", tx, {"chargingState": state})

    def forget_statuses(self) -> None:
        self._connector_status.clear()

    def _meter_value(
        self, connector_id: int, reading: MeterReading, measurands: list[str], context: str
    ) -> dict[str, Any]:
        return meter_value(self.station, connector_id, reading, measurands, context, sampled_value)

    async def _event(
        self,
        event_type: str,
        trigger: str,
        tx: Transaction,
        info: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        transaction_info: dict[str, Any] = {"transactionId": str(tx.transaction_id)}
        if info:
            transaction_info.update(info)
        payload: dict[str, Any] = {
            "eventType": event_type,
            "timestamp": self._now(),
            "triggerReason": trigger,
            "seqNo": tx.seq_no,
            "transactionInfo": transaction_info,
            **extra,
        }
        tx.seq_no += 1
        answer = await self.runner.transaction_message(
            "TransactionEvent", payload, offline_variant=lambda p: {**p, "offline": True}
        )
        return {} if answer is None else answer  # queued: answered later, nothing to learn now

    async def queued_result(
        self, message: Any, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        """2.x transaction ids are the station's own: nothing to rewrite once delivered."""
        return None

    async def start_transaction(self, tx: Transaction, reading: MeterReading) -> IdTagInfo | None:
        tx.transaction_id = str(uuid.uuid4())
        measurands = self.station.config.get_list("StopTxnSampledData") or [
            "Energy.Active.Import.Register"
        ]
        extra: dict[str, Any] = {
            "evse": {"id": tx.connector_id, "connectorId": 1},
            "meterValue": [
                self._meter_value(tx.connector_id, reading, measurands, "Transaction.Begin")
            ],
        }
        info: dict[str, Any] = {"chargingState": "EVConnected"}
        if tx.remote_start_id is not None:
            info["remoteStartId"] = tx.remote_start_id
            trigger = "RemoteStart"
        else:
            trigger = "Authorized" if tx.id_tag is not None else "CablePluggedIn"
        if tx.id_tag is not None:
            extra["idToken"] = station_id_token(tx.id_tag)
        if tx.reservation_id is not None:
            extra["reservationId"] = tx.reservation_id
        self._charging_state[tx.local_id] = "EVConnected"
        answer = await self._event("Started", trigger, tx, info, **extra)
        if tx.id_tag is None:
            return None
        return id_tag_info(answer.get("idTokenInfo") or {"status": "Accepted"})

    async def authorize_transaction(self, tx: Transaction, reading: MeterReading) -> IdTagInfo:
        assert tx.id_tag is not None
        info: dict[str, Any] = {}
        trigger = "Authorized"
        if tx.remote_start_id is not None:
            info["remoteStartId"] = tx.remote_start_id
            trigger = "RemoteStart"
        extra: dict[str, Any] = {"idToken": station_id_token(tx.id_tag)}
        if tx.reservation_id is not None:
            extra["reservationId"] = tx.reservation_id
        answer = await self._event("Updated", trigger, tx, info, **extra)
        return id_tag_info(answer.get("idTokenInfo") or {"status": "Accepted"})

    async def meter_values(
        self, connector_id: int, tx: Transaction | None, reading: MeterReading, context: str
    ) -> None:
        measurands = self.station.config.get_list("MeterValuesSampledData")
        meter_value = self._meter_value(connector_id, reading, measurands, context)
        if tx is not None and tx.transaction_id is not None:
            trigger = "MeterValuePeriodic" if context == "Sample.Periodic" else "Trigger"
            await self._event("Updated", trigger, tx, None, meterValue=[meter_value])
            return
        await self._call("MeterValues", {"evseId": connector_id, "meterValue": [meter_value]})

    async def stop_transaction(
        self, tx: Transaction, reading: MeterReading, begin: MeterReading | None
    ) -> IdTagInfo | None:
        if tx.transaction_id is None:
            return None
        stopped, trigger = stop_reason_to_2x(tx.stop_reason)
        measurands = self.station.config.get_list("StopTxnSampledData") or [
            "Energy.Active.Import.Register"
        ]
        extra: dict[str, Any] = {
            "evse": {"id": tx.connector_id, "connectorId": 1},
            "meterValue": [
                self._meter_value(tx.connector_id, reading, measurands, "Transaction.End")
            ],
        }
        if tx.id_tag is not None and trigger == "StopAuthorized":
            extra["idToken"] = station_id_token(tx.id_tag)
        info: dict[str, Any] = {
            "stoppedReason": stopped,
            "chargingState": "Idle"
            if not self.station.connectors[tx.connector_id].plugged
            else "EVConnected",
        }
        if tx.stopped_at is not None:
            info["timeSpentCharging"] = int(max(0.0, tx.stopped_at - tx.started_at))
        self._charging_state.pop(tx.local_id, None)
        answer = await self._event("Ended", trigger, tx, info, **extra)
        info_body = answer.get("idTokenInfo")
        return id_tag_info(info_body) if info_body else None

    def encode_call(self, message: StationMessage) -> tuple[str, dict[str, Any]]:
        if isinstance(message, AuthorizeRequest):
            return authorization201.encode_authorize(message)
        if isinstance(message, BootRequest):
            return registration201.encode_boot(message)
        if isinstance(message, HeartbeatRequest):
            return shared_registration.encode_heartbeat(message)
        return encode_reservation_ended(message)

    def decode_answer(
        self, message: StationMessage, payload: dict[str, Any]
    ) -> StationAnswerMessage:
        if isinstance(message, AuthorizeRequest):
            return authorization201.decode_authorize_answer(payload)
        return shared_registration.decode_answer(message, payload)
