"""Turn a meter reading into the sampled values a station reports, version-neutrally. Codecs
format them (1.6: strings with `unit`; 2.x: numbers with `unitOfMeasure`).

Bidirectional power transfer (V2X): the import and export registers each count one direction
and only grow. Power.Active.Import and Current.Import are the net flow towards the EV, negative
while it discharges (the sign a CSMS that reads only them needs to see the discharge, and the
one OCPP 2.1 setpoints use); Power.Active.Export and Current.Export are the flow from the EV,
never negative (0 while it charges)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from voltlab.fleet.model.station import MeterReading, Station
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

UNITS = {
    "Energy.Active.Import.Register": "Wh",
    "Energy.Active.Export.Register": "Wh",
    "Power.Active.Import": "W",
    "Power.Active.Export": "W",
    "Power.Offered": "W",
    "Current.Import": "A",
    "Current.Export": "A",
    "Current.Offered": "A",
    "Voltage": "V",
    "SoC": "Percent",
    "Temperature": "Celsius",
    "Frequency": "Hz",
}


_CURRENTS = frozenset({"Current.Import", "Current.Export", "Current.Offered"})


class Sample(NamedTuple):  # a tuple: built several times per MeterValues of every station
    measurand: str
    value: float
    unit: str
    phase: str | None = None
    location: str = "Outlet"
    decimals: int = 1


def samples(
    reading: MeterReading, measurands: list[str], *, max_power_w: int, max_current_a: int
) -> list[Sample]:
    out: list[Sample] = []
    three_phase = reading.phases == 3
    for measurand in measurands:
        unit = UNITS.get(measurand)
        if unit is None:
            continue
        if measurand == "Energy.Active.Import.Register":
            out.append(Sample(measurand, reading.register_wh, unit))
        elif measurand == "Energy.Active.Export.Register":
            out.append(Sample(measurand, reading.export_wh, unit))
        elif measurand == "Power.Active.Import":
            out.append(Sample(measurand, reading.power_w, unit))
        elif measurand == "Power.Active.Export":
            out.append(Sample(measurand, max(0.0, -reading.power_w), unit))
        elif measurand == "Power.Offered":
            out.append(Sample(measurand, float(max_power_w), unit))
        elif measurand in _CURRENTS:
            if measurand == "Current.Import":
                value = reading.current_a
            elif measurand == "Current.Export":
                value = max(0.0, -reading.current_a)
            else:
                value = float(max_current_a)
            if three_phase:
                out.extend(Sample(measurand, value, unit, phase) for phase in ("L1", "L2", "L3"))
            else:
                out.append(Sample(measurand, value, unit))
        elif measurand == "Voltage":
            if three_phase:
                out.extend(
                    Sample(measurand, reading.voltage_v, unit, phase)
                    for phase in ("L1-N", "L2-N", "L3-N")
                )
            else:
                out.append(Sample(measurand, reading.voltage_v, unit))
        elif measurand == "SoC":
            if reading.soc_percent is not None:
                out.append(Sample(measurand, reading.soc_percent, unit, location="EV", decimals=0))
        elif measurand == "Temperature":
            heat = abs(reading.power_w) / 10_000.0  # losses warm it either way
            out.append(Sample(measurand, 25.0 + heat, unit, location="Body"))
        elif measurand == "Frequency" and reading.phases:
            out.append(Sample(measurand, 50.0, unit, decimals=2))
    return out


def meter_value(
    station: Station,
    connector_id: int,
    reading: MeterReading,
    measurands: list[str],
    context: str,
    say: Callable[[Sample, str], dict[str, Any]],
) -> dict[str, Any]:
    """One MeterValue: the samples of `measurands`, each said by the version's `say`."""
    spec = station.connector(connector_id).spec
    values = samples(
        reading, measurands, max_power_w=spec.max_power_w, max_current_a=spec.max_current_a
    )
    return {
        "timestamp": format_timestamp(reading.timestamp),
        "sampledValue": [say(sample, context) for sample in values],
    }
