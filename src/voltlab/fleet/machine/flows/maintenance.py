"""Maintenance: the firmware and log-upload flows behind one entry per kind of event, so the
machine routes requests, timers (`firmware:`, `log:`) and transfer outcomes in one line each."""

from __future__ import annotations

from voltlab.fleet.machine.effects import Effect
from voltlab.fleet.machine.events import (
    DownloadDone,
    FrameLogRead,
    TransferFailed,
    TransferOutcome,
    UploadDone,
)
from voltlab.fleet.machine.flows.firmware import FirmwareFlow
from voltlab.fleet.machine.flows.logs import LogFlow
from voltlab.fleet.machine.flows.maintenance_rules import MaintenancePacing
from voltlab.fleet.machine.maintenance_messages import MaintenanceRequest, UpdateFirmware
from voltlab.fleet.model.station import Station


class Maintenance:
    def __init__(self, station: Station, pacing: MaintenancePacing) -> None:
        self.station = station
        self.firmware = FirmwareFlow(pacing)
        self.logs = LogFlow(station.identity, pacing)

    def request(self, message: MaintenanceRequest, now: float) -> list[Effect]:
        if isinstance(message, UpdateFirmware):
            return self.firmware.update_firmware(message, now)
        return self.logs.get_log(message, now)

    def owns_timer(self, name: str) -> bool:
        return self.firmware.owns(name) or self.logs.owns(name)

    def timer_fired(self, name: str, now: float) -> list[Effect]:
        if self.firmware.owns(name):
            return self.firmware.timer_fired(self.station, name, now)
        return self.logs.timer_fired(name, now)

    def transfer_outcome(self, event: TransferOutcome, now: float) -> list[Effect]:
        if isinstance(event, DownloadDone):
            return self.firmware.downloaded(event.name, event.content, now)
        if isinstance(event, UploadDone):
            return self.logs.uploaded(event.name, now)
        if isinstance(event, FrameLogRead):
            return self.logs.frame_log_read(event.name, event.lines, now)
        return self._failed(event, now)

    def _failed(self, event: TransferFailed, now: float) -> list[Effect]:
        if self.firmware.owns(event.name):
            return self.firmware.transfer_failed(event, now)
        return self.logs.transfer_failed(event, now)
