"""OCPP 2.0.1 / 2.1 firmware, logs, certificates and security events (mixed into the 2.x
adapter), answered by the station machine with the 2.x codecs."""

from __future__ import annotations

from voltlab.fleet.adapters.shared_maintenance import SharedMaintenanceRequests, machine_request
from voltlab.fleet.codecs import ocpp201_certificates as certificates201
from voltlab.fleet.codecs import shared_maintenance as shared

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

    on_GetInstalledCertificateIds = machine_request(
        certificates201.decode_get_installed_ids, certificates201.encode_installed_ids
    )
