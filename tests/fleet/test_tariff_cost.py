"""The local cost calculator (fleet/model/tariff_cost.py) on its own: stretches of constant
power priced by a tariff, every expected figure worked out by hand in the test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voltlab.fleet.model.tariff_cost import CostMeter
from voltlab.fleet.model.tariffs import (
    Conditions,
    PriceComponent,
    PriceElement,
    PriceLimit,
    Tariff,
    Tariffs,
    TaxRate,
    tariff_problem,
)

# Thursday 2027-01-14 17:00:00 UTC (the station's local time is UTC).
T0 = datetime(2027, 1, 14, 17, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


def component(*prices: float | tuple[float, Conditions], taxes=()) -> PriceComponent:
    elements = tuple(
        PriceElement(p[0], p[1]) if isinstance(p, tuple) else PriceElement(p) for p in prices
    )
    return PriceComponent(elements, tuple(taxes))


def charge(meter: CostMeter, seconds: float, power_w: float, current_a: float = 0.0) -> None:
    """`seconds` more at `power_w` (the register rises by power x time)."""
    now = meter.last_at + seconds
    meter.accrue(now, meter.last_register_wh + power_w * seconds / 3600, power_w, current_a)


def totals(meter: CostMeter, decimals: int = 2) -> dict[str, tuple[float, float]]:
    details = meter.details(decimals)
    found = {name: (c.excl_tax, c.incl_tax) for name, c in details.totals.components}
    found["total"] = (details.totals.excl_tax, details.totals.incl_tax)
    return found


def test_energy_and_a_fixed_fee() -> None:
    tariff = Tariff("T", "EUR", energy=component(0.30), fixed_fee=component(1.00))
    meter = CostMeter.start(1, 1, "AC", tariff, T0, 1000.0)
    charge(meter, 1800, 7360)  # 3.68 kWh
    assert totals(meter) == {
        "fixed_fee": (1.0, 1.0),
        "energy": (1.1, 1.1),  # 0.30 x 3.68 = 1.104
        "total": (2.1, 2.1),
    }
    details = meter.details(2)
    assert (details.energy_wh, details.charging_s, details.idle_s) == (3680.0, 1800, 0)


def test_the_energy_priced_is_the_difference_of_the_registers_as_reported() -> None:
    tariff = Tariff("T", "EUR", energy=component(0.30))
    meter = CostMeter.start(1, 1, "AC", tariff, T0, 1234.56)  # reported as 1234.6
    meter.accrue(T0 + 60, 1234.56 + 183.33, 11000, 0)  # reported as 1417.9
    meter.accrue(T0 + 120, 1234.56 + 366.66, 11000, 0)  # 1601.2
    assert meter.details(4).energy_wh == pytest.approx(1601.2 - 1234.6)
    assert totals(meter, 4)["energy"] == (0.11, 0.11)  # 0.30 x 366.6 Wh = 0.10998


def test_taxes_stack_and_round_half_up() -> None:
    vat = TaxRate("VAT", 19.0)
    levy = TaxRate("Levy", 2.0, stack=1)  # on top of the price with VAT
    tariff = Tariff("T", "EUR", energy=component(0.25, taxes=(vat, levy)))
    meter = CostMeter.start(1, 1, "AC", tariff, T0, 0.0)
    charge(meter, HOUR, 10_000)  # 10 kWh: 2.50 net
    # 2.50 x 1.19 = 2.975, x 1.02 = 3.0345 -> 3.03
    assert totals(meter)["energy"] == (2.5, 3.03)
    assert totals(meter, 3)["energy"] == (2.5, 3.035)  # 3.0345 rounds half up
    [(_, energy)] = meter.details(2).totals.components
    assert energy.tax_rates == (vat, levy)


def test_charging_and_idle_time_are_priced_apart() -> None:
    tariff = Tariff(
        "T", "EUR", charging_time=component(0.05), idle_time=component(0.20)
    )  # per minute
    meter = CostMeter.start(1, 1, "AC", tariff, T0, 0.0)
    charge(meter, 40 * 60, 11_000)
    charge(meter, 15 * 60, 0)  # the EV is full, still plugged
    assert totals(meter) == {
        "charging_time": (2.0, 2.0),  # 40 min x 0.05
        "idle_time": (3.0, 3.0),  # 15 min x 0.20
        "total": (5.0, 5.0),
    }
    details = meter.details(2)
    assert (details.charging_s, details.idle_s) == (2400, 900)


def test_a_time_of_day_price_cuts_a_stretch_at_its_boundary() -> None:
    evening = Conditions(start_time_of_day="18:00", end_time_of_day="22:00")
    tariff = Tariff("T", "EUR", energy=component((0.40, evening), 0.20))
    meter = CostMeter.start(1, 1, "AC", tariff, T0 + 0.5 * HOUR, 0.0)  # 17:30
    charge(meter, HOUR, 10_000)  # 17:30-18:30 in one stretch: 5 kWh each side of 18:00
    assert totals(meter)["energy"] == (3.0, 3.0)  # 5 x 0.20 + 5 x 0.40
    before, after = meter.details(2).periods
    assert (before.start, after.start) == (T0 + 0.5 * HOUR, T0 + HOUR)
    assert (before.energy_wh, after.energy_wh) == (5000.0, 5000.0)


def test_an_energy_threshold_changes_the_price_where_it_is_reached() -> None:
    bulk = Conditions(min_energy=20_000)
    tariff = Tariff("T", "EUR", energy=component((0.25, bulk), 0.35))
    meter = CostMeter.start(1, 1, "DC", tariff, T0, 0.0)
    charge(meter, HOUR, 50_000)  # 20 kWh at 0.35, then 30 kWh at 0.25
    assert totals(meter)["energy"] == (14.5, 14.5)
    assert len(meter.details(2).periods) == 2


def test_power_conditions_and_the_evse_kind() -> None:
    fast = Conditions(min_power=50_000)
    dc_only = Conditions(evse_kind="DC")
    tariff = Tariff(
        "T",
        "EUR",
        energy=component((0.60, fast), 0.40),
        fixed_fee=component((2.00, dc_only), 0.50),
    )
    dc = CostMeter.start(1, 1, "DC", tariff, T0, 0.0)
    charge(dc, 0.5 * HOUR, 100_000)  # 50 kWh at 0.60
    charge(dc, 0.5 * HOUR, 20_000)  # 10 kWh at 0.40
    assert totals(dc) == {
        "fixed_fee": (2.0, 2.0),
        "energy": (34.0, 34.0),
        "total": (36.0, 36.0),
    }
    ac = CostMeter.start(1, 1, "AC", tariff, T0, 0.0)
    assert totals(ac)["fixed_fee"] == (0.5, 0.5)


def test_min_and_max_cost_replace_the_total() -> None:
    tariff = Tariff(
        "T",
        "EUR",
        energy=component(0.30),
        min_cost=PriceLimit(excl_tax=2.00, tax_rates=(TaxRate("VAT", 20.0),)),
        max_cost=PriceLimit(excl_tax=10.00, incl_tax=12.00),
    )
    meter = CostMeter.start(1, 1, "AC", tariff, T0, 0.0)
    charge(meter, 0.25 * HOUR, 11_000)  # 2.75 kWh: 0.83
    low = meter.details(2).totals
    assert (low.type_of_cost, low.excl_tax, low.incl_tax) == ("MinCost", 2.0, 2.4)
    charge(meter, 3 * HOUR, 11_000)  # 35.75 kWh: 10.73
    high = meter.details(2).totals
    assert (high.type_of_cost, high.excl_tax, high.incl_tax) == ("MaxCost", 10.0, 12.0)
    assert high.components[0][1].excl_tax == 10.73  # what the energy came to is still told


def test_a_tariff_switch_prices_what_follows_and_keeps_the_old_taxes() -> None:
    first = Tariff("A", "EUR", energy=component(0.30, taxes=(TaxRate("VAT", 10.0),)))
    second = Tariff("B", "EUR", energy=component(0.50, taxes=(TaxRate("VAT", 20.0),)))
    meter = CostMeter.start(1, 1, "AC", first, T0, 0.0)
    charge(meter, HOUR, 10_000)
    meter.switch(second, meter.last_at)
    charge(meter, HOUR, 10_000)
    # 3.00 net + 10 % and 5.00 net + 20 %
    assert totals(meter)["energy"] == (8.0, 9.3)
    periods = meter.details(2).periods
    assert [(p.tariff_id, p.energy_wh) for p in periods] == [("A", 10_000.0), ("B", 10_000.0)]


def test_a_meter_survives_its_snapshot() -> None:
    evening = Conditions(start_time_of_day="18:00")
    tariff = Tariff(
        "T",
        "EUR",
        energy=component((0.40, evening), 0.20, taxes=(TaxRate("VAT", 19.0),)),
        fixed_fee=component(1.0),
    )
    meter = CostMeter.start(3, 2, "AC", tariff, T0, 100.0)
    charge(meter, HOUR * 1.5, 7_400)
    copy = CostMeter.restore(meter.snapshot())
    assert copy.details(2) == meter.details(2)
    charge(meter, HOUR, 3_700)
    charge(copy, HOUR, 3_700)
    assert copy.details(2) == meter.details(2)


def test_default_tariffs_per_evse_follow_valid_from_and_install_order() -> None:
    tariffs = Tariffs()
    old = Tariff("OLD", "EUR", energy=component(0.30))
    new = Tariff("NEW", "EUR", energy=component(0.35), valid_from=T0 + HOUR)
    assert tariffs.install(old, [1, 2]) == "Accepted"
    assert tariffs.install(new, [1]) == "Accepted"
    assert tariffs.in_force(1, T0) == old and tariffs.in_force(1, T0 + HOUR) == new
    assert tariffs.install(Tariff("OLD", "EUR", energy=component(0.99)), [1]) == (
        "DuplicateTariffId"
    )
    tariffs.prune(T0 + 2 * HOUR)  # OLD can never be in force on EVSE 1 again
    assigned = [(a.tariff.tariff_id, a.evse_ids) for a in tariffs.assignments(None)]
    assert assigned == [("OLD", (2,)), ("NEW", (1,))]
    assert tariffs.clear(None, 2) == [("OLD", "Accepted")]
    assert tariffs.clear(("NEW", "GONE"), None) == [("NEW", "Accepted"), ("GONE", "NoTariff")]
    assert tariffs.clear(None, None) == [(None, "NoTariff")]


def test_what_a_station_refuses_to_take() -> None:
    many = Tariff("T", "EUR", energy=component(*[0.1 * n for n in range(1, 12)]))
    assert tariff_problem(many, max_elements=10, conditions_supported=True).status == (
        "TooManyElements"
    )
    timed = Tariff("T", "EUR", energy=component((0.4, Conditions(min_power=1.0)), 0.2))
    assert tariff_problem(timed, max_elements=10, conditions_supported=False).status == (
        "ConditionNotSupported"
    )
    bad_time = Tariff("T", "EUR", energy=component((0.4, Conditions(start_time_of_day="25:00"))))
    problem = tariff_problem(bad_time, max_elements=10, conditions_supported=True)
    assert (problem.status, problem.reason_code) == ("Rejected", "InvalidValue")
    assert tariff_problem(Tariff("T", "eur"), max_elements=10, conditions_supported=True)
    assert tariff_problem(timed, max_elements=10, conditions_supported=True) is None
