"""The driver side of maintenance: the transfers the station machine's firmware and log flows
ask for (HTTP download and upload, reading the frame log), their outcomes fed back as events,
the station's recent frames, and the persistence of the machine's certificate store."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from voltlab.fleet.driver.maintenance import Transfer, run_transfer
from voltlab.fleet.machine.certificate_messages import CertificateRequested, RequestCertificate
from voltlab.fleet.machine.flows.maintenance_rules import RECENT_LINES
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

    # -- certificates -----------------------------------------------------------------------

    async def request_certificate(
        self, cert_type: str = "ChargingStationCertificate"
    ) -> CertificateRequested:
        """SignCertificate (the machine's RequestCertificate); CertificateSigned comes later."""
        result = await self.runner.run_command(RequestCertificate(cert_type))
        assert isinstance(result, CertificateRequested)
        return result

    # The certificates live in the machine; their snapshot keeps its place in the stored state.
    def snapshot(self) -> dict[str, Any]:
        return {"certificates": self.runner.machine.context.certificates.snapshot()}

    def restore(self, body: dict[str, Any]) -> None:
        if body.get("certificates"):
            self.runner.machine.context.certificates.restore(body["certificates"])
