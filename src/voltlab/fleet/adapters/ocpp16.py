"""OCPP 1.6J adapter: the station model in 1.6 frames, and 1.6 CSMS requests as runner flows."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.ocpp16_maintenance import (
    FIRMWARE_16,
    MAINTENANCE_ACTIONS_16,
    Ocpp16Maintenance,
)
from voltlab.fleet.auth import IdTagInfo
from voltlab.fleet.charging_control import clear_profiles, composite_schedule, install_profile
from voltlab.fleet.codecs import ocpp16_authorization as authorization16
from voltlab.fleet.codecs import ocpp16_availability as availability16
from voltlab.fleet.codecs import ocpp16_local_list as local_list16
from voltlab.fleet.codecs import ocpp16_registration as registration16
from voltlab.fleet.codecs import ocpp16_reservations as reservations16
from voltlab.fleet.codecs import shared_registration
from voltlab.fleet.codecs import shared_requests as shared
from voltlab.fleet.codecs.ocpp16_reservations import encode_answer
from voltlab.fleet.machine.flows.data_transfer import VENDOR_ID
from voltlab.fleet.machine.messages import (
    AuthorizeRequest,
    BootRequest,
    HeartbeatRequest,
    StationAnswerMessage,
    StationMessage,
)
from voltlab.fleet.measurands import Sample, meter_value
from voltlab.fleet.offline_queue import QueuedMessage
from voltlab.fleet.smart_charging import ChargingProfile, ProfileError
from voltlab.fleet.station import MeterReading, StationError, StatusChange, Transaction
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.errors import OcppError, error_code
from voltlab.ocpp.versions import OCPP16
from voltlab.ocpp.vocabulary.authorization import authorization_from_16
from voltlab.ocpp.vocabulary.connector_status import error_code_16
from voltlab.ocpp.vocabulary.stop_reasons import stop_reason_to_16
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.runner import StationRunner

TRIGGERS = frozenset(
    {
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    }
)


def provisional_transaction_id(start_payload: dict[str, Any]) -> int:
    """The id a StartTransaction queued offline stands under until the CSMS answers it:
    negative (no CSMS gives those) and derived from the message, so it survives restarts."""
    key = f"{start_payload['connectorId']}|{start_payload['timestamp']}|{start_payload['idTag']}"
    return -(zlib.crc32(key.encode()) & 0x7FFFFFFF) - 1


def id_tag_info(body: dict[str, Any] | None) -> IdTagInfo:
    return IdTagInfo(*authorization_from_16(body))


def _sampled_value(sample: Sample, context: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "value": f"{sample.value:.{sample.decimals}f}",
        "context": context,
        "format": "Raw",
        "measurand": sample.measurand,
        "location": sample.location,
        "unit": sample.unit,
    }
    if sample.phase:
        body["phase"] = sample.phase
    return body


class Ocpp16Adapter(Ocpp16Maintenance):
    version = OCPP16
    supported_actions = frozenset(
        {
            "CancelReservation",
            "ChangeAvailability",
            "ChangeConfiguration",
            "ClearCache",
            "DataTransfer",
            "GetConfiguration",
            "GetLocalListVersion",
            "RemoteStartTransaction",
            "RemoteStopTransaction",
            "ReserveNow",
            "Reset",
            "SendLocalList",
            "TriggerMessage",
            "UnlockConnector",
            "SetChargingProfile",
            "ClearChargingProfile",
            "GetCompositeSchedule",
        }
        | MAINTENANCE_ACTIONS_16
    )

    reports_reservation_ends = False
    hides_disabled_local_list = True
    clear_cache_needs_enabled_cache = False

    def __init__(self, runner: StationRunner) -> None:
        self.runner = runner
        self.station = runner.station

    async def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.runner.link.call(action, payload)

    # -- station -> CSMS ----------------------------------------------------------------------

    def opens_transaction_on_plug(self) -> bool:
        return False

    def stops_transaction_on_unplug(self) -> bool:
        return self.station.config.get_bool("StopTransactionOnEVSideDisconnect")

    async def authorize_transaction(self, tx: Transaction, reading: MeterReading) -> IdTagInfo:
        raise StationError("unsupported", "OCPP 1.6 transactions always start with an id tag")

    def forget_statuses(self) -> None:
        return None  # the model's reported-status memory is all 1.6 needs

    def encode_call(self, message: StationMessage) -> tuple[str, dict[str, Any]]:
        if isinstance(message, AuthorizeRequest):
            return authorization16.encode_authorize(message)
        if isinstance(message, BootRequest):
            return registration16.encode_boot(message)
        if isinstance(message, HeartbeatRequest):
            return shared_registration.encode_heartbeat(message)
        # 1.6 has no message for a reservation that ended: its StatusNotification says it.
        raise TypeError(f"OCPP 1.6 has no message for {message!r}")

    def decode_answer(
        self, message: StationMessage, payload: dict[str, Any]
    ) -> StationAnswerMessage:
        if isinstance(message, AuthorizeRequest):
            return authorization16.decode_authorize_answer(payload)
        return shared_registration.decode_answer(message, payload)

    async def send_status(self, change: StatusChange) -> None:
        payload: dict[str, Any] = {
            "connectorId": change.connector_id,
            "errorCode": error_code_16(change.error_code),
            "status": change.status,
            "timestamp": format_timestamp(self.runner.now()),
        }
        if change.info:
            payload["info"] = change.info[:50]
        if change.vendor_error_code:
            payload["vendorErrorCode"] = change.vendor_error_code[:50]
            payload["vendorId"] = VENDOR_ID
        await self._call("StatusNotification", payload)

    async def start_transaction(self, tx: Transaction, reading: MeterReading) -> IdTagInfo:
        payload: dict[str, Any] = {
            "connectorId": tx.connector_id,
            "idTag": tx.id_tag,
            "meterStart": round(reading.register_wh),
            "timestamp": format_timestamp(tx.started_at),
        }
        if tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id
        answer = await self.runner.transaction_message("StartTransaction", payload)
        if answer is None:
            # Queued: a provisional id the queue rewrites once the CSMS gives the real one.
            tx.transaction_id = provisional_transaction_id(payload)
            await self.runner.write_ahead()  # the id is stored before energy flows
            return IdTagInfo("Accepted")
        tx.transaction_id = int(answer["transactionId"])
        await self.runner.write_ahead()
        info = id_tag_info(answer.get("idTagInfo"))
        tx.parent_id_tag = info.parent_id_tag or tx.parent_id_tag
        return info

    def _meter_value(
        self, connector_id: int, reading: MeterReading, measurands: list[str], context: str
    ) -> dict[str, Any]:
        return meter_value(self.station, connector_id, reading, measurands, context, _sampled_value)

    async def meter_values(
        self, connector_id: int, tx: Transaction | None, reading: MeterReading, context: str
    ) -> None:
        measurands = self.station.config.get_list("MeterValuesSampledData")
        payload: dict[str, Any] = {
            "connectorId": connector_id,
            "meterValue": [self._meter_value(connector_id, reading, measurands, context)],
        }
        if tx is not None and tx.transaction_id is not None:
            payload["transactionId"] = int(tx.transaction_id)
            await self.runner.transaction_message("MeterValues", payload)
            return
        await self._call("MeterValues", payload)

    async def stop_transaction(
        self, tx: Transaction, reading: MeterReading, begin: MeterReading | None
    ) -> IdTagInfo | None:
        if tx.transaction_id is None:
            return None
        measurands = self.station.config.get_list("StopTxnSampledData")
        payload: dict[str, Any] = {
            "transactionId": int(tx.transaction_id),
            "idTag": tx.id_tag,
            "meterStop": round(reading.register_wh),
            "timestamp": format_timestamp(reading.timestamp),
            "reason": stop_reason_to_16(tx.stop_reason),
        }
        if measurands:
            data = []
            if begin is not None:
                data.append(
                    self._meter_value(tx.connector_id, begin, measurands, "Transaction.Begin")
                )
            data.append(self._meter_value(tx.connector_id, reading, measurands, "Transaction.End"))
            payload["transactionData"] = data
        answer = await self.runner.transaction_message("StopTransaction", payload)
        if answer is None or not answer.get("idTagInfo"):
            return None
        return id_tag_info(answer["idTagInfo"])

    async def queued_result(
        self, message: QueuedMessage, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        """A queued message was delivered: a StartTransaction's real id replaces the
        provisional one in what is still queued and in the running transaction."""
        if message.action != "StartTransaction" or answer is None:
            return
        provisional = provisional_transaction_id(message.payload)
        real = int(answer["transactionId"])

        def rewrite(queued: QueuedMessage) -> dict[str, Any]:
            payload = dict(queued.payload)
            payload["transactionId"] = real
            return payload

        assert self.runner.queue is not None
        await self.runner.queue.rewrite(
            lambda q: q.payload.get("transactionId") == provisional, rewrite
        )
        tx = self.station.find_transaction(provisional)
        if tx is not None:
            tx.transaction_id = real
        if answer.get("idTagInfo"):
            self.runner.learn(message.payload["idTag"], id_tag_info(answer["idTagInfo"]))

    # -- CSMS -> station ----------------------------------------------------------------------

    async def handle(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | Reply:
        handler = getattr(self, "on_" + action, None)
        if handler is None:
            raise OcppError(error_code(OCPP16, "NotSupported"), f"{action} is not supported")
        return await handler(payload)

    async def on_RemoteStartTransaction(self, payload: dict[str, Any]) -> Reply:
        id_tag = payload["idTag"]
        connector_id = self.runner.choose_remote_connector(payload.get("connectorId"), id_tag)
        if connector_id is None:
            return Reply({"status": "Rejected"})
        profile = None
        if payload.get("chargingProfile"):
            try:
                profile = ChargingProfile.from_ocpp16(payload["chargingProfile"])
            except ProfileError:
                return Reply({"status": "Rejected"})
            if profile.purpose != "TxProfile":
                return Reply({"status": "Rejected"})
        return Reply(
            {"status": "Accepted"},
            after=self.runner.defer(
                lambda: self.runner.remote_start(connector_id, id_tag, None, profile)
            ),
        )

    async def on_SetChargingProfile(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            profile = ChargingProfile.from_ocpp16(payload["csChargingProfiles"])
        except ProfileError:
            return {"status": "Rejected"}
        return {"status": install_profile(self.runner, payload["connectorId"], profile)}

    async def on_ClearChargingProfile(self, payload: dict[str, Any]) -> dict[str, Any]:
        cleared = clear_profiles(
            self.runner,
            profile_id=payload.get("id"),
            connector_id=payload.get("connectorId"),
            purpose=payload.get("chargingProfilePurpose"),
            stack_level=payload.get("stackLevel"),
        )
        return {"status": "Accepted" if cleared else "Unknown"}

    async def on_GetCompositeSchedule(self, payload: dict[str, Any]) -> dict[str, Any]:
        unit = payload.get("chargingRateUnit")
        return composite_schedule(self.runner, payload["connectorId"], payload["duration"], unit)

    async def on_RemoteStopTransaction(self, payload: dict[str, Any]) -> Reply:
        tx = self.station.find_transaction(payload["transactionId"])
        if tx is None:
            return Reply({"status": "Rejected"})
        connector_id = tx.connector_id
        return Reply(
            {"status": "Accepted"},
            after=self.runner.defer(lambda: self.runner.stop_transaction(connector_id, "Remote")),
        )

    async def on_Reset(self, payload: dict[str, Any]) -> Reply:
        hard = payload["type"] == "Hard"
        return Reply(
            {"status": "Accepted"}, after=self.runner.defer(lambda: self.runner.reset(hard))
        )

    async def on_ChangeAvailability(self, payload: dict[str, Any]) -> Reply:
        request = availability16.decode_change_availability(payload)
        return self.runner.answer_request(request, availability16.encode_change_availability_answer)

    async def on_ChangeConfiguration(self, payload: dict[str, Any]) -> dict[str, Any]:
        key, value = payload["key"], payload["value"]
        status = self.station.config.set_by_csms(key, value)
        if status in ("Accepted", "RebootRequired"):
            self.runner.changed()
            self.runner.configuration_changed(key)
        return {"status": status}

    async def on_GetConfiguration(self, payload: dict[str, Any]) -> dict[str, Any]:
        found, unknown = self.station.config.entries(payload.get("key"))
        body: dict[str, Any] = {"configurationKey": found}
        if unknown:
            body["unknownKey"] = unknown
        return body

    async def on_ClearCache(self, payload: dict[str, Any]) -> Reply:
        request = shared.decode_clear_cache(payload)
        return self.runner.answer_request(request, shared.encode_clear_cache_answer)

    async def on_UnlockConnector(self, payload: dict[str, Any]) -> dict[str, Any]:
        connector_id = payload["connectorId"]
        if connector_id not in self.station.connectors:
            return {"status": "NotSupported"}
        return {"status": await self.runner.unlock(connector_id)}

    async def on_GetLocalListVersion(self, payload: dict[str, Any]) -> Reply:
        request = local_list16.decode_get_local_list_version(payload)
        return self.runner.answer_request(request, local_list16.encode_local_list_version_answer)

    async def on_SendLocalList(self, payload: dict[str, Any]) -> Reply:
        request = local_list16.decode_send_local_list(payload)
        return self.runner.answer_request(request, local_list16.encode_send_local_list_answer)

    async def on_ReserveNow(self, payload: dict[str, Any]) -> Reply:
        return self.runner.answer_request(reservations16.decode_reserve_now(payload), encode_answer)

    async def on_CancelReservation(self, payload: dict[str, Any]) -> Reply:
        request = reservations16.decode_cancel_reservation(payload)
        return self.runner.answer_request(request, encode_answer)

    async def on_DataTransfer(self, payload: dict[str, Any]) -> Reply:
        request = shared.decode_data_transfer(payload)
        return self.runner.answer_request(request, shared.encode_data_transfer_answer)

    async def on_TriggerMessage(self, payload: dict[str, Any]) -> Reply:
        requested = payload["requestedMessage"]
        connector_id = payload.get("connectorId")
        if requested not in TRIGGERS:
            return Reply({"status": "NotImplemented"})
        known = connector_id is None or connector_id in self.station.connectors
        if not known and not (connector_id == 0 and requested == "StatusNotification"):
            return Reply({"status": "Rejected"})
        return Reply(
            {"status": "Accepted"},
            after=self.runner.defer(lambda: self._send_triggered(requested, connector_id)),
        )

    async def _send_triggered(self, requested: str, connector_id: int | None) -> None:
        runner = self.runner
        if requested in ("BootNotification", "Heartbeat"):
            await runner.trigger(requested)
        elif requested == "StatusNotification":
            ids = [connector_id] if connector_id is not None else [0, *self.station.connectors]
            for cid in ids:
                await self.send_status(self.station.connector_status(cid))
        elif requested == "MeterValues":
            ids = [connector_id] if connector_id else list(self.station.connectors)
            for cid in ids:
                await runner.send_meter_sample(cid, "Trigger")
        elif requested == "DiagnosticsStatusNotification":
            status = runner.maintenance.uploads.status
            await self._call("DiagnosticsStatusNotification", {"status": status})
        elif requested == "FirmwareStatusNotification":
            status = runner.maintenance.firmware.status
            await self._call(
                "FirmwareStatusNotification",
                {"status": status if status in FIRMWARE_16 else "Idle"},
            )


def ensure_id_tag(id_tag: str) -> None:
    if not 1 <= len(id_tag) <= 20:
        raise StationError("invalid_id_tag", "OCPP 1.6 id tags are 1 to 20 characters")
