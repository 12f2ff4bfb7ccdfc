"""The driver side of maintenance: the transfers the station machine's firmware and log flows
ask for (HTTP download and upload, reading the frame log), their outcomes fed back as events,
the station's recent frames, and (until they move into the machine too) certificates and
security events."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from voltlab.fleet.driver.maintenance import Transfer, run_transfer
from voltlab.fleet.driver.security import CertificateStore
from voltlab.fleet.machine.effects import SendCall
from voltlab.fleet.machine.flows.maintenance_rules import RECENT_LINES
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport, SignCertificateRequest
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner


class StationMaintenance:
    def __init__(self, runner: StationRunner) -> None:
        self.runner = runner
        # Only a station without a store keeps its recent frames in memory; with one, the
        # upload reads the frame log, so 10 000 stations do not each hold 500 lines.
        self.recent: deque[tuple[float, str, str]] | None = (
            deque(maxlen=RECENT_LINES) if runner.frame_log is None else None
        )
        self._transfers: dict[str, asyncio.Task[Any]] = {}
        self.certificates = CertificateStore()

    def frame(self, direction: str, text: str) -> None:
        if self.recent is not None:
            self.recent.append((self.runner.now(), direction, text))

    async def log_lines(self, limit: int = RECENT_LINES) -> list[str]:
        """The station's last frames, oldest first, one timestamped line each."""
        if self.recent is not None:
            frames = list(self.recent)[-limit:]
        else:
            assert self.runner.frame_log is not None
            frames = await self.runner.frame_log(self.runner.charger_id, limit)
        return [f"{format_timestamp(ts)} {direction} {text}" for ts, direction, text in frames]

    # -- transfers ------------------------------------------------------------------------------

    def start_transfer(self, effect: Transfer) -> None:
        """Run the transfer as the station's own task; its outcome goes back to the machine."""
        self.cancel_transfer(effect.name)
        self._transfers[effect.name] = self.runner.spawn(self._transfer(effect))

    def cancel_transfer(self, name: str) -> None:
        task = self._transfers.pop(name, None)
        if task is not None:
            task.cancel()

    async def _transfer(self, effect: Transfer) -> None:
        outcome = await run_transfer(effect, self.log_lines)
        if self._transfers.get(effect.name) is asyncio.current_task():
            del self._transfers[effect.name]
        runner = self.runner
        await runner.execute(runner.feed(outcome))

    async def security_event(self, kind: str, tech_info: str | None = None) -> None:
        """Best effort, like on real stations: a failed send is logged and forgotten."""
        report = SecurityEventReport(kind, self.runner.now(), tech_info)
        await self.runner.execute([SendCall(report)])

    # -- certificates -----------------------------------------------------------------------

    async def request_certificate(self, cert_type: str = "ChargingStationCertificate") -> None:
        """SignCertificate: a CSR for the station's key; CertificateSigned answers it later."""
        csr = self.certificates.new_csr(self.runner.station.identity, "Voltlab", cert_type)
        await self.runner.execute([SendCall(SignCertificateRequest(csr, cert_type))])

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
