"""Composite schedules, whatever the OCPP version (installing and clearing profiles is the
station machine's: machine/flows/profiles.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.smart_charging import (
    InstalledProfile,
    to_ocpp16_composite,
    to_ocpp201_composite,
)
from voltlab.ocpp.versions import OCPP16

if TYPE_CHECKING:
    from voltlab.fleet.runner import StationRunner


def composite_schedule(
    runner: StationRunner, connector_id: int, duration: int, unit: str | None
) -> dict[str, Any]:
    station = runner.station
    if connector_id != 0 and connector_id not in station.connectors:
        return {"status": "Rejected"}
    tx = station.connectors[connector_id].transaction if connector_id else None
    max_w = (
        station.model.max_station_power_w
        if connector_id == 0
        else station.connectors[connector_id].spec.max_power_w
    )
    composite = station.profiles.composite_schedule(
        connector_id,
        runner.now(),
        duration,
        unit,
        tx_started_at=None if tx is None else tx.started_at,
        phases=station.phases(connector_id),
        max_w=max_w,
    )
    if runner.version == OCPP16:
        return to_ocpp16_composite(composite)
    return to_ocpp201_composite(composite)


def installed(
    runner: StationRunner, connector_id: int | None, **criteria: Any
) -> list[InstalledProfile]:
    return runner.station.profiles.profiles(connector_id, **criteria)
