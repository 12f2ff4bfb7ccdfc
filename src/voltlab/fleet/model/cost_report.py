"""What a cost report says (CostDetailsType, in no version's words), and the arithmetic of
its amounts: taxes (stack 0 on the net price, stack n on top of stack n - 1, rates of one stack
added), rounding half up, and minCost / maxCost replacing a total below / above them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from voltlab.fleet.model.tariffs import PriceLimit, Tariff, TaxRate


def exact(value: float) -> Decimal:
    """A float as the decimal it prints as (1.1 -> Decimal("1.1"))."""
    return Decimal(repr(value))


def with_taxes(net: Decimal, rates: Iterable[TaxRate]) -> Decimal:
    """`net` with its taxes: stack 0 on the net price, stack n on top of stack n - 1; the
    rates of one stack are added."""
    rates = tuple(rates)
    amount = net
    for stack in sorted({rate.stack for rate in rates}):
        percent = sum((exact(r.tax) for r in rates if r.stack == stack), Decimal(0))
        amount += amount * percent / 100
    return amount


def rounded(amount: Decimal, decimals: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


# -- what the cost report says (CostDetailsType, in no version's words) ------------------------


@dataclass(frozen=True, slots=True)
class ComponentCost:
    excl_tax: float
    incl_tax: float
    tax_rates: tuple[TaxRate, ...]


@dataclass(frozen=True, slots=True)
class CostTotals:
    currency: str
    type_of_cost: str  # NormalCost | MinCost | MaxCost
    components: tuple[tuple[str, ComponentCost], ...]  # (COMPONENTS name, cost)
    excl_tax: float | None
    incl_tax: float | None


@dataclass(frozen=True, slots=True)
class PeriodReport:
    """One ChargingPeriodType: a stretch over which the same price elements applied."""

    start: float
    tariff_id: str
    energy_wh: float
    charging_s: float
    idle_s: float
    min_power_w: float | None
    max_power_w: float | None
    min_current_a: float | None
    max_current_a: float | None


@dataclass(frozen=True, slots=True)
class CostDetails:
    periods: tuple[PeriodReport, ...]
    totals: CostTotals
    energy_wh: float
    charging_s: int
    idle_s: int


def limited(
    totals: CostTotals, tariff: Tariff, excl: Decimal, incl: Decimal, decimals: int
) -> CostTotals:
    """minCost / maxCost: the limit replaces a total below / above it."""
    for limit, kind, sign in ((tariff.min_cost, "MinCost", -1), (tariff.max_cost, "MaxCost", 1)):
        if limit is None:
            continue
        if limit.excl_tax is not None:
            difference = excl - exact(limit.excl_tax)
        elif limit.incl_tax is not None:
            difference = incl - exact(limit.incl_tax)
        else:
            continue
        crossed = difference * sign > 0  # below minCost, above maxCost
        if crossed:
            limit_excl, limit_incl = limit_amounts(limit, decimals)
            return replace(totals, type_of_cost=kind, excl_tax=limit_excl, incl_tax=limit_incl)
    return totals


def limit_amounts(limit: PriceLimit, decimals: int) -> tuple[float | None, float | None]:
    excl = None if limit.excl_tax is None else exact(limit.excl_tax)
    incl = None if limit.incl_tax is None else exact(limit.incl_tax)
    if incl is None and excl is not None and limit.tax_rates:
        incl = with_taxes(excl, limit.tax_rates)
    return (
        None if excl is None else float(rounded(excl, decimals)),
        None if incl is None else float(rounded(incl, decimals)),
    )
