"""The maintenance and certificate requests whose shapes are the same in OCPP 1.6 (security
whitepaper) and 2.x, answered once for both adapters through the station machine: GetLog,
InstallCertificate, DeleteCertificate and CertificateSigned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltlab.fleet.adapters.machine_requests import machine_request
from voltlab.fleet.codecs import shared_certificates as certificates
from voltlab.fleet.codecs import shared_maintenance as shared

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner


class SharedMaintenanceRequests:
    runner: StationRunner

    on_GetLog = machine_request(shared.decode_get_log, shared.encode_get_log_answer)

    on_InstallCertificate = machine_request(
        certificates.decode_install_certificate, certificates.encode_status_answer
    )
    on_DeleteCertificate = machine_request(
        certificates.decode_delete_certificate, certificates.encode_status_answer
    )
    on_CertificateSigned = machine_request(
        certificates.decode_certificate_signed, certificates.encode_status_answer
    )
