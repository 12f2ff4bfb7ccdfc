"""CSMS-initiated OCPP 2.0.1 / 2.1 requests, as runner flows. Mixed into `Ocpp201Adapter`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.charging_control import (
    clear_profiles,
    composite_schedule,
    install_profile,
    installed,
)
from voltlab.fleet.codecs import ocpp201_availability as availability2x
from voltlab.fleet.codecs import ocpp201_local_list as local_list2x
from voltlab.fleet.codecs import ocpp201_reservations as reservations2x
from voltlab.fleet.codecs import shared_requests as shared
from voltlab.fleet.codecs.ocpp201_reservations import encode_answer
from voltlab.fleet.maintenance import LOG_STATUS_ON_WIRE
from voltlab.fleet.smart_charging import ChargingProfile, ProfileError
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

    async def on_RequestStartTransaction(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        token = payload["idToken"]["idToken"]
        evse_id = payload.get("evseId")
        runner = self.runner
        connector_id = runner.choose_remote_connector(evse_id, token)
        if connector_id is None:
            return Reply({"status": "Rejected"})
        body: dict[str, Any] = {"status": "Accepted"}
        open_tx = self.station.connectors[connector_id].transaction
        if open_tx is not None and open_tx.transaction_id is not None:
            body["transactionId"] = str(open_tx.transaction_id)
        remote_id = payload["remoteStartId"]
        profile = None
        if payload.get("chargingProfile"):
            try:
                profile = ChargingProfile.from_ocpp201(payload["chargingProfile"])
            except ProfileError:
                return Reply({"status": "Rejected"})
            if profile.purpose != "TxProfile":
                return Reply({"status": "Rejected"})
        return Reply(
            body,
            after=runner.defer(
                lambda: runner.remote_start(connector_id, token, remote_id, profile)
            ),
        )

    async def on_RequestStopTransaction(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        tx = self.station.find_transaction(payload["transactionId"])
        if tx is None:
            return Reply({"status": "Rejected"})
        connector_id = tx.connector_id
        runner = self.runner
        return Reply(
            {"status": "Accepted"},
            after=runner.defer(lambda: runner.stop_transaction(connector_id, "Remote")),
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

    async def on_SetChargingProfile(
        self: Ocpp201Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            profile = ChargingProfile.from_ocpp201(payload["chargingProfile"])
        except ProfileError as exc:
            return {
                "status": "Rejected",
                "statusInfo": {"reasonCode": getattr(exc, "reason", "InvalidProfile")[:20]},
            }
        return {"status": install_profile(self.runner, payload["evseId"], profile)}

    async def on_ClearChargingProfile(
        self: Ocpp201Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        criteria = payload.get("chargingProfileCriteria") or {}
        cleared = clear_profiles(
            self.runner,
            profile_id=payload.get("chargingProfileId"),
            connector_id=criteria.get("evseId"),
            purpose=criteria.get("chargingProfilePurpose"),
            stack_level=criteria.get("stackLevel"),
        )
        return {"status": "Accepted" if cleared else "Unknown"}

    async def on_GetCompositeSchedule(
        self: Ocpp201Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        unit = payload.get("chargingRateUnit")
        return composite_schedule(self.runner, payload["evseId"], payload["duration"], unit)

    async def on_GetChargingProfiles(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        criteria = payload.get("chargingProfile") or {}
        found = installed(
            self.runner,
            payload.get("evseId"),
            purpose=criteria.get("chargingProfilePurpose"),
            stack_level=criteria.get("stackLevel"),
            ids=criteria.get("chargingProfileId"),
        )
        if not found:
            return Reply({"status": "NoProfiles"})
        by_evse: dict[int, list[Any]] = {}
        for item in found:
            by_evse.setdefault(item.connector_id, []).append(item.profile.to_ocpp201())
        request_id = payload["requestId"]

        async def report() -> None:
            evses = sorted(by_evse)
            for index, evse_id in enumerate(evses):
                body: dict[str, Any] = {
                    "requestId": request_id,
                    "chargingLimitSource": "CSO",
                    "evseId": evse_id,
                    "chargingProfile": by_evse[evse_id],
                }
                if index < len(evses) - 1:
                    body["tbc"] = True
                await self._call("ReportChargingProfiles", body)

        return Reply({"status": "Accepted"}, after=self.runner.defer(report))

    # -- availability, reset, unlock ----------------------------------------------------------

    async def on_Reset(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        runner = self.runner
        if payload.get("evseId") is not None:
            evse_id = payload["evseId"]
            if evse_id not in self.station.connectors:
                return Reply({"status": "Rejected"})
            if self.station.connectors[evse_id].transaction is None:
                return Reply({"status": "Accepted"})
            return Reply(
                {"status": "Accepted"},
                after=runner.defer(lambda: runner.stop_transaction(evse_id, "ImmediateReset")),
            )
        if payload["type"] == "OnIdle" and self.station.transactions():
            runner.reset_when_idle = True
            return Reply({"status": "Scheduled"})
        return Reply({"status": "Accepted"}, after=runner.defer(lambda: runner.reset(True)))

    async def on_ChangeAvailability(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        request = availability2x.decode_change_availability(payload)
        return self.runner.answer_request(request, availability2x.encode_change_availability_answer)

    async def on_UnlockConnector(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        evse_id = payload["evseId"]
        if evse_id not in self.station.connectors or payload["connectorId"] != 1:
            return {"status": "UnknownConnector"}
        tx = self.station.connectors[evse_id].transaction
        if tx is not None and tx.id_tag is not None:
            # 2.0.1: an authorized transaction is not ended by an unlock request.
            return {"status": "OngoingAuthorizedTransaction"}
        return {"status": await self.runner.unlock(evse_id)}

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
            self._connector_status.clear()
            for cid in ids:
                await self.send_status(self.station.connector_status(cid))
        elif requested == "MeterValues":
            for cid in ids:
                await runner.send_meter_sample(cid, "Trigger")
        elif requested == "TransactionEvent":
            for cid in ids:
                tx = self.station.connectors[cid].transaction
                if tx is not None and tx.transaction_id is not None:
                    await self._event("Updated", "Trigger", tx, None)
        elif requested == "FirmwareStatusNotification":
            await self._call(
                "FirmwareStatusNotification", {"status": runner.maintenance.firmware.status}
            )
        elif requested == "LogStatusNotification":
            status = runner.maintenance.uploads.status
            await self._call(
                "LogStatusNotification", {"status": LOG_STATUS_ON_WIRE.get(status, status)}
            )
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

    async def on_ClearCache(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        request = shared.decode_clear_cache(payload)
        return self.runner.answer_request(request, shared.encode_clear_cache_answer)

    async def on_GetLocalListVersion(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        request = local_list2x.decode_get_local_list_version(payload)
        return self.runner.answer_request(request, local_list2x.encode_local_list_version_answer)

    async def on_SendLocalList(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        request = local_list2x.decode_send_local_list(payload)
        return self.runner.answer_request(request, local_list2x.encode_send_local_list_answer)

    # -- reservations -------------------------------------------------------------------------

    async def on_ReserveNow(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        return self.runner.answer_request(reservations2x.decode_reserve_now(payload), encode_answer)

    async def on_CancelReservation(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        request = reservations2x.decode_cancel_reservation(payload)
        return self.runner.answer_request(request, encode_answer)

    async def on_DataTransfer(self: Ocpp201Adapter, payload: dict[str, Any]) -> Reply:
        request = shared.decode_data_transfer(payload)
        return self.runner.answer_request(request, shared.encode_data_transfer_answer)
