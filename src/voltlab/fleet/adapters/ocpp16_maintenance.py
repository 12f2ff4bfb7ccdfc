"""OCPP 1.6 firmware, diagnostics and the security whitepaper messages (mixed into the 1.6
adapter), answered by the station machine with the 1.6 codecs; ExtendedTriggerMessage still
here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.shared_maintenance import SharedMaintenanceRequests, machine_request
from voltlab.fleet.codecs import ocpp16_certificates as certificates16
from voltlab.fleet.codecs import ocpp16_maintenance as maintenance16
from voltlab.fleet.codecs import shared_maintenance as shared
from voltlab.ocpp.connection import Reply

if TYPE_CHECKING:
    from voltlab.fleet.adapters.ocpp16 import Ocpp16Adapter

EXTENDED_TRIGGERS = {
    "BootNotification",
    "LogStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "SignChargePointCertificate",
    "StatusNotification",
}
MAINTENANCE_ACTIONS_16 = frozenset(
    {
        "UpdateFirmware",
        "GetDiagnostics",
        "SignedUpdateFirmware",
        "GetLog",
        "ExtendedTriggerMessage",
        "InstallCertificate",
        "GetInstalledCertificateIds",
        "DeleteCertificate",
        "CertificateSigned",
    }
)


class Ocpp16Maintenance(SharedMaintenanceRequests):
    # -- CSMS -> station ----------------------------------------------------------------------

    on_UpdateFirmware = machine_request(
        maintenance16.decode_update_firmware, maintenance16.encode_update_firmware_answer
    )
    on_SignedUpdateFirmware = machine_request(
        shared.decode_signed_update_firmware, shared.encode_update_firmware_answer
    )
    on_GetDiagnostics = machine_request(
        maintenance16.decode_get_diagnostics, maintenance16.encode_get_diagnostics_answer
    )

    async def on_ExtendedTriggerMessage(self: Ocpp16Adapter, payload: dict[str, Any]) -> Reply:
        requested = payload["requestedMessage"]
        connector_id = payload.get("connectorId")
        if requested not in EXTENDED_TRIGGERS:
            return Reply({"status": "NotImplemented"})
        if connector_id is not None and connector_id not in self.station.connectors:
            return Reply({"status": "Rejected"})
        runner = self.runner

        async def send() -> None:
            if requested == "SignChargePointCertificate":
                await runner.maintenance.request_certificate("ChargingStationCertificate")
            elif requested == "LogStatusNotification":
                await self._call("LogStatusNotification", {"status": "Idle"})
            else:
                await self._send_triggered(requested, connector_id)

        return Reply({"status": "Accepted"}, after=runner.defer(send))

    on_GetInstalledCertificateIds = machine_request(
        certificates16.decode_get_installed_ids, certificates16.encode_installed_ids
    )
