"""Charging limits set on the station by a system other than its CSMS (OCPP 2.0.1 K12/K13:
an energy management system, a grid operator): per EVSE, or station-wide (EVSE 0), each with
its source (ChargingLimitSourceEnumType: EMS, Other, SO). They cap the power as a charging
profile does (`Station.charging_limit_w`); the 2.x station tells its CSMS with
NotifyChargingLimit and ClearedChargingLimit.

Version-neutral and free of I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SOURCES = ("EMS", "Other", "SO")


@dataclass(frozen=True, slots=True)
class ExternalLimit:
    connector_id: int  # 0: the whole station
    limit_w: float
    source: str
    grid_critical: bool | None = None
    since: float = 0.0


class ExternalLimits:
    __slots__ = ("_limits", "notified")

    def __init__(self) -> None:
        self._limits: dict[int, ExternalLimit] = {}
        # The limit last reported to the CSMS per connector (LimitChangeSignificance is
        # measured against it).
        self.notified: dict[int, float] = {}

    def __bool__(self) -> bool:
        return bool(self._limits)

    def get(self, connector_id: int) -> ExternalLimit | None:
        return self._limits.get(connector_id)

    def all(self) -> list[ExternalLimit]:
        return [self._limits[key] for key in sorted(self._limits)]

    def limit_w(self, connector_id: int) -> float | None:
        found = self._limits.get(connector_id)
        return None if found is None else found.limit_w

    def set(self, limit: ExternalLimit) -> ExternalLimit | None:
        """Set a connector's limit; returns the one it replaced."""
        previous = self._limits.get(limit.connector_id)
        self._limits[limit.connector_id] = limit
        return previous

    def clear(self, connector_id: int) -> ExternalLimit | None:
        self.notified.pop(connector_id, None)
        return self._limits.pop(connector_id, None)

    def snapshot(self) -> list[dict[str, Any]] | None:
        return [asdict(limit) for limit in self.all()] or None

    def restore(self, body: list[dict[str, Any]]) -> None:
        self._limits = {}
        for item in body:
            limit = ExternalLimit(**item)
            self._limits[limit.connector_id] = limit
