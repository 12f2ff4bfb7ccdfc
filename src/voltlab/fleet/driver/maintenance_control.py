"""The driver side of maintenance: the transfers the station machine's firmware and log flows
ask for (HTTP download and upload, reading the frame log), their outcomes fed back as events,
the station's recent frames, and the persistence of the machine's certificate store."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from voltlab.clock import Clock
from voltlab.fleet.driver.effects import MachineDriver
from voltlab.fleet.driver.maintenance import Transfer, run_transfer
from voltlab.fleet.driver.station_tasks import StationTasks
from voltlab.fleet.machine.certificate_messages import CertificateRequested, RequestCertificate
from voltlab.fleet.machine.flows.maintenance_rules import RECENT_LINES
from voltlab.fleet.model.certificates import CertificateStore
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

# The stored frame log of a charger: its newest `limit` frames, oldest first (ts, dir, text).
FrameLog = Callable[[str, int], Coroutine[Any, Any, list[tuple[float, str, str]]]]


class StationMaintenance:
    """The driver's `Transfers`, the station's recent frames and its certificates' snapshot."""

    __slots__ = (
        "recent",
        "_driver",
        "_tasks",
        "_clock",
        "_charger_id",
        "_frame_log",
        "_certificates",
        "_transfers",
    )

    def __init__(
        self,
        *,
        driver: MachineDriver,
        tasks: StationTasks,
        clock: Clock,
        charger_id: str,
        frame_log: FrameLog | None,
        certificates: CertificateStore,
    ) -> None:
        self._driver = driver
        self._tasks = tasks
        self._clock = clock
        self._charger_id = charger_id
        self._frame_log = frame_log
        self._certificates = certificates
        # Only a station without a store keeps its recent frames in memory; with one, the
        # upload reads the frame log, so 10 000 stations do not each hold 500 lines.
        self.recent: deque[tuple[float, str, str]] | None = (
            deque(maxlen=RECENT_LINES) if frame_log is None else None
        )
        self._transfers: dict[str, asyncio.Task[Any]] = {}

    def frame(self, direction: str, text: str) -> None:
        if self.recent is not None:
            self.recent.append((self._clock.now(), direction, text))

    async def log_lines(self, limit: int = RECENT_LINES) -> list[str]:
        """The station's last frames, oldest first, one timestamped line each."""
        if self.recent is not None:
            frames = list(self.recent)[-limit:]
        else:
            assert self._frame_log is not None
            frames = await self._frame_log(self._charger_id, limit)
        return [f"{format_timestamp(ts)} {direction} {text}" for ts, direction, text in frames]

    # -- transfers ------------------------------------------------------------------------------

    def start_transfer(self, effect: Transfer) -> None:
        """Run the transfer as the station's own task; its outcome goes back to the machine."""
        self.cancel_transfer(effect.name)
        self._transfers[effect.name] = self._tasks.spawn(self._transfer(effect))

    def cancel_transfer(self, name: str) -> None:
        task = self._transfers.pop(name, None)
        if task is not None:
            task.cancel()

    async def _transfer(self, effect: Transfer) -> None:
        outcome = await run_transfer(effect, self.log_lines)
        if self._transfers.get(effect.name) is asyncio.current_task():
            del self._transfers[effect.name]
        driver = self._driver
        await driver.execute(driver.feed(outcome))

    # -- certificates -----------------------------------------------------------------------

    async def request_certificate(
        self, cert_type: str = "ChargingStationCertificate"
    ) -> CertificateRequested:
        """SignCertificate (the machine's RequestCertificate); CertificateSigned comes later."""
        result = await self._driver.run_command(RequestCertificate(cert_type))
        assert isinstance(result, CertificateRequested)
        return result

    # The certificates live in the machine; their snapshot keeps its place in the stored state.
    def snapshot(self) -> dict[str, Any]:
        return {"certificates": self._certificates.snapshot()}

    def restore(self, body: dict[str, Any]) -> None:
        if body.get("certificates"):
            self._certificates.restore(body["certificates"])
