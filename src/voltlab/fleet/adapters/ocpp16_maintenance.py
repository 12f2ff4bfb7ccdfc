"""OCPP 1.6 firmware, diagnostics and the security whitepaper messages (mixed into the 1.6
adapter), answered by the station machine with the 1.6 codecs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltlab.fleet.adapters.shared_maintenance import SharedMaintenanceRequests, machine_request
from voltlab.fleet.codecs import ocpp16_certificates as certificates16
from voltlab.fleet.codecs import ocpp16_maintenance as maintenance16
from voltlab.fleet.codecs import ocpp16_triggers as triggers16
from voltlab.fleet.codecs import shared_maintenance as shared
from voltlab.fleet.codecs import shared_triggers

if TYPE_CHECKING:
    pass

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

    on_ExtendedTriggerMessage = machine_request(
        triggers16.decode_extended_trigger_message, shared_triggers.encode_trigger_answer
    )

    on_GetInstalledCertificateIds = machine_request(
        certificates16.decode_get_installed_ids, certificates16.encode_installed_ids
    )
