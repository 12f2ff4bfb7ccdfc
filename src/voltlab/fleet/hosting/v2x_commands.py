"""The gateway commands of OCPP 2.1's bidirectional power transfer: `discharge` (an external
setpoint) and what a grid event injected with `inject-fault` leads to on a 2.1 station (its
DER controls answer it)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.hosting.command_limits import bounded_number, connector_rating_kw
from voltlab.fleet.machine.v2x_messages import (
    Discharge,
    DischargeAnswer,
    GridConditionAnswer,
    GridConditionChanged,
)
from voltlab.fleet.model.der_controls import GRID_EVENTS

Result = dict[str, Any]


async def discharge(runner: StationRunner, payload: dict[str, Any]) -> Result:
    """An external setpoint (an EMS, a home energy manager): the V2X EV on the connector
    discharges at `power_kw` (0: stops) where the 2.1 station's schedule lets it follow one."""
    connector_id = int(payload.get("connector_id", 0))
    runner.station.connector(connector_id)  # raises unknown_connector
    rating = connector_rating_kw(runner.station.model, connector_id) or 0.0
    power_kw = payload.get("power_kw")
    power_kw = 0.0 if power_kw == 0 else bounded_number(power_kw, "power_kw", rating)
    answer = await runner.driver.run_command(Discharge(connector_id, float(power_kw) * 1000.0))
    assert isinstance(answer, DischargeAnswer)
    conn = runner.station.connectors[connector_id]
    return {
        "connector_id": connector_id,
        "setpoint_w": answer.setpoint_w,
        "power_w": round(answer.power_w, 1),
        "operation_mode": answer.operation_mode,
        "following_setpoint": answer.following,
        "soc_percent": None if conn.ev is None else round(conn.ev.soc_percent, 1),
        "export_wh": round(conn.export_wh, 1),
    }


async def grid_condition(
    runner: StationRunner, connector_id: int, fault_type: str
) -> Result | None:
    """A grid event on the station (connector 0) of a 2.1 station: the DER controls answer
    it (NotifyDERAlarm, a trip stops the power); the result says what followed."""
    if (
        connector_id != 0
        or fault_type not in GRID_EVENTS
        or not runner.machine.settings.bidirectional
    ):
        return None
    answer = await runner.driver.run_command(GridConditionChanged())
    assert isinstance(answer, GridConditionAnswer)
    return {
        "grid_event": answer.grid_event,
        "der_alarms": [
            {"control_type": alarm.control_type, "ended": alarm.ended} for alarm in answer.alarms
        ],
        "der_trip": answer.ceasing,
    }
