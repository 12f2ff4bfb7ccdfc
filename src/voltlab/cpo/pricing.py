"""OCPI 2.2.1 tariff engine: what a finished (or running) session costs under one Tariff.

Rules implemented, from the 2.2.1 Tariffs and CDRs modules:
- Per dimension, the first TariffElement whose restrictions are met and which has a
  PriceComponent of that dimension prices it; several dimensions can be active at once.
  No matching element means that dimension is free.
- ENERGY is priced per kWh, TIME (charging) and PARKING_TIME (connected, not charging) per
  hour, FLAT once per session (from the first element that carries FLAT when first active).
- step_size (Wh for ENERGY, seconds for TIME / PARKING_TIME) is applied once per dimension,
  to the session total of that dimension, with the step of the last PriceComponent used;
  the rounded-up remainder is billed at that last component's price. Switching between
  elements of the same dimension does not round the earlier part.
- TIME is not rounded when paid parking follows it ("step_size is not taken into account
  when switching time based paying for charging to paying for parking").
  The 2.2.1 text is not self-consistent here (one tariff-module example rounds TIME and
  PARKING_TIME as a combined total); we follow the CDR module's per-dimension rules and
  its examples.
- VAT per component: incl = excl × (1 + vat/100); a component without `vat` adds none.
- min_price / max_price clamp excl. and incl. VAT totals independently.
- Totals are rounded half-up to 2 decimals; component lines keep 4 decimals.

Restrictions read local time of the Location: pass `time_zone` (the Location's IANA zone);
without it, aware datetimes are read in their own offset and naive ones as UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from voltlab.cpo.pricing_timeline import (
    Moment,
    Segment,
    SessionTimeline,
    restrictions_met,
)

# Unit of step_size and the divisor turning it into the priced unit (kWh or hour).
_STEP_UNITS_PER_PRICED_UNIT: dict[str, float] = {
    "ENERGY": 1000.0,
    "TIME": 3600.0,
    "PARKING_TIME": 3600.0,
}


@dataclass(frozen=True)
class PricedComponent:
    dimension: str
    element_index: int
    price: float  # per kWh / hour / session, excl. VAT, as in the tariff
    vat: float | None
    step_size: int
    volume: float  # billed: kWh, hours, or 1 for FLAT (step rounding included)
    excl_vat: float
    incl_vat: float


@dataclass(frozen=True)
class Price:
    excl_vat: float
    incl_vat: float
    currency: str | None
    components: list[PricedComponent] = field(default_factory=list)
    billed_volumes: dict[str, float] = field(default_factory=dict)  # per dimension
    charging_periods: list[dict[str, Any]] = field(default_factory=list)  # OCPI CDR shape

    def to_json(self) -> dict[str, Any]:
        return {"excl_vat": self.excl_vat, "incl_vat": self.incl_vat}


@dataclass
class _Entry:
    order: int  # segment index, to know what came last
    element_index: int
    component: dict[str, Any]
    volume: float  # in step units: Wh or seconds


def _first_active(
    elements: list[dict[str, Any]], dimension: str, moment: Moment
) -> tuple[int, dict[str, Any]] | None:
    for index, element in enumerate(elements):
        component = next(
            (c for c in element.get("price_components") or [] if c.get("type") == dimension), None
        )
        if component is not None and restrictions_met(element.get("restrictions"), moment):
            return index, component
    return None


def _money(value: float, places: str = "0.01") -> float:
    # repr → Decimal keeps the float's shortest form, so 0.125 stays 0.125 and rounds up.
    return float(Decimal(repr(round(value, 9))).quantize(Decimal(places), ROUND_HALF_UP))


def _with_vat(amount: float, vat: Any) -> float:
    return amount * (1.0 + float(vat) / 100.0) if isinstance(vat, int | float) else amount


def _round_up_to_step(total: float, step: int) -> float:
    # Quantize first so float dust (600.0000001 s) does not buy a whole extra step.
    exact = Decimal(repr(round(total, 3)))
    steps = (exact / Decimal(step)).to_integral_value(rounding=ROUND_CEILING)
    return float(steps * step)


def _bill_dimension(
    dimension: str, entries: list[_Entry], apply_step: bool
) -> list[tuple[PricedComponent, float]]:
    """Component lines for one dimension, each with its unrounded excl. VAT amount."""
    volumes = [entry.volume for entry in entries]
    last = entries[-1]
    step = int(last.component.get("step_size") or 0)
    if apply_step and step > 0:
        total = sum(volumes)
        volumes[-1] += max(0.0, _round_up_to_step(total, step) - total)
    divisor = _STEP_UNITS_PER_PRICED_UNIT[dimension]
    lines: list[tuple[PricedComponent, float]] = []
    run_start = 0
    for i in range(1, len(entries) + 1):
        if i < len(entries) and entries[i].element_index == entries[run_start].element_index:
            continue
        run = entries[run_start:i]
        component = run[0].component
        volume = sum(volumes[run_start:i]) / divisor
        excl = volume * float(component["price"])
        lines.append(
            (
                PricedComponent(
                    dimension=dimension,
                    element_index=run[0].element_index,
                    price=float(component["price"]),
                    vat=component.get("vat"),
                    step_size=int(component.get("step_size") or 0),
                    volume=round(volume, 6),
                    excl_vat=_money(excl, "0.0001"),
                    incl_vat=_money(_with_vat(excl, component.get("vat")), "0.0001"),
                ),
                excl,
            )
        )
        run_start = i
    return lines


def _clamp(
    excl: float, incl: float, bound: Any, beyond: Callable[[float, float], bool]
) -> tuple[float, float]:
    if not isinstance(bound, dict):
        return excl, incl
    ratio = incl / excl if excl > 0 else 1.0
    if isinstance(bound.get("excl_vat"), int | float) and beyond(excl, bound["excl_vat"]):
        excl = float(bound["excl_vat"])
        if not isinstance(bound.get("incl_vat"), int | float):
            incl = excl * ratio  # no incl. VAT bound given: keep the session's VAT ratio
    if isinstance(bound.get("incl_vat"), int | float) and beyond(incl, bound["incl_vat"]):
        incl = float(bound["incl_vat"])
    return excl, incl


def _ocpi_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _periods(
    timeline: SessionTimeline,
    segments: list[Segment],
    choices: list[tuple[Any, ...]],
    tariff_id: Any,
) -> list[dict[str, Any]]:
    """Merge segments priced alike into OCPI CDR ChargingPeriods (raw, unrounded volumes)."""
    periods: list[dict[str, Any]] = []
    current_key: tuple[Any, ...] | None = None
    for segment, choice in zip(segments, choices, strict=True):
        key = (segment.charging, choice)
        if key != current_key:
            period: dict[str, Any] = {
                "start_date_time": _ocpi_time(timeline.instant(segment.start_us)),
                "dimensions": [],
                "_volumes": {},
            }
            if isinstance(tariff_id, str):
                period["tariff_id"] = tariff_id
            periods.append(period)
            current_key = key
        volumes: dict[str, float] = periods[-1]["_volumes"]
        if segment.charging:
            volumes["ENERGY"] = volumes.get("ENERGY", 0.0) + segment.energy_kwh
            volumes["TIME"] = volumes.get("TIME", 0.0) + segment.seconds / 3600.0
            volumes["MAX_POWER"] = max(volumes.get("MAX_POWER", 0.0), segment.power_kw)
        else:
            volumes["PARKING_TIME"] = volumes.get("PARKING_TIME", 0.0) + segment.seconds / 3600.0
    for period in periods:
        volumes = period.pop("_volumes")
        period["dimensions"] = [
            {"type": kind, "volume": round(volume, 6)}
            for kind, volume in volumes.items()
            if kind != "MAX_POWER" or volume > 0
        ]
    return periods


def price_session(
    tariff: dict[str, Any],
    *,
    start: datetime,
    end: datetime,
    charging_periods: list[dict[str, Any]] | None,
    energy_kwh: float,
    max_power_kw: float | None = None,
    time_zone: str | None = None,
) -> Price:
    """Price one session. `charging_periods` are OCPI CDR ChargingPeriods (ENERGY kWh, TIME /
    PARKING_TIME hours, MAX_POWER kW, MAX_CURRENT A); without them the whole session is one
    charging period with `energy_kwh`. When periods carry no ENERGY, `energy_kwh` is spread
    over their charging time. Power for power restrictions: the period's MAX_POWER/POWER,
    else `max_power_kw`, else the period's average. An end before start is a zero-length
    session (clock skew must not make billing fail)."""
    elements: list[dict[str, Any]] = list(tariff.get("elements") or [])
    timeline = SessionTimeline(
        start=start,
        end=end,
        charging_periods=charging_periods,
        energy_kwh=energy_kwh,
        max_power_kw=max_power_kw,
        time_zone=time_zone,
    )
    segments = timeline.segments(elements)
    entries: dict[str, list[_Entry]] = {"ENERGY": [], "TIME": [], "PARKING_TIME": []}
    flat: tuple[int, dict[str, Any]] | None = None
    choices: list[tuple[Any, ...]] = []
    for order, segment in enumerate(segments):
        dimensions = ("ENERGY", "TIME") if segment.charging else ("PARKING_TIME",)
        choice: list[Any] = []
        for dimension in dimensions:
            found = _first_active(elements, dimension, segment.moment)
            choice.append(found[0] if found else None)
            if found is None:
                continue
            volume = segment.energy_kwh * 1000.0 if dimension == "ENERGY" else segment.seconds
            entries[dimension].append(_Entry(order, found[0], found[1], volume))
        choices.append(tuple(choice))
        if flat is None:
            flat = _first_active(elements, "FLAT", segment.moment)
    if not segments:
        # A zero-length session still owes its start fee.
        flat = _first_active(elements, "FLAT", timeline.segment(0, 0).moment)

    last_parking = max((e.order for e in entries["PARKING_TIME"]), default=-1)
    last_time = max((e.order for e in entries["TIME"]), default=-1)
    lines: list[tuple[PricedComponent, float]] = []
    if flat is not None:
        index, component = flat
        amount = float(component["price"])
        lines.append(
            (
                PricedComponent(
                    "FLAT",
                    index,
                    amount,
                    component.get("vat"),
                    int(component.get("step_size") or 0),
                    1.0,
                    _money(amount, "0.0001"),
                    _money(_with_vat(amount, component.get("vat")), "0.0001"),
                ),
                amount,
            )
        )
    for dimension, dimension_entries in entries.items():
        if not dimension_entries:
            continue
        apply_step = not (dimension == "TIME" and last_parking > last_time)
        lines.extend(_bill_dimension(dimension, dimension_entries, apply_step))

    # Totals come from unrounded line amounts; only the final sums are rounded to cents.
    excl = sum(amount for _, amount in lines)
    incl = sum(_with_vat(amount, line.vat) for line, amount in lines)
    components = [line for line, _ in lines]
    excl, incl = _clamp(excl, incl, tariff.get("min_price"), lambda value, bound: value < bound)
    excl, incl = _clamp(excl, incl, tariff.get("max_price"), lambda value, bound: value > bound)
    billed: dict[str, float] = {}
    for c in components:
        billed[c.dimension] = round(billed.get(c.dimension, 0.0) + c.volume, 6)
    return Price(
        excl_vat=_money(excl),
        incl_vat=_money(incl),
        currency=tariff.get("currency"),
        components=components,
        billed_volumes=billed,
        charging_periods=_periods(timeline, segments, choices, tariff.get("id")),
    )
