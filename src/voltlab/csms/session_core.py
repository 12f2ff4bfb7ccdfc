"""What a station session of the built-in CSMS answers alike in every OCPP version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from voltlab.csms.notify import Notification, StationRegistered
from voltlab.csms.registry import StationRecord
from voltlab.ocpp.vocabulary.timestamps import format_datetime


class SessionCore:
    record: StationRecord
    heartbeat_interval: int
    _emit: Callable[[Notification], None]
    _now: Callable[[], datetime]

    async def _on_boot_notification(self, payload: dict[str, Any]) -> dict[str, Any]:
        # Every station the CPO knows is accepted; unknown identities never get this far.
        self.record.boot = dict(payload)
        self.record.registered = True
        self._emit(StationRegistered(dict(payload)))
        return {
            "status": "Accepted",
            "currentTime": format_datetime(self._now()),
            "interval": self.heartbeat_interval,
        }

    async def _on_heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"currentTime": format_datetime(self._now())}
