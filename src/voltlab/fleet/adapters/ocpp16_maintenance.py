"""OCPP 1.6 firmware, diagnostics and the security whitepaper messages (mixed into the 1.6
adapter): translations of `fleet.maintenance_control` into 1.6 frames."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.maintenance import LOG_STATUS_ON_WIRE
from voltlab.fleet.maintenance_control import timestamp_or_none
from voltlab.ocpp.connection import Reply
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.adapters.ocpp16 import Ocpp16Adapter

FIRMWARE_16 = {
    "Downloading",
    "Downloaded",
    "DownloadFailed",
    "Installing",
    "Installed",
    "InstallationFailed",
    "Idle",
}
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


class Ocpp16Maintenance:
    # -- station -> CSMS ----------------------------------------------------------------------

    async def maintenance_status(self: Ocpp16Adapter, event: str, fields: dict[str, Any]) -> None:
        status = fields["status"]
        if event == "firmware":
            if fields.get("signed"):
                body: dict[str, Any] = {"status": status}
                if fields.get("request_id") is not None:
                    body["requestId"] = fields["request_id"]
                await self._call("SignedFirmwareStatusNotification", body)
            elif status in FIRMWARE_16:
                await self._call("FirmwareStatusNotification", {"status": status})
        elif event == "diagnostics":
            await self._call("DiagnosticsStatusNotification", {"status": status})
        elif event == "log":
            body = {"status": LOG_STATUS_ON_WIRE.get(status, status)}
            if fields.get("request_id") is not None:
                body["requestId"] = fields["request_id"]
            await self._call("LogStatusNotification", body)

    async def security_event(self: Ocpp16Adapter, kind: str, tech_info: str | None) -> None:
        body: dict[str, Any] = {"type": kind, "timestamp": format_timestamp(self.runner.now())}
        if tech_info:
            body["techInfo"] = tech_info[:255]
        await self._call("SecurityEventNotification", body)

    async def sign_certificate(self: Ocpp16Adapter, csr: str, cert_type: str) -> None:
        await self._call("SignCertificate", {"csr": csr})

    # -- CSMS -> station ----------------------------------------------------------------------

    async def on_UpdateFirmware(self: Ocpp16Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        self.runner.maintenance.update_firmware(
            payload["location"],
            parse_timestamp(payload["retrieveDate"]),
            retries=payload.get("retries", 0),
            retry_interval=payload.get("retryInterval", 30),
        )
        return {}

    async def on_SignedUpdateFirmware(
        self: Ocpp16Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        firmware = payload["firmware"]
        status = self.runner.maintenance.update_firmware(
            firmware["location"],
            parse_timestamp(firmware["retrieveDateTime"]),
            retries=payload.get("retries", 0),
            retry_interval=payload.get("retryInterval", 30),
            request_id=payload["requestId"],
            signature=firmware["signature"],
            signing_certificate=firmware["signingCertificate"],
        )
        return {"status": status}

    async def on_GetDiagnostics(self: Ocpp16Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        _, file_name = self.runner.maintenance.upload_log(
            "diagnostics",
            payload["location"],
            request_id=None,
            start_time=timestamp_or_none(payload.get("startTime")),
            stop_time=timestamp_or_none(payload.get("stopTime")),
            retries=payload.get("retries", 0),
            retry_interval=payload.get("retryInterval", 30),
        )
        return {"fileName": file_name}

    async def on_GetLog(self: Ocpp16Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        return self.runner.maintenance.get_log(payload)

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

    async def on_InstallCertificate(self: Ocpp16Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        maintenance = self.runner.maintenance
        return {
            "status": maintenance.install_certificate(
                payload["certificateType"], payload["certificate"]
            )
        }

    async def on_GetInstalledCertificateIds(
        self: Ocpp16Adapter, payload: dict[str, Any]
    ) -> dict[str, Any]:
        found = self.runner.maintenance.certificates.installed_ids([payload["certificateType"]])
        if not found:
            return {"status": "NotFound"}
        return {
            "status": "Accepted",
            "certificateHashData": [f["certificateHashData"] for f in found],
        }

    async def on_DeleteCertificate(self: Ocpp16Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": self.runner.maintenance.delete_certificate(payload["certificateHashData"])
        }

    async def on_CertificateSigned(self: Ocpp16Adapter, payload: dict[str, Any]) -> dict[str, Any]:
        status = self.runner.maintenance.certificate_signed(
            payload["certificateChain"], "ChargingStationCertificate"
        )
        return {"status": status}
