"""Firmware updates, log uploads, certificates and security events of a station, whatever the
OCPP version. The flows (fleet/maintenance.py, fleet/security.py) are version-neutral; the
adapters answer the requests with these functions and say the status events in their words."""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from voltlab.fleet.maintenance import DiagnosticsUploader, FirmwareUpdater, certificate_problem
from voltlab.fleet.security import CertificateStore
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.runner import StationRunner

log = logging.getLogger(__name__)

RECENT_LINES = 500  # frame log lines a diagnostics upload carries


class StationMaintenance:
    def __init__(self, runner: StationRunner) -> None:
        self.runner = runner
        # Only a station without a store keeps its recent frames in memory; with one, the
        # upload reads the frame log, so 10 000 stations do not each hold 500 lines.
        self.recent: deque[tuple[float, str, str]] | None = (
            deque(maxlen=RECENT_LINES) if runner.frame_log is None else None
        )
        self.firmware = FirmwareUpdater(
            clock=runner.clock,
            notify=self._notify,
            on_installed=self._installed,
            current_version=runner.station.firmware_version,
        )
        self.uploads = DiagnosticsUploader(
            clock=runner.clock, notify=self._notify, identity=runner.station.identity
        )
        self.certificates = CertificateStore()

    def frame(self, direction: str, text: str) -> None:
        if self.recent is not None:
            self.recent.append((self.runner.now(), direction, text))

    async def log_lines(self) -> list[str]:
        """The station's last frames, oldest first, one timestamped line each."""
        if self.recent is not None:
            frames = list(self.recent)
        else:
            assert self.runner.frame_log is not None
            frames = await self.runner.frame_log(self.runner.charger_id, RECENT_LINES)
        return [f"{format_timestamp(ts)} {direction} {text}" for ts, direction, text in frames]

    async def _notify(self, event: str, fields: dict[str, Any]) -> None:
        if not self.runner.link.online:
            return
        try:
            await self.runner.adapter.maintenance_status(event, fields)
        except Exception as exc:  # noqa: BLE001 - a status message must not stop the flow
            log.debug("%s: %s status not sent: %s", self.runner.identity, event, exc)

    async def _installed(self) -> None:
        self.runner.station.firmware_version = self.firmware.current_version
        self.runner.changed()
        await self.security_event("FirmwareUpdated")
        await self.runner.reset(True)

    async def security_event(self, kind: str, tech_info: str | None = None) -> None:
        if not self.runner.link.online:
            return
        try:
            await self.runner.adapter.security_event(kind, tech_info)
        except Exception as exc:  # noqa: BLE001 - events are best effort, like on real stations
            log.debug("%s: security event %s not sent: %s", self.runner.identity, kind, exc)

    # -- requests -----------------------------------------------------------------------------

    def update_firmware(
        self,
        location: str,
        retrieve_at: float,
        *,
        retries: int,
        retry_interval: float,
        request_id: int | None = None,
        signature: str | None = None,
        signing_certificate: str | None = None,
    ) -> str:
        """Accepted, AcceptedCanceled (an update was running) or InvalidCertificate."""
        signed = signature is not None or signing_certificate is not None
        if signed and certificate_problem(signing_certificate) is not None:
            return "InvalidCertificate"
        status = "AcceptedCanceled" if self.firmware.busy else "Accepted"
        self.runner.spawn(
            self.firmware.run(
                location,
                retrieve_at,
                retries=retries,
                retry_interval=retry_interval,
                request_id=request_id,
                signature=signature,
                signing_certificate=signing_certificate,
            )
        )
        return status

    def upload_log(
        self,
        kind: str,
        location: str,
        *,
        request_id: int | None,
        start_time: float | None,
        stop_time: float | None,
        retries: int,
        retry_interval: float,
    ) -> tuple[str, str]:
        """(Accepted | AcceptedCanceled, file name)."""
        status = "AcceptedCanceled" if self.uploads.busy else "Accepted"
        file_name = self.uploads.new_file_name(kind)  # type: ignore[arg-type]
        self.runner.spawn(
            self.uploads.run(
                location,
                request_id=request_id,
                start_time=start_time,
                stop_time=stop_time,
                log_lines=self.log_lines,
                kind=kind,  # type: ignore[arg-type]
                file_name=file_name,
                retries=retries,
                retry_interval=retry_interval,
            )
        )
        return status, file_name

    def get_log(self, payload: dict[str, Any]) -> dict[str, Any]:
        """GetLog: the same request in 1.6 (security whitepaper) and 2.x."""
        log_spec = payload["log"]
        status, file_name = self.upload_log(
            "log",
            log_spec["remoteLocation"],
            request_id=payload["requestId"],
            start_time=timestamp_or_none(log_spec.get("oldestTimestamp")),
            stop_time=timestamp_or_none(log_spec.get("latestTimestamp")),
            retries=payload.get("retries", 0),
            retry_interval=payload.get("retryInterval", 30),
        )
        return {"status": status, "filename": file_name}

    async def request_certificate(self, cert_type: str = "ChargingStationCertificate") -> None:
        """SignCertificate: a CSR for the station's key; CertificateSigned answers it later."""
        csr = self.certificates.new_csr(self.runner.station.identity, "Voltlab", cert_type)
        await self.runner.adapter.sign_certificate(csr, cert_type)

    def install_certificate(self, cert_type: str, pem: str) -> str:
        status = self.certificates.install(cert_type, pem)
        self.runner.changed()
        return status

    def delete_certificate(self, hash_data: dict[str, Any]) -> str:
        status = self.certificates.delete(hash_data)
        self.runner.changed()
        return status

    def certificate_signed(self, chain_pem: str, cert_type: str) -> str:
        """CertificateSigned: Accepted when the chain fits the key of our CSR, else Rejected
        (and a security event says so)."""
        accepted = self.certificates.certificate_signed(chain_pem, cert_type=cert_type)
        self.runner.changed()
        if not accepted:
            self.runner.spawn(self.security_event("InvalidChargePointCertificate"))
        return "Accepted" if accepted else "Rejected"

    def snapshot(self) -> dict[str, Any]:
        return {"certificates": self.certificates.snapshot()}

    def restore(self, body: dict[str, Any]) -> None:
        if body.get("certificates"):
            self.certificates.restore(body["certificates"])


def timestamp_or_none(text: str | None) -> float | None:
    return None if text is None else parse_timestamp(text)
