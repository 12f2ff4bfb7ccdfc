"""OCPP 1.6J adapter: the station model in 1.6 frames, and 1.6 CSMS requests as runner flows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.machine_requests import machine_request, machine_request_after_calls
from voltlab.fleet.adapters.ocpp16_maintenance import (
    MAINTENANCE_ACTIONS_16,
    Ocpp16Maintenance,
)
from voltlab.fleet.codecs import common as common_codec
from voltlab.fleet.codecs import ocpp16_availability as availability16
from voltlab.fleet.codecs import ocpp16_control as control16
from voltlab.fleet.codecs import ocpp16_local_list as local_list16
from voltlab.fleet.codecs import ocpp16_maintenance as maintenance16
from voltlab.fleet.codecs import ocpp16_profiles as profiles16
from voltlab.fleet.codecs import ocpp16_reservations as reservations16
from voltlab.fleet.codecs import shared_requests as shared
from voltlab.fleet.codecs.ocpp16_reservations import encode_answer
from voltlab.fleet.machine.session_messages import ReportStatuses
from voltlab.fleet.model.station import StationError
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.errors import OcppError, error_code
from voltlab.ocpp.versions import OCPP16

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner

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
    folds_statuses_2x = False
    unlock_keeps_authorized_transaction = False
    station_names_transactions = False
    default_transaction_measurands: tuple[str, ...] = ()
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

    # -- CSMS -> station ----------------------------------------------------------------------

    async def handle(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | Reply:
        handler = getattr(self, "on_" + action, None)
        if handler is None:
            raise OcppError(error_code(OCPP16, "NotSupported"), f"{action} is not supported")
        return await handler(payload)

    on_RemoteStartTransaction = machine_request(
        control16.decode_remote_start, control16.encode_control_answer
    )

    on_SetChargingProfile = machine_request(
        control16.decode_set_charging_profile, control16.encode_control_answer
    )

    on_ClearChargingProfile = machine_request(
        control16.decode_clear_charging_profile, control16.encode_control_answer
    )

    on_GetCompositeSchedule = machine_request(
        profiles16.decode_get_composite_schedule, profiles16.encode_composite_answer
    )

    on_RemoteStopTransaction = machine_request(
        common_codec.decode_remote_stop, control16.encode_control_answer
    )

    on_Reset = machine_request(control16.decode_reset, control16.encode_control_answer)

    on_ChangeAvailability = machine_request(
        availability16.decode_change_availability, availability16.encode_change_availability_answer
    )

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

    on_ClearCache = machine_request(shared.decode_clear_cache, shared.encode_clear_cache_answer)

    on_UnlockConnector = machine_request_after_calls(
        control16.decode_unlock, control16.encode_control_answer
    )

    on_GetLocalListVersion = machine_request(
        local_list16.decode_get_local_list_version, local_list16.encode_local_list_version_answer
    )

    on_SendLocalList = machine_request(
        local_list16.decode_send_local_list, local_list16.encode_send_local_list_answer
    )

    on_ReserveNow = machine_request(reservations16.decode_reserve_now, encode_answer)

    on_CancelReservation = machine_request(reservations16.decode_cancel_reservation, encode_answer)

    on_DataTransfer = machine_request(
        shared.decode_data_transfer, shared.encode_data_transfer_answer
    )

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
            await runner.run_command(ReportStatuses(again=True, connector_ids=tuple(ids)))
        elif requested == "MeterValues":
            ids = [connector_id] if connector_id else list(self.station.connectors)
            for cid in ids:
                await runner.send_meter_sample(cid, "Trigger")
        elif requested == "DiagnosticsStatusNotification":
            status = runner.machine.maintenance.logs.status
            await self._call("DiagnosticsStatusNotification", {"status": status})
        elif requested == "FirmwareStatusNotification":
            status = runner.machine.maintenance.firmware.status
            await self._call(
                "FirmwareStatusNotification",
                {"status": status if status in maintenance16.FIRMWARE_16 else "Idle"},
            )


def ensure_id_tag(id_tag: str) -> None:
    if not 1 <= len(id_tag) <= 20:
        raise StationError("invalid_id_tag", "OCPP 1.6 id tags are 1 to 20 characters")
