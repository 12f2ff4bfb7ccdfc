"""Local cost calculation (OCPP 2.1 I12): a transaction priced by its tariff from what the
meter measured and the time that passed. Pure: no clock, no I/O; every step takes its
instants and readings from the caller (the station model feeds each stretch of constant
power it integrates: `accrue`).

How a stretch [t0, t1] is priced. Power is constant over it (the station model integrates
energy in such stretches), so energy, charging time and idle time grow linearly; it is cut
where a condition can change inside it (a time of day, midnight for days and dates, an energy
or duration threshold) and each piece is priced by the first price element of each component
whose conditions hold in its middle. A piece with energy flowing is charging time, otherwise
idle time. The energy of a piece is the difference of the meter register rounded to 0.1 Wh
(the resolution the station reports it in), so the energy priced over a transaction is exactly
the difference of the registers its Started and Ended events carry: a CSMS reproduces the cost
from the meter values it received.

Rounding: amounts are exact decimals until reported. Each component's cost excluding tax is
rounded half up to TariffCostCtrlr.NumberOfDecimalsForCostValues (2: cents); its cost
including tax is the exact amount with its tax rates applied (stack 0 on the net price, stack
n on the result of stack n - 1, rates of one stack added), rounded the same way; the totals
are the sums of the rounded components, so a receipt adds up. minCost and maxCost replace the
total (typeOfCost MinCost / MaxCost) when it falls below or rises above them. Fixed fees are
evaluated once, when the meter starts."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from voltlab.fleet.model.cost_report import (
    ComponentCost,
    CostDetails,
    CostTotals,
    PeriodReport,
    exact,
    limited,
    rounded,
    with_taxes,
)
from voltlab.fleet.model.records import Connector, MeterReading
from voltlab.fleet.model.tariff_conditions import (
    Reading,
    State,
    first_index,
    fixed_holds,
    index_of,
)
from voltlab.fleet.model.tariffs import PriceComponent, Tariff, Tariffs, TaxRate, minutes_of

DAY = 86_400.0
ENERGY_RESOLUTION_WH = 1  # decimals of the register as reported (Sample.decimals)
EPSILON = 1e-9


def meter_wh(register_wh: float) -> Decimal:
    """The register as the station reports it (0.1 Wh), as an exact decimal."""
    return Decimal(repr(round(register_wh, ENERGY_RESOLUTION_WH)))


# -- the meter of one transaction ---------------------------------------------------------------


@dataclass
class _Period:
    start: float
    tariff_id: str
    elements: tuple[int | None, int | None, int | None] | None = None
    energy_wh: Decimal = Decimal(0)
    charging_s: float = 0.0
    idle_s: float = 0.0
    power: tuple[float, float] | None = None  # (min, max) W over its pieces
    current: tuple[float, float] | None = None  # (min, max) A


@dataclass
class _Segment:
    """What one component charged under one tariff (its taxes), excluding tax."""

    amount: Decimal
    tax_rates: tuple[TaxRate, ...]


@dataclass
class CostMeter:
    """The running cost of one transaction on one EVSE (`evse_kind`: AC or DC). Usage and
    costs accumulate from `started_at`; `switch` replaces the tariff from an instant on (the
    new one never reprices what went before)."""

    local_id: int
    connector_id: int
    evse_kind: str
    tariff: Tariff
    started_at: float
    last_at: float
    last_register_wh: float
    energy_wh: float = 0.0  # exact, for energy conditions
    charging_s: float = 0.0
    idle_s: float = 0.0
    # Where the tariff came from: an EVSE's default, or the CSMS for this transaction
    # (ChangeTransactionTariff), which GetTariffs reports as a DriverTariff.
    kind: str = "DefaultTariff"
    periods: list[_Period] = field(default_factory=list)
    # Per component, what each tariff charged (a tariff change starts a new segment).
    segments: dict[str, list[_Segment]] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        local_id: int,
        connector_id: int,
        evse_kind: str,
        tariff: Tariff,
        at: float,
        register_wh: float,
        *,
        reserved: bool = False,
    ) -> CostMeter:
        """A meter from `at` (the transaction's start), charging the fixed fee (and, for a
        transaction that came from a reservation, the reservation's fixed fee) once."""
        meter = cls(local_id, connector_id, evse_kind, tariff, at, at, register_wh)
        meter.periods.append(_Period(at, tariff.tariff_id))
        fees: list[tuple[str, PriceComponent | None]] = [("fixed_fee", tariff.fixed_fee)]
        if reserved:
            fees.append(("reservation_fixed", tariff.reservation_fixed))
        for name, component in fees:
            if component is None:
                continue
            index = first_index(component, lambda c: fixed_holds(c, at, evse_kind))
            if index is not None:
                meter._charge(name, component, exact(component.prices[index].price))
        return meter

    @property
    def tariff_id(self) -> str:
        return self.tariff.tariff_id

    def accrue(self, now: float, register_wh: float, power_w: float, current_a: float) -> None:
        """Price [last, now]: the register went to `register_wh` at constant `power_w`
        (`current_a`: summed over the phases)."""
        start, span = self.last_at, now - self.last_at
        energy = register_wh - self.last_register_wh
        if span <= 0 and abs(energy) < EPSILON:
            return
        charging = energy > EPSILON
        if not charging:
            power_w = current_a = 0.0
        cuts = [start, *self._cuts(start, now, energy, charging), now] if span > 0 else [start]
        reading = Reading(power_w, current_a, charging)
        if span <= 0:  # energy without time: priced at the elements in force
            self._piece(start, start, energy, self.last_register_wh, register_wh, reading)
        for left, right in zip(cuts, cuts[1:], strict=False):
            if right - left <= 0:
                continue
            share_left, share_right = (left - start) / span, (right - start) / span
            reg_left = self.last_register_wh + energy * share_left
            reg_right = self.last_register_wh + energy * share_right
            if right == now:
                reg_right = register_wh  # exact at the stretch's end
            self._piece(left, right, reg_right - reg_left, reg_left, reg_right, reading)
        self.last_at, self.last_register_wh = max(now, self.last_at), register_wh

    def switch(self, tariff: Tariff, at: float) -> None:
        """The transaction's tariff changes at `at` (already accrued up to it): a new
        charging period begins; what the old tariff charged keeps its taxes."""
        self.tariff = tariff
        self.periods.append(_Period(at, tariff.tariff_id))

    # -- pricing ------------------------------------------------------------------------------

    def _cuts(self, start: float, end: float, energy: float, charging: bool) -> list[float]:
        """Instants inside (start, end) where a condition of the tariff may change."""
        span = end - start
        cuts: set[float] = set()
        minutes = {0}
        for conditions in self.tariff.conditions():
            for text in (conditions.start_time_of_day, conditions.end_time_of_day):
                value = minutes_of(text)
                if value is not None:
                    minutes.add(value)
        day = math.floor(start / DAY) * DAY
        while day < end:
            for minute in minutes:
                instant = day + minute * 60
                if start < instant < end:
                    cuts.add(instant)
            day += DAY
        for conditions in self.tariff.conditions():
            for threshold in (conditions.min_energy, conditions.max_energy):
                if threshold is not None and abs(energy) > EPSILON:
                    cuts.add(start + (threshold - self.energy_wh) / energy * span)
            for threshold in (conditions.min_time, conditions.max_time):
                if threshold is not None:
                    cuts.add(self.started_at + threshold)
            own = (
                (conditions.min_charging_time, conditions.max_charging_time, self.charging_s)
                if charging
                else (conditions.min_idle_time, conditions.max_idle_time, self.idle_s)
            )
            for threshold in own[:2]:
                if threshold is not None:
                    cuts.add(start + threshold - own[2])
        return sorted(cut for cut in cuts if start < cut < end)

    def _piece(
        self,
        left: float,
        right: float,
        energy: float,
        reg_left: float,
        reg_right: float,
        reading: Reading,
    ) -> None:
        seconds = right - left
        middle = State(
            at=left + seconds / 2,
            energy_wh=self.energy_wh + energy / 2,
            elapsed_s=left + seconds / 2 - self.started_at,
            charging_s=self.charging_s + (seconds / 2 if reading.charging else 0.0),
            idle_s=self.idle_s + (0.0 if reading.charging else seconds / 2),
            reading=reading,
            evse_kind=self.evse_kind,
        )
        tariff = self.tariff
        used = (
            index_of(tariff.energy, middle),
            index_of(tariff.charging_time, middle),
            index_of(tariff.idle_time, middle),
        )
        period = self.periods[-1]
        if period.elements is None:
            period.elements = used
        elif period.elements != used:
            period = _Period(left, tariff.tariff_id, used)
            self.periods.append(period)
        wh = meter_wh(reg_right) - meter_wh(reg_left)
        energy_index, charging_index, idle_index = used
        if tariff.energy is not None and energy_index is not None:
            price = exact(tariff.energy.prices[energy_index].price)
            self._charge("energy", tariff.energy, price * wh / 1000)
        time_component = tariff.charging_time if reading.charging else tariff.idle_time
        time_index = charging_index if reading.charging else idle_index
        name = "charging_time" if reading.charging else "idle_time"
        if time_component is not None and time_index is not None and seconds > 0:
            price = exact(time_component.prices[time_index].price)
            self._charge(name, time_component, price * exact(seconds) / 60)
        period.energy_wh += wh
        if reading.charging:
            period.charging_s += seconds
            self.charging_s += seconds
        else:
            period.idle_s += seconds
            self.idle_s += seconds
        self.energy_wh += energy
        if seconds > 0:
            period.power = _widen(period.power, reading.power_w)
            period.current = _widen(period.current, reading.current_a)

    def _charge(self, name: str, component: PriceComponent, amount: Decimal) -> None:
        segments = self.segments.setdefault(name, [])
        if segments and segments[-1].tax_rates == component.tax_rates:
            segments[-1].amount += amount
        else:
            segments.append(_Segment(amount, component.tax_rates))

    # -- reporting ----------------------------------------------------------------------------

    def details(self, decimals: int) -> CostDetails:
        """The cost so far (CostDetailsType), amounts rounded to `decimals`."""
        components: list[tuple[str, ComponentCost]] = []
        excl_total = incl_total = Decimal(0)
        for name, segments in self._in_order():
            excl = rounded(sum((s.amount for s in segments), Decimal(0)), decimals)
            incl = rounded(
                sum((with_taxes(s.amount, s.tax_rates) for s in segments), Decimal(0)), decimals
            )
            excl_total, incl_total = excl_total + excl, incl_total + incl
            cost = ComponentCost(float(excl), float(incl), segments[-1].tax_rates)
            components.append((name, cost))
        totals = CostTotals(
            self.tariff.currency,
            "NormalCost",
            tuple(components),
            float(excl_total),
            float(incl_total),
        )
        totals = limited(totals, self.tariff, excl_total, incl_total, decimals)
        periods = tuple(_report(period) for period in self.periods)
        total_wh = sum((p.energy_wh for p in self.periods), Decimal(0))
        return CostDetails(
            periods,
            totals,
            float(total_wh),
            int(round(self.charging_s)),
            int(round(self.idle_s)),
        )

    def _in_order(self) -> Iterator[tuple[str, list[_Segment]]]:
        for name in ("fixed_fee", "energy", "charging_time", "idle_time", "reservation_fixed"):
            segments = self.segments.get(name)
            if segments:
                yield name, segments
            elif getattr(self.tariff, name) is not None:
                yield name, [_Segment(Decimal(0), getattr(self.tariff, name).tax_rates)]

    # -- persistence --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "local_id": self.local_id,
            "connector_id": self.connector_id,
            "evse_kind": self.evse_kind,
            "tariff": self.tariff.snapshot(),
            "started_at": self.started_at,
            "last_at": self.last_at,
            "last_register_wh": self.last_register_wh,
            "energy_wh": self.energy_wh,
            "charging_s": self.charging_s,
            "idle_s": self.idle_s,
            "kind": self.kind,
            "periods": [
                {
                    "start": p.start,
                    "tariff_id": p.tariff_id,
                    "elements": None if p.elements is None else list(p.elements),
                    "energy_wh": str(p.energy_wh),
                    "charging_s": p.charging_s,
                    "idle_s": p.idle_s,
                    "power": None if p.power is None else list(p.power),
                    "current": None if p.current is None else list(p.current),
                }
                for p in self.periods
            ],
            "segments": {
                name: [
                    {"amount": str(s.amount), "tax_rates": [vars_of(r) for r in s.tax_rates]}
                    for s in segments
                ]
                for name, segments in self.segments.items()
            },
        }

    @classmethod
    def restore(cls, body: dict[str, Any]) -> CostMeter:
        meter = cls(
            int(body["local_id"]),
            int(body["connector_id"]),
            str(body["evse_kind"]),
            Tariff.restore(body["tariff"]),
            float(body["started_at"]),
            float(body["last_at"]),
            float(body["last_register_wh"]),
            float(body["energy_wh"]),
            float(body["charging_s"]),
            float(body["idle_s"]),
            str(body.get("kind", "DefaultTariff")),
        )
        for item in body.get("periods", []):
            elements = item.get("elements")
            meter.periods.append(
                _Period(
                    float(item["start"]),
                    str(item["tariff_id"]),
                    None if elements is None else (elements[0], elements[1], elements[2]),
                    Decimal(item["energy_wh"]),
                    float(item["charging_s"]),
                    float(item["idle_s"]),
                    _pair(item.get("power")),
                    _pair(item.get("current")),
                )
            )
        for name, segments in body.get("segments", {}).items():
            meter.segments[name] = [
                _Segment(Decimal(s["amount"]), tuple(TaxRate(**r) for r in s.get("tax_rates", ())))
                for s in segments
            ]
        return meter


