"""The OCPI 2.2.1 tariff engine. Every expected amount is worked out by hand in a comment;
several cases are the OCPI 2.2.1 specification's own examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from voltlab.cpo.pricing import price_session

MONDAY = datetime(2024, 6, 3, tzinfo=UTC)  # a Monday (summer time in Europe: UTC+2)


def pc(kind: str, price: float, step: int = 1, vat: float | None = None) -> dict[str, Any]:
    component: dict[str, Any] = {"type": kind, "price": price, "step_size": step}
    if vat is not None:
        component["vat"] = vat
    return component


def tariff(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "T1", "currency": "EUR", "elements": list(elements), **extra}


def el(*components: dict[str, Any], **restrictions: Any) -> dict[str, Any]:
    element: dict[str, Any] = {"price_components": list(components)}
    if restrictions:
        element["restrictions"] = restrictions
    return element


def period(start: datetime, **volumes: float) -> dict[str, Any]:
    return {
        "start_date_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dimensions": [{"type": kind, "volume": value} for kind, value in volumes.items()],
    }


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute, second=second)


def test_energy_only() -> None:
    # Spec "0.25 euro per kWh": 20 kWh × 0.25 = 5.00 excl.; × 1.10 = 5.50 incl.
    price = price_session(
        tariff(el(pc("ENERGY", 0.25, 1, vat=10.0))),
        start=at(10),
        end=at(11),
        charging_periods=None,
        energy_kwh=20.0,
    )
    assert (price.excl_vat, price.incl_vat) == (5.00, 5.50)
    assert price.billed_volumes == {"ENERGY": 20.0}
    assert price.currency == "EUR"


def test_energy_step_size_rounds_up_the_total() -> None:
    # 20.45 kWh billed per 100 Wh → 20.5 kWh × 0.25 = 5.125 → 5.13 (half-up);
    # incl. 5.125 × 1.10 = 5.6375 → 5.64.
    price = price_session(
        tariff(el(pc("ENERGY", 0.25, 100, vat=10.0))),
        start=at(10),
        end=at(11),
        charging_periods=None,
        energy_kwh=20.45,
    )
    assert (price.excl_vat, price.incl_vat) == (5.13, 5.64)
    assert price.billed_volumes["ENERGY"] == pytest.approx(20.5)


def test_time_plus_flat() -> None:
    # 2 h 30 min 20 s of charging, TIME billed per minute → 151 min = 2.516667 h.
    # TIME 2.516667 × 2.00 = 5.033333 (+10 % VAT = 5.536667); FLAT 0.50 (+20 % = 0.60).
    # excl. 5.033333 + 0.50 = 5.533333 → 5.53; incl. 5.536667 + 0.60 = 6.136667 → 6.14.
    t = tariff(el(pc("FLAT", 0.50, 1, vat=20.0)), el(pc("TIME", 2.00, 60, vat=10.0)))
    price = price_session(
        t, start=at(9), end=at(11, 30, 20), charging_periods=None, energy_kwh=18.0
    )
    assert (price.excl_vat, price.incl_vat) == (5.53, 6.14)
    assert price.billed_volumes["TIME"] == pytest.approx(151 / 60, abs=1e-6)
    assert price.billed_volumes["FLAT"] == 1.0


def test_flat_is_billed_once_however_many_periods() -> None:
    # Three charging periods, FLAT 1.00 once + 3 × 2 kWh × 0.30 = 1.00 + 1.80 = 2.80.
    t = tariff(el(pc("FLAT", 1.00)), el(pc("ENERGY", 0.30)))
    periods = [
        period(at(10, 0), ENERGY=2.0, TIME=0.25),
        period(at(10, 15), ENERGY=2.0, TIME=0.25),
        period(at(10, 30), ENERGY=2.0, TIME=0.25),
    ]
    price = price_session(t, start=at(10), end=at(10, 45), charging_periods=periods, energy_kwh=6.0)
    assert price.excl_vat == 2.80
    assert [c.dimension for c in price.components].count("FLAT") == 1


def test_parking_after_the_session() -> None:
    # Spec "3 euro per hour, 5 euro per hour parking": 150 min charging + 42 min parking.
    # TIME: 2.5 h × 3.00 = 7.50 (not step-rounded: parking follows).
    # PARKING_TIME: 42 min → 45 min (step 300 s) = 0.75 h × 5.00 = 3.75.
    # excl. 7.50 + 3.75 = 11.25; incl. 7.50 × 1.1 + 3.75 × 1.2 = 8.25 + 4.50 = 12.75.
    t = tariff(el(pc("TIME", 3.00, 60, vat=10.0)), el(pc("PARKING_TIME", 5.00, 300, vat=20.0)))
    periods = [period(at(12), ENERGY=25.0, TIME=2.5), period(at(14, 30), PARKING_TIME=0.7)]
    price = price_session(
        t, start=at(12), end=at(15, 12), charging_periods=periods, energy_kwh=25.0
    )
    assert (price.excl_vat, price.incl_vat) == (11.25, 12.75)
    assert price.billed_volumes == {"TIME": 2.5, "PARKING_TIME": 0.75}
    kinds = [[d["type"] for d in p["dimensions"]] for p in price.charging_periods]
    assert kinds == [["ENERGY", "TIME", "MAX_POWER"], ["PARKING_TIME"]]


def test_charging_time_is_not_rounded_when_parking_follows() -> None:
    # Same tariff; 150.5 min charging then 42 min parking.
    # TIME 150.5 min = 2.508333 h × 3.00 = 7.525 (no rounding to 151 min);
    # PARKING 45 min × 5.00/h = 3.75; excl. 7.525 + 3.75 = 11.275 → 11.28.
    t = tariff(el(pc("TIME", 3.00, 60)), el(pc("PARKING_TIME", 5.00, 300)))
    periods = [
        period(at(12), ENERGY=25.0, TIME=150.5 / 60),
        period(at(14, 30, 30), PARKING_TIME=0.7),
    ]
    price = price_session(
        t, start=at(12), end=at(15, 12, 30), charging_periods=periods, energy_kwh=25.0
    )
    assert price.excl_vat == 11.28


def test_energy_rate_switches_at_18_00_local_time() -> None:
    # Day rate 0.30/kWh 07:00-18:00 local, else 0.20. Paris is UTC+2 on 3 June 2024.
    # Session 17:00-19:00 local (15:00Z-17:00Z) at a steady 11 kW, 22 kWh:
    # 11 kWh before 18:00 × 0.30 = 3.30; 11 kWh after × 0.20 = 2.20 → 5.50.
    t = tariff(el(pc("ENERGY", 0.30), start_time="07:00", end_time="18:00"), el(pc("ENERGY", 0.20)))
    price = price_session(
        t,
        start=at(15),
        end=at(17),
        charging_periods=None,
        energy_kwh=22.0,
        time_zone="Europe/Paris",
    )
    assert price.excl_vat == 5.50
    assert [p["start_date_time"] for p in price.charging_periods] == [
        "2024-06-03T15:00:00Z",
        "2024-06-03T16:00:00Z",
    ]
    assert [c.price for c in price.components] == [0.30, 0.20]
    # Without the zone the same UTC instants read as 15:00-17:00: all day rate, 22 × 0.30.
    utc = price_session(t, start=at(15), end=at(17), charging_periods=None, energy_kwh=22.0)
    assert utc.excl_vat == 6.60


def test_spec_step_size_example_switching_time_elements() -> None:
    # Spec tariff_14 "switching to different Tariff Element #2": charging 16:35-17:10.
    # 25 min before 17:00 at 1.20/h = 0.50; total 35 min rounded to the last step (15 min)
    # = 45 min, so 45 - 25 = 20 min after 17:00 at 2.40/h = 0.80. Total 1.30.
    t = tariff(
        el(pc("TIME", 1.20, 1800), end_time="17:00"),
        el(pc("TIME", 2.40, 900), start_time="17:00"),
        el(pc("PARKING_TIME", 1.00, 900), end_time="20:00"),
    )
    price = price_session(
        t, start=at(16, 35), end=at(17, 10), charging_periods=None, energy_kwh=5.0
    )
    assert price.excl_vat == 1.30
    assert [round(c.volume * 60) for c in price.components] == [25, 20]


def test_spec_energy_step_applies_to_the_session_total() -> None:
    # Spec CDR example: 0.20/kWh before 17:00, 0.27 after, both per 500 Wh.
    # 4.3 kWh before + 1.1 kWh after = 5.4 → 5.5 kWh, so 1.2 kWh billed after 17:00.
    # 4.3 × 0.20 = 0.86; 1.2 × 0.27 = 0.324 → 1.184 → 1.18.
    t = tariff(
        el(pc("ENERGY", 0.20, 500), end_time="17:00"),
        el(pc("ENERGY", 0.27, 500), start_time="17:00"),
    )
    periods = [period(at(16, 0), ENERGY=4.3, TIME=1.0), period(at(17, 0), ENERGY=1.1, TIME=0.25)]
    price = price_session(t, start=at(16), end=at(17, 15), charging_periods=periods, energy_kwh=5.4)
    assert price.excl_vat == 1.18
    assert [c.volume for c in price.components] == [pytest.approx(4.3), pytest.approx(1.2)]


def test_spec_time_step_applies_to_the_session_total() -> None:
    # Spec CDR example: 5 €/h before 17:00, 7 €/h after, both per 10 min.
    # 6 min before + 22 min after = 28 → 30 min: 6 min × 5/60 = 0.50; 24 min × 7/60 = 2.80.
    t = tariff(
        el(pc("TIME", 5.00, 600), end_time="17:00"), el(pc("TIME", 7.00, 600), start_time="17:00")
    )
    price = price_session(
        t, start=at(16, 54), end=at(17, 22), charging_periods=None, energy_kwh=3.0
    )
    assert price.excl_vat == 3.30


def test_night_window_wraps_past_midnight() -> None:
    # Night rate 22:00-06:00 (UTC here), 0.29 vs 0.39. Session 21:00-23:00 at 10 kW:
    # 10 kWh × 0.39 = 3.90 + 10 kWh × 0.29 = 2.90 → 6.80.
    t = tariff(el(pc("ENERGY", 0.29), start_time="22:00", end_time="06:00"), el(pc("ENERGY", 0.39)))
    price = price_session(t, start=at(21), end=at(23), charging_periods=None, energy_kwh=20.0)
    assert price.excl_vat == 6.80


def test_day_of_week_restriction() -> None:
    # Weekday rate 0.42, weekend fallback 0.32. 10 kWh on Monday = 4.20, on Saturday = 3.20.
    t = tariff(
        el(
            pc("ENERGY", 0.42), day_of_week=["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
        ),
        el(pc("ENERGY", 0.32)),
    )
    monday = price_session(t, start=at(10), end=at(11), charging_periods=None, energy_kwh=10)
    saturday = MONDAY + timedelta(days=5, hours=10)
    weekend = price_session(
        t, start=saturday, end=saturday + timedelta(hours=1), charging_periods=None, energy_kwh=10
    )
    assert (monday.excl_vat, weekend.excl_vat) == (4.20, 3.20)


def test_energy_tiers_with_min_and_max_kwh() -> None:
    # 0.52 for the first 30 kWh, 0.44 from 30 kWh: 40 kWh → 30 × 0.52 + 10 × 0.44
    # = 15.60 + 4.40 = 20.00.
    t = tariff(el(pc("ENERGY", 0.52), max_kwh=30.0), el(pc("ENERGY", 0.44), min_kwh=30.0))
    price = price_session(t, start=at(10), end=at(11), charging_periods=None, energy_kwh=40.0)
    assert price.excl_vat == 20.00


def test_max_power_restriction_follows_period_power() -> None:
    # Spec max_power example: 1 kWh at 6 kW (0.20), 40 kWh at 48 kW (0.50),
    # 0.5 kWh at 4 kW (0.20): 0.20 + 20.00 + 0.10 = 20.30.
    t = tariff(
        el(pc("ENERGY", 0.20), max_power=16.0),
        el(pc("ENERGY", 0.35), max_power=32.0),
        el(pc("ENERGY", 0.50)),
    )
    periods = [
        period(at(10, 0), ENERGY=1.0, MAX_POWER=6.0, TIME=10 / 60),
        period(at(10, 10), ENERGY=40.0, MAX_POWER=48.0, TIME=50 / 60),
        period(at(11, 0), ENERGY=0.5, MAX_POWER=4.0, TIME=7.5 / 60),
    ]
    price = price_session(
        t, start=at(10), end=at(11, 7, 30), charging_periods=periods, energy_kwh=41.5
    )
    assert price.excl_vat == 20.30


def test_blocking_fee_after_min_duration() -> None:
    # Highway style: ENERGY 0.59, TIME 12.00/h only after 45 min (min_duration 2700 s).
    # 60 min at 120 kW max, 40 kWh: energy 40 × 0.59 = 23.60; TIME 15 min = 0.25 h × 12 = 3.00.
    t = tariff(
        el(pc("ENERGY", 0.45), max_power=50.0),
        el(pc("ENERGY", 0.59)),
        el(pc("TIME", 12.00, 60), min_duration=2700),
    )
    price = price_session(
        t, start=at(10), end=at(11), charging_periods=None, energy_kwh=40.0, max_power_kw=120.0
    )
    assert price.excl_vat == 26.60
    # The same session capped at 45 kW pays the slow rate: 40 × 0.45 + 3.00 = 21.00.
    slow = price_session(
        t, start=at(10), end=at(11), charging_periods=None, energy_kwh=40.0, max_power_kw=45.0
    )
    assert slow.excl_vat == 21.00


def test_free_first_half_hour_with_max_duration() -> None:
    # Spec max_duration example: free for 30 min, 0.25 until 60 min, 0.40 after.
    # 5 kWh in the first 30 min free; 1.2 kWh in the next 10 min × 0.25 = 0.30.
    t = tariff(
        el(pc("ENERGY", 0.00), max_duration=1800),
        el(pc("ENERGY", 0.25), max_duration=3600),
        el(pc("ENERGY", 0.40)),
    )
    periods = [period(at(10, 0), ENERGY=5.0, TIME=0.5), period(at(10, 30), ENERGY=1.2, TIME=1 / 6)]
    price = price_session(t, start=at(10), end=at(10, 40), charging_periods=periods, energy_kwh=6.2)
    assert price.excl_vat == 0.30


def test_min_and_max_price_clamp() -> None:
    # 1 kWh × 0.25 = 0.25 < min 0.50 → 0.50 excl. and 0.55 incl. (min_price incl_vat).
    t = tariff(el(pc("ENERGY", 0.25, 1, vat=10.0)), min_price={"excl_vat": 0.50, "incl_vat": 0.55})
    low = price_session(t, start=at(10), end=at(10, 10), charging_periods=None, energy_kwh=1.0)
    assert (low.excl_vat, low.incl_vat) == (0.50, 0.55)
    # Spec: FLAT 0.50 (20 %) + 0.25/kWh (10 %), max 10.00 / 11.00. 50 kWh → 13.00 → 10.00.
    capped = tariff(
        el(pc("FLAT", 0.50, 1, vat=20.0)),
        el(pc("ENERGY", 0.25, 1, vat=10.0)),
        max_price={"excl_vat": 10.00, "incl_vat": 11.00},
    )
    high = price_session(capped, start=at(10), end=at(12), charging_periods=None, energy_kwh=50.0)
    assert (high.excl_vat, high.incl_vat) == (10.00, 11.00)
    # 30 kWh stays under the cap: 0.50 + 7.50 = 8.00; incl. 0.60 + 8.25 = 8.85.
    under = price_session(capped, start=at(10), end=at(12), charging_periods=None, energy_kwh=30.0)
    assert (under.excl_vat, under.incl_vat) == (8.00, 8.85)


def test_no_matching_element_means_free_and_zero_length_pays_flat() -> None:
    # Parking only priced 08:00-20:00; parking 21:00-22:00 is free. Energy 10 × 0.30 = 3.00.
    t = tariff(
        el(pc("FLAT", 0.35)),
        el(pc("ENERGY", 0.30)),
        el(pc("PARKING_TIME", 6.00, 300), start_time="08:00", end_time="20:00"),
    )
    periods = [period(at(20), ENERGY=10.0, TIME=1.0), period(at(21), PARKING_TIME=1.0)]
    price = price_session(t, start=at(20), end=at(22), charging_periods=periods, energy_kwh=10.0)
    assert price.excl_vat == 3.35
    assert "PARKING_TIME" not in price.billed_volumes
    empty = price_session(t, start=at(10), end=at(10), charging_periods=[], energy_kwh=0.0)
    assert (empty.excl_vat, empty.incl_vat) == (0.35, 0.35)  # no vat field: incl = excl


def test_rounded_meter_periods_do_not_invent_parking() -> None:
    # Periods as the CSMS builds them: TIME rounded to 4 decimals (0.0167 h for 60 s).
    # The 0.12 s difference must not become PARKING_TIME billed a whole 300 s step.
    # Energy 10 periods × 0.2 kWh × 0.39 = 0.78.
    t = tariff(el(pc("ENERGY", 0.39)), el(pc("PARKING_TIME", 6.00, 300)))
    periods = [
        period(at(10, minute), ENERGY=0.2, TIME=0.0167, MAX_POWER=11.0) for minute in range(10)
    ]
    price = price_session(t, start=at(10), end=at(10, 10), charging_periods=periods, energy_kwh=2.0)
    assert price.excl_vat == 0.78
    assert "PARKING_TIME" not in price.billed_volumes


def test_reservation_elements_never_price_a_session() -> None:
    # Reservation TIME 5.00/h must not apply; charging TIME 2.00/h for 1 h = 2.00.
    t = tariff(el(pc("TIME", 5.00, 60), reservation="RESERVATION"), el(pc("TIME", 2.00, 60)))
    price = price_session(t, start=at(10), end=at(11), charging_periods=None, energy_kwh=7.0)
    assert price.excl_vat == 2.00


def test_dst_day_uses_real_elapsed_time_and_local_clock() -> None:
    # 31 March 2024: Paris jumps from 02:00 CET to 03:00 CEST (01:00Z). Session 22:30Z-01:30Z
    # is 00:30 CET - 03:30 CEST local, 2 real hours. TIME 2.00/h from 03:00 local, else 1.00.
    # 22:30Z-01:00Z = 1.5 h × 1.00 = 1.50 (local 00:30-02:00 CET);
    # 01:00Z-01:30Z = 0.5 h × 2.00 = 1.00 (local 03:00-03:30 CEST). Total 2.50.
    t = tariff(el(pc("TIME", 2.00, 60), start_time="03:00"), el(pc("TIME", 1.00, 60)))
    start = datetime(2024, 3, 30, 22, 30, tzinfo=UTC)
    price = price_session(
        t,
        start=start,
        end=start + timedelta(hours=2),
        charging_periods=None,
        energy_kwh=5.0,
        time_zone="Europe/Paris",
    )
    assert price.excl_vat == 2.50
    assert price.billed_volumes["TIME"] == pytest.approx(2.0)
