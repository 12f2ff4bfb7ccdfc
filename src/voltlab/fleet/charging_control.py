"""Smart charging at the station, whatever the OCPP version: install and clear charging
profiles, answer composite schedules. Adapters parse their version's JSON into a
`ChargingProfile` and call these; the limit then caps the EV's power in the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.smart_charging import (
    ChargingProfile,
    InstalledProfile,
    to_ocpp16_composite,
    to_ocpp201_composite,
)
from voltlab.ocpp.versions import OCPP16

if TYPE_CHECKING:
    from voltlab.fleet.runner import StationRunner


def install_profile(runner: StationRunner, connector_id: int, profile: ChargingProfile) -> str:
    station = runner.station
    if connector_id != 0 and connector_id not in station.connectors:
        return "Rejected"
    tx = station.connectors[connector_id].transaction if connector_id else None
    station.advance(runner.now())
    status = station.profiles.install(
        connector_id,
        profile,
        runner.now(),
        transaction_id=None if tx is None else tx.transaction_id,
        in_transaction=tx is not None,
        ocpp_version=OCPP16 if runner.version == OCPP16 else runner.version,
    )
    if status == "Accepted":
        runner.changed()
        runner.charging_limits_changed()
    return status


def clear_profiles(
    runner: StationRunner,
    *,
    profile_id: int | None,
    connector_id: int | None,
    purpose: str | None,
    stack_level: int | None,
) -> bool:
    runner.station.advance(runner.now())
    cleared = runner.station.profiles.clear(
        id=profile_id, connector_id=connector_id, purpose=purpose, stack_level=stack_level
    )
    if cleared:
        runner.changed()
        runner.charging_limits_changed()
    return cleared


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
