"""OCPP 2.0.1 / 2.1 firmware, logs, certificates and security events (mixed into the 2.x
adapter): translations of `fleet.maintenance_control` into 2.x frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.maintenance import LOG_STATUS_ON_WIRE
from voltlab.fleet.security import security_event_type
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

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


class Ocpp201Maintenance:
    async def maintenance_status(self: Ocpp201Adapter, event: str, fields: dict[str, Any]) -> None:
        body: dict[str, Any] = {"status": fields["status"]}
        if fields.get("request_id") is not None:
            body["requestId"] = fields["request_id"]
        if event == "firmware":
            await self._call("FirmwareStatusNotification", body)
        else:
            body["status"] = LOG_STATUS_ON_WIRE.get(fields["status"], fields["status"])
            await self._call("LogStatusNotification", body)

    async def security_event(self: Ocpp201Adapter, kind: str, tech_info: str | None) -> None:
        body: dict[str, Any] = {
            "type": security_event_type(kind, self.version)[:50],
            "timestamp": format_timestamp(self.runner.now()),
        }
        if tech_info:
            body["techInfo"] = tech_info[:255]
        await self._call("SecurityEventNotification", body)

    async def sign_certificate(self: Ocpp201Adapter, csr: str, cert_type: str) -> None:
        await self._call("SignCertificate", {"csr": csr, "certificateType": cert_type})

    async def on_UpdateFirmware(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        firmware = payload["firmware"]
        status = self.runner.maintenance.update_firmware(
            firmware["location"],
            parse_timestamp(firmware["retrieveDateTime"]),
            retries=payload.get("retries", 0),
            retry_interval=payload.get("retryInterval", 30),
            request_id=payload["requestId"],
            signature=firmware.get("signature"),
            signing_certificate=firmware.get("signingCertificate"),
        )
        return {"status": status}

    async def on_GetLog(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        return self.runner.maintenance.get_log(payload)

    async def on_InstallCertificate(
        self: Ocpp201Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        maintenance = self.runner.maintenance
        return {
            "status": maintenance.install_certificate(
                payload["certificateType"], payload["certificate"]
            )
        }

    async def on_GetInstalledCertificateIds(
        self: Ocpp201Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        found = self.runner.maintenance.certificates.installed_ids(payload.get("certificateType"))
        if not found:
            return {"status": "NotFound"}
        return {"status": "Accepted", "certificateHashDataChain": found}

    async def on_DeleteCertificate(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": self.runner.maintenance.delete_certificate(payload["certificateHashData"])
        }

    async def on_CertificateSigned(self: Ocpp201Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        status = self.runner.maintenance.certificate_signed(
            payload["certificateChain"],
            payload.get("certificateType", "ChargingStationCertificate"),
        )
        return {"status": status}
