"""CSMS-initiated OCPP 2.0.1 / 2.1 requests, as runner flows. Mixed into `Ocpp201Adapter`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.machine_requests import machine_request, machine_request_after_calls
from voltlab.fleet.codecs import common as common_codec
from voltlab.fleet.codecs import ocpp201_availability as availability2x
from voltlab.fleet.codecs import ocpp201_control as control201
from voltlab.fleet.codecs import ocpp201_local_list as local_list2x
from voltlab.fleet.codecs import ocpp201_profiles as profiles2x
from voltlab.fleet.codecs import ocpp201_reservations as reservations2x
from voltlab.fleet.codecs import shared_requests as shared
from voltlab.fleet.codecs.ocpp201_reservations import encode_answer
from voltlab.fleet.codecs.shared_maintenance import log_status_word
from voltlab.fleet.machine.session_messages import ReportStatuses
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.adapters.ocpp201 import Ocpp201Adapter

REPORT_PAGE = 20
TRIGGERS_201 = frozenset(
    {
        "BootNotification",
        "Heartbeat",
        "StatusNotification",
        "MeterValues",
        "TransactionEvent",
        "FirmwareStatusNotification",
        "LogStatusNotification",
        "SignChargingStationCertificate",
    }
)  # reportData items per NotifyReport


class Ocpp201Requests:
    supported_actions = frozenset(
        {
            "RequestStartTransaction",
            "RequestStopTransaction",
            "GetTransactionStatus",
            "Reset",
            "ChangeAvailability",
            "UnlockConnector",
            "TriggerMessage",
            "GetVariables",
            "SetVariables",
            "GetBaseReport",
            "GetReport",
            "ClearCache",
            "SendLocalList",
            "GetLocalListVersion",
            "ReserveNow",
            "CancelReservation",
            "DataTransfer",
            "SetChargingProfile",
            "ClearChargingProfile",
            "GetCompositeSchedule",
            "GetChargingProfiles",
        }
    )

    async def handle(
        self: Ocpp201Adapter, action: str, payload: dict[str, Any]
    ) -> dict[str, Any] | Reply:
        handler = getattr(self, "on_" + action, None)
        if handler is None:
            raise OcppError("NotSupported", f"{action} is not supported")
        return await handler(payload)

    # -- transactions -------------------------------------------------------------------------

    on_RequestStartTransaction = machine_request(
        control201.decode_request_start, control201.encode_control_answer
    )

    on_RequestStopTransaction = machine_request(
        common_codec.decode_remote_stop, control201.encode_control_answer
    )

    async def on_GetTransactionStatus(
        self: Ocpp201Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        # Transaction messages are sent at once, never queued: nothing is waiting.
        body: dict[str, Any] = {"messagesInQueue": False}
        transaction_id = payload.get("transactionId")
        if transaction_id is not None:
            body["ongoingIndicator"] = self.station.find_transaction(transaction_id) is not None
        return body

    # -- smart charging -----------------------------------------------------------------------

    on_SetChargingProfile = machine_request(
        control201.decode_set_charging_profile, control201.encode_control_answer
    )

    on_ClearChargingProfile = machine_request(
        control201.decode_clear_charging_profile, control201.encode_control_answer
    )

    on_GetCompositeSchedule = machine_request(
        profiles2x.decode_get_composite_schedule, profiles2x.encode_composite_answer
    )

    on_GetChargingProfiles = machine_request(
        profiles2x.decode_get_charging_profiles, profiles2x.encode_get_charging_profiles_answer
    )

    # -- availability, reset, unlock ----------------------------------------------------------

    on_Reset = machine_request(control201.decode_reset, control201.encode_control_answer)

    on_ChangeAvailability = machine_request(
        availability2x.decode_change_availability, availability2x.encode_change_availability_answer
    )

    on_UnlockConnector = machine_request_after_calls(
        control201.decode_unlock, control201.encode_control_answer
    )

    # -- triggers -----------------------------------------------------------------------------

    async def on_TriggerMessage(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        requested = payload["requestedMessage"]
        evse_id = (payload.get("evse") or {}).get("id")
        if requested not in TRIGGERS_201:
            return Reply({"status": "NotImplemented"})
        if evse_id is not None and evse_id not in self.station.connectors:
            return Reply({"status": "Rejected"})
        return Reply(
            {"status": "Accepted"},
            after=self.runner.defer(lambda: self._send_triggered(requested, evse_id)),
        )

    async def _send_triggered(self: Ocpp201Adapter, requested: str, evse_id: int | None) -> None:
        runner = self.runner
        ids = [evse_id] if evse_id else list(self.station.connectors)
        if requested in ("BootNotification", "Heartbeat"):
            await runner.trigger(requested)
        elif requested == "StatusNotification":
            await runner.run_command(ReportStatuses(again=True, connector_ids=tuple(ids)))
        elif requested == "MeterValues":
            for cid in ids:
                await runner.send_meter_sample(cid, "Trigger")
        elif requested == "TransactionEvent":
            for cid in ids:
                tx = self.station.connectors[cid].transaction
                if tx is not None and tx.transaction_id is not None:
                    await self._event("Trigger", tx, {})
        elif requested == "FirmwareStatusNotification":
            status = runner.machine.maintenance.firmware.status
            await self._call("FirmwareStatusNotification", {"status": status})
        elif requested == "LogStatusNotification":
            status = runner.machine.maintenance.logs.status
            await self._call("LogStatusNotification", {"status": log_status_word(status)})
        elif requested == "SignChargingStationCertificate":
            await runner.maintenance.request_certificate("ChargingStationCertificate")

    # -- device model -------------------------------------------------------------------------

    async def on_GetVariables(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        results = self.device_model.get_variables(payload["getVariableData"], self.runner.now())
        return {"getVariableResult": results}

    async def on_SetVariables(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        results = self.device_model.set_variables(payload["setVariableData"])
        self.runner.changed()
        if any(
            r["component"]["name"] == "OCPPCommCtrlr"
            and r["variable"]["name"] == "HeartbeatInterval"
            and r["attributeStatus"] == "Accepted"
            for r in results
        ):
            self.runner.configuration_changed("HeartbeatInterval")
        return {"setVariableResult": results}

    async def on_GetBaseReport(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        base = payload["reportBase"]
        items = self.device_model.report(base, now=self.runner.now())
        if not items:
            return Reply({"status": "EmptyResultSet"})
        return Reply(
            {"status": "Accepted"},
            after=self.runner.defer(lambda: self._notify_report(payload["requestId"], items)),
        )

    async def on_GetReport(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        items = self.device_model.report(
            "FullInventory",
            component_variables=payload.get("componentVariable"),
            component_criteria=payload.get("componentCriteria"),
            now=self.runner.now(),
        )
        if not items:
            return Reply({"status": "EmptyResultSet"})
        return Reply(
            {"status": "Accepted"},
            after=self.runner.defer(lambda: self._notify_report(payload["requestId"], items)),
        )

    async def _notify_report(
        self: Ocpp201Adapter, request_id: int, items: list[dict[str, Any]]
    ) -> None:
        pages = self.device_model.pages(items, REPORT_PAGE)
        generated = format_timestamp(self.runner.now())
        for seq_no, page in enumerate(pages):
            body: dict[str, Any] = {
                "requestId": request_id,
                "generatedAt": generated,
                "seqNo": seq_no,
                "reportData": page,
            }
            if seq_no < len(pages) - 1:
                body["tbc"] = True
            await self._call("NotifyReport", body)

    # -- authorization lists ------------------------------------------------------------------

    on_ClearCache = machine_request(shared.decode_clear_cache, shared.encode_clear_cache_answer)

    on_GetLocalListVersion = machine_request(
        local_list2x.decode_get_local_list_version, local_list2x.encode_local_list_version_answer
    )

    on_SendLocalList = machine_request(
        local_list2x.decode_send_local_list, local_list2x.encode_send_local_list_answer
    )

    # -- reservations -------------------------------------------------------------------------

    on_ReserveNow = machine_request(reservations2x.decode_reserve_now, encode_answer)

    on_CancelReservation = machine_request(reservations2x.decode_cancel_reservation, encode_answer)

    on_DataTransfer = machine_request(
        shared.decode_data_transfer, shared.encode_data_transfer_answer
    )
