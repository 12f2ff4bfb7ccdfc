"""OCPP 2.0.1 / 2.1 firmware, logs, certificates and security events (mixed into the 2.x
adapter): firmware and logs go through the station machine with the 2.x codec; certificates
still through `fleet.maintenance_control`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.shared_maintenance import SharedMaintenanceRequests, machine_request
from voltlab.fleet.codecs import shared_maintenance as shared

if TYPE_CHECKING:
    from voltlab.fleet.adapters.ocpp201 import Ocpp201Adapter

MAINTENANCE_ACTIONS_201 = frozenset(
    {
        "UpdateFirmware",
        "GetLog",
        "InstallCertificate",
        "GetInstalledCertificateIds",
        "DeleteCertificate",
        "CertificateSigned",
    }
)


class Ocpp201Maintenance(SharedMaintenanceRequests):
    on_UpdateFirmware = machine_request(
        shared.decode_signed_update_firmware, shared.encode_update_firmware_answer
    )

    async def on_GetInstalledCertificateIds(
        self: Ocpp201Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        found = self.runner.maintenance.certificates.installed_ids(payload.get("certificateType"))
        if not found:
            return {"status": "NotFound"}
        return {"status": "Accepted", "certificateHashDataChain": found}

    async def on_CertificateSigned(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        status = self.runner.maintenance.certificate_signed(
            payload["certificateChain"],
            payload.get("certificateType", "ChargingStationCertificate"),
        )
        return {"status": status}
