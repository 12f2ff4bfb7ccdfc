"""Sans-I/O reading of OCPP ``meterValue`` lists (1.6 and 2.x) into normalised `MeterSample`s.

A 1.6 sampled value is a string with an optional measurand (default: the active import
energy register), unit, phase and location. A 2.x sampled value is a number with the same
optional fields, except that the unit is ``unitOfMeasure`` (``unit``, default Wh, and a
power-of-ten ``multiplier``, default 0). Stations differ in what they send: kWh or Wh,
one total or three phases, the register at the outlet and at the inlet. This module picks
one number per quantity so the cpo layer never sees those differences:

* values in ``SignedData`` format and values that are not finite numbers are skipped;
* a unit that does not fit the measurand (energy in W) is skipped rather than guessed;
* a missing unit means the measurand's base unit (the spec's blanket default is Wh, which
  only makes sense for energy);
* location preference: Outlet (also when absent, the spec default), then Inlet, then the
  rest -- except SoC, which is an EV reading wherever it is reported;
* a phase-less value is the total; without one, energy and power are summed over the
  phases, current is the largest phase current and voltage the mean phase-to-neutral
  voltage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voltlab.csms.events import MeterSample
from voltlab.ocpp.vocabulary.timestamps import parse_datetime_or

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
SOC = "SoC"

# measurand -> {unit: factor to the base unit}; the first unit is the base unit.
_UNITS: dict[str, dict[str, float]] = {
    ENERGY: {"Wh": 1.0, "kWh": 1000.0},
    POWER: {"W": 1.0, "kW": 1000.0},
    CURRENT: {"A": 1.0},
    VOLTAGE: {"V": 1.0},
    SOC: {"Percent": 1.0},
}

_LOCATION_RANK = {"Outlet": 0, "Inlet": 1}
_OTHER_LOCATION_RANK = 2


@dataclass(frozen=True, slots=True)
class _Reading:
    measurand: str
    value: float  # in the base unit
    phase: str | None
    location_rank: int


def parse_meter_values(
    meter_values: Iterable[dict[str, Any]], fallback: datetime, *, ocpp2: bool = False
) -> list[MeterSample]:
    """Samples for a ``meterValue`` (or 1.6 ``transactionData``) list, in the given order.

    A meter value with nothing usable in it (only signed data, only other measurands) yields
    no sample. ``fallback`` replaces an unreadable timestamp. ``ocpp2`` selects the 2.x
    spelling of sampled values.
    """
    out: list[MeterSample] = []
    for meter_value in meter_values:
        sample = parse_meter_value(meter_value, fallback, ocpp2=ocpp2)
        if sample is not None:
            out.append(sample)
    return out


def parse_meter_value(
    meter_value: dict[str, Any], fallback: datetime, *, ocpp2: bool = False
) -> MeterSample | None:
    read: Callable[[dict[str, Any]], _Reading | None] = _reading2 if ocpp2 else _reading
    readings: list[_Reading] = []
    contexts: list[str] = []
    for sampled in meter_value.get("sampledValue") or []:
        reading = read(sampled)
        if reading is None:
            continue
        readings.append(reading)
        context = sampled.get("context")
        if context and context not in contexts:
            contexts.append(context)
    if not readings:
        return None
    sample = MeterSample(
        timestamp=parse_datetime_or(meter_value.get("timestamp"), fallback),
        energy_wh=_summed(readings, ENERGY),
        power_w=_summed(readings, POWER),
        current_a=_largest(readings, CURRENT),
        voltage_v=_voltage(readings),
        soc_percent=_soc(readings),
        # The default context is Sample.Periodic (SampledValue.context, 1.6 and 2.x).
        context=contexts[0] if contexts else "Sample.Periodic",
    )
    return sample


def _reading(sampled: dict[str, Any]) -> _Reading | None:
    if sampled.get("format") == "SignedData":
        return None
    measurand = sampled.get("measurand") or ENERGY
    units = _UNITS.get(measurand)
    if units is None:
        return None
    unit = sampled.get("unit") or next(iter(units))
    factor = units.get(unit)
    if factor is None:
        return None
    try:
        value = float(sampled["value"])
    except (KeyError, TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    location = sampled.get("location") or "Outlet"
    rank = _LOCATION_RANK.get(location, _OTHER_LOCATION_RANK)
    return _Reading(measurand, value * factor, sampled.get("phase"), rank)


def _reading2(sampled: dict[str, Any]) -> _Reading | None:
    # 2.x values are numbers even when signed (signedMeterValue rides along): always usable.
    measurand = sampled.get("measurand") or ENERGY
    units = _UNITS.get(measurand)
    if units is None:
        return None
    unit_of_measure = sampled.get("unitOfMeasure") or {}
    unit = unit_of_measure.get("unit") or next(iter(units))
    factor = units.get(unit)
    if factor is None:
        return None
    try:
        scale = 10.0 ** int(unit_of_measure.get("multiplier") or 0)
        value = float(sampled["value"]) * factor * scale
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(value):
        return None
    location = sampled.get("location") or "Outlet"
    rank = _LOCATION_RANK.get(location, _OTHER_LOCATION_RANK)
    return _Reading(measurand, value, sampled.get("phase"), rank)


def _best_location(readings: list[_Reading], measurand: str) -> list[_Reading]:
    matching = [r for r in readings if r.measurand == measurand]
    if not matching:
        return []
    best = min(r.location_rank for r in matching)
    return [r for r in matching if r.location_rank == best]


def _total(readings: list[_Reading]) -> float | None:
    for reading in readings:
        if reading.phase is None:
            return reading.value
    return None


def _line_phases(readings: list[_Reading]) -> list[float]:
    # L1/L2/L3 or L1-N/L2-N/L3-N; neutral current and line-to-line values are not per phase.
    return [r.value for r in readings if r.phase in ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N")]


def _summed(readings: list[_Reading], measurand: str) -> float | None:
    chosen = _best_location(readings, measurand)
    total = _total(chosen)
    if total is not None:
        return total
    phases = _line_phases(chosen)
    return sum(phases) if phases else None


def _largest(readings: list[_Reading], measurand: str) -> float | None:
    chosen = _best_location(readings, measurand)
    total = _total(chosen)
    if total is not None:
        return total
    phases = _line_phases(chosen)
    return max(phases) if phases else None


def _voltage(readings: list[_Reading]) -> float | None:
    chosen = _best_location(readings, VOLTAGE)
    total = _total(chosen)
    if total is not None:
        return total
    phases = _line_phases(chosen)
    return sum(phases) / len(phases) if phases else None


def _soc(readings: list[_Reading]) -> float | None:
    values = [r.value for r in readings if r.measurand == SOC]
    return values[0] if values else None