def vars_of(rate: TaxRate) -> dict[str, Any]:
    return {"type": rate.type, "tax": rate.tax, "stack": rate.stack}


def _pair(body: list[float] | None) -> tuple[float, float] | None:
    return None if body is None else (float(body[0]), float(body[1]))


def _widen(bounds: tuple[float, float] | None, value: float) -> tuple[float, float]:
    if bounds is None:
        return (value, value)
    return (min(bounds[0], value), max(bounds[1], value))


def _report(period: _Period) -> PeriodReport:
    power, current = period.power, period.current
    return PeriodReport(
        period.start,
        period.tariff_id,
        float(period.energy_wh),
        round(period.charging_s, 3),
        round(period.idle_s, 3),
        None if power is None else round(power[0], 1),
        None if power is None else round(power[1], 1),
        None if current is None else round(current[0], 2),
        None if current is None else round(current[1], 2),
    )


# -- the station's side: its meters, fed by its integration, and their snapshot -----------------


def accrue_meters(
    meters: dict[int, CostMeter],
    connectors: Mapping[int, Connector],
    now: float,
    reading: Callable[[int, float], MeterReading],
) -> None:
    """Price the stretch the station model just integrated, for each running transaction
    with a meter (`Station.advance`, before the power changes: `power_w` is what flowed)."""
    for meter in meters.values():
        conn = connectors.get(meter.connector_id)
        tx = None if conn is None else conn.transaction
        if conn is None or tx is None or tx.local_id != meter.local_id:
            continue  # ended: its last stretch was priced when it ended
        current = reading(meter.connector_id, now)
        phases = max(1, current.phases)
        meter.accrue(now, conn.register_wh, conn.power_w, current.current_a * phases)


def snapshot_costs(tariffs: Tariffs, meters: dict[int, CostMeter]) -> dict[str, Any] | None:
    """What the station's snapshot keeps of its tariffs and running meters (None: nothing)."""
    if not tariffs.installed and not meters:
        return None
    return {
        **tariffs.snapshot(),
        "meters": {str(key): meter.snapshot() for key, meter in meters.items()},
    }


def restore_costs(body: dict[str, Any], tariffs: Tariffs, meters: dict[int, CostMeter]) -> None:
    tariffs.restore(body)
    meters.clear()
    for key, item in body.get("meters", {}).items():
        meters[int(key)] = CostMeter.restore(item)
