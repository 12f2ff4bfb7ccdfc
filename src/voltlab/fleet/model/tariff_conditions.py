"""Tariff conditions (TariffConditionsType, TariffConditionsFixedType) evaluated against a
transaction at one instant: which price element of a component applies. Local time is UTC (the
station keeps no time zone); a condition the station cannot know (a payment brand or
recognition: it takes no ad-hoc payments) does not hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from voltlab.fleet.model.tariffs import DAYS, Conditions, PriceComponent, minutes_of


@dataclass(frozen=True, slots=True)
class Reading:
    power_w: float
    current_a: float
    charging: bool


@dataclass(frozen=True, slots=True)
class State:
    """The transaction in the middle of a piece, as a condition sees it."""

    at: float
    energy_wh: float
    elapsed_s: float
    charging_s: float
    idle_s: float
    reading: Reading
    evse_kind: str


def index_of(component: PriceComponent | None, state: State) -> int | None:
    """The price element of `component` that applies in `state` (None: none)."""
    if component is None:
        return None
    return first_index(component, lambda conditions: holds(conditions, state))


def first_index(component: PriceComponent, holds: Callable[[Conditions], bool]) -> int | None:
    """The index of the first price element whose conditions hold (None: none applies)."""
    for index, element in enumerate(component.prices):
        if element.conditions is None or holds(element.conditions):
            return index
    return None


def fixed_holds(conditions: Conditions, at: float, evse_kind: str) -> bool:
    return calendar_holds(conditions, at) and (
        conditions.evse_kind is None or conditions.evse_kind == evse_kind
    )


def calendar_holds(conditions: Conditions, at: float) -> bool:
    moment = datetime.fromtimestamp(at, UTC)
    minute = moment.hour * 60 + moment.minute + moment.second / 60
    start, end = minutes_of(conditions.start_time_of_day), minutes_of(conditions.end_time_of_day)
    if start is not None or end is not None:
        low, high = start or 0, end or 0
        if low < high and not low <= minute < high:
            return False
        if low > high and high <= minute < low:  # wraps past midnight
            return False
    if conditions.day_of_week and DAYS[moment.weekday()] not in conditions.day_of_week:
        return False
    date = moment.strftime("%Y-%m-%d")
    if conditions.valid_from_date is not None and date < conditions.valid_from_date:
        return False
    return conditions.valid_to_date is None or date < conditions.valid_to_date


def holds(conditions: Conditions, state: State) -> bool:
    if not calendar_holds(conditions, state.at):
        return False
    if conditions.evse_kind is not None and conditions.evse_kind != state.evse_kind:
        return False
    if conditions.payment_brand is not None or conditions.payment_recognition is not None:
        return False  # never known: the station takes no ad-hoc payments
    reading = state.reading
    pairs = (
        (conditions.min_energy, conditions.max_energy, state.energy_wh),
        (conditions.min_power, conditions.max_power, reading.power_w),
        (conditions.min_current, conditions.max_current, reading.current_a),
        (conditions.min_time, conditions.max_time, state.elapsed_s),
        (conditions.min_charging_time, conditions.max_charging_time, state.charging_s),
        (conditions.min_idle_time, conditions.max_idle_time, state.idle_s),
    )
    return all(within(value, low, high) for low, high, value in pairs)


def within(value: float, low: float | None, high: float | None) -> bool:
    """minXXX inclusive, maxXXX exclusive; a negative bound (energy flowing back) reads as
    "closest to zero" / "furthest from zero" (TariffConditionsType)."""
    if low is not None and not (value <= low if low < 0 else value >= low):
        return False
    return high is None or (value > high if high < 0 else value < high)
