"""The maintenance requests whose shapes are the same in OCPP 1.6 (security whitepaper) and
2.x, answered once for both adapters: GetLog through the station machine, InstallCertificate
and DeleteCertificate through the certificate store (until certificates move into the
machine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.machine_requests import machine_request
from voltlab.fleet.codecs import shared_maintenance as shared

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner


class SharedMaintenanceRequests:
    runner: StationRunner

    on_GetLog = machine_request(shared.decode_get_log, shared.encode_get_log_answer)

    async def on_InstallCertificate(self, payload: dict[str, Any]) -> dict[str, Any]:
        maintenance = self.runner.maintenance
        return {
            "status": maintenance.install_certificate(
                payload["certificateType"], payload["certificate"]
            )
        }

    async def on_DeleteCertificate(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": self.runner.maintenance.delete_certificate(payload["certificateHashData"])
        }
