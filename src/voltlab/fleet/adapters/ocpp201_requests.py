"""CSMS-initiated OCPP 2.0.1 / 2.1 requests: each decoded by the 2.x codecs, handled by the
station machine, its answer encoded back (`machine_request`). Mixed into `Ocpp201Adapter`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.machine_requests import machine_request, machine_request_after_calls
from voltlab.fleet.codecs import common as common_codec
from voltlab.fleet.codecs import ocpp201_availability as availability2x
from voltlab.fleet.codecs import ocpp201_control as control201
from voltlab.fleet.codecs import ocpp201_device_model as device_model2x
from voltlab.fleet.codecs import ocpp201_local_list as local_list2x
from voltlab.fleet.codecs import ocpp201_profiles as profiles2x
from voltlab.fleet.codecs import ocpp201_reservations as reservations2x
from voltlab.fleet.codecs import ocpp201_triggers as triggers2x
from voltlab.fleet.codecs import shared_requests as shared
from voltlab.fleet.codecs import shared_triggers
from voltlab.fleet.codecs.ocpp201_reservations import encode_answer
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.errors import OcppError

if TYPE_CHECKING:
    from voltlab.fleet.adapters.ocpp201 import Ocpp201Adapter


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

    on_GetTransactionStatus = machine_request(
        triggers2x.decode_get_transaction_status, triggers2x.encode_transaction_status_answer
    )

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

    # -- triggers ---------------------------------------------------------------------------

    on_TriggerMessage = machine_request(
        triggers2x.decode_trigger_message, shared_triggers.encode_trigger_answer
    )

    # -- device model -------------------------------------------------------------------------

    on_GetVariables = machine_request(
        device_model2x.decode_get_variables, device_model2x.encode_get_variables_answer
    )

    on_SetVariables = machine_request(
        device_model2x.decode_set_variables, device_model2x.encode_set_variables_answer
    )

    on_GetBaseReport = machine_request(
        device_model2x.decode_get_base_report, device_model2x.encode_report_answer
    )

    on_GetReport = machine_request(
        device_model2x.decode_get_report, device_model2x.encode_report_answer
    )

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
