"""OCPP 2.1 CostDetailsType: the cost a station calculated locally, as its TransactionEvents
carry it (`costDetails`). Volumes: energy in Wh, times in seconds, power in W, current in A.
Note the dimension `IdleTIme`: the OCA schema spells it so."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from voltlab.fleet.model.cost_report import ComponentCost, CostDetails, PeriodReport
from voltlab.fleet.model.tariffs import TaxRate
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

# The model's component names as TotalCostType names them.
COST_FIELDS = {
    "fixed_fee": "fixed",
    "energy": "energy",
    "charging_time": "chargingTime",
    "idle_time": "idleTime",
    "reservation_fixed": "reservationFixed",
    "reservation_time": "reservationTime",
}


class TaxRateType(TypedDict):
    type: str
    tax: float
    stack: NotRequired[int]


class PriceType(TypedDict, total=False):
    exclTax: float
    inclTax: float
    taxRates: list[TaxRateType]


class CostDimensionType(TypedDict):
    type: str
    volume: float


class ChargingPeriodType(TypedDict):
    startPeriod: str
    tariffId: NotRequired[str]
    dimensions: NotRequired[list[CostDimensionType]]


class TotalPriceType(TypedDict, total=False):
    exclTax: float
    inclTax: float


class TotalCostType(TypedDict):
    currency: str
    typeOfCost: str
    total: TotalPriceType
    fixed: NotRequired[PriceType]
    energy: NotRequired[PriceType]
    chargingTime: NotRequired[PriceType]
    idleTime: NotRequired[PriceType]
    reservationTime: NotRequired[PriceType]
    reservationFixed: NotRequired[PriceType]


class TotalUsageType(TypedDict):
    energy: float
    chargingTime: int
    idleTime: int


class CostDetailsType(TypedDict):
    chargingPeriods: NotRequired[list[ChargingPeriodType]]
    totalCost: TotalCostType
    totalUsage: TotalUsageType


def encode_tax_rate(rate: TaxRate) -> TaxRateType:
    body: TaxRateType = {"type": rate.type, "tax": rate.tax}
    if rate.stack:
        body["stack"] = rate.stack
    return body


def _price(cost: ComponentCost) -> PriceType:
    body: PriceType = {"exclTax": cost.excl_tax, "inclTax": cost.incl_tax}
    if cost.tax_rates:
        body["taxRates"] = [encode_tax_rate(rate) for rate in cost.tax_rates[:5]]
    return body


def _period(period: PeriodReport) -> ChargingPeriodType:
    dimensions: list[CostDimensionType] = [
        {"type": "Energy", "volume": period.energy_wh},
        {"type": "ChargingTime", "volume": period.charging_s},
        {"type": "IdleTIme", "volume": period.idle_s},
    ]
    measured = (
        ("MaxPower", period.max_power_w),
        ("MinPower", period.min_power_w),
        ("MaxCurrent", period.max_current_a),
        ("MinCurrent", period.min_current_a),
    )
    dimensions.extend(
        {"type": kind, "volume": value} for kind, value in measured if value is not None
    )
    return {
        "startPeriod": format_timestamp(period.start),
        "tariffId": period.tariff_id,
        "dimensions": dimensions,
    }


def encode_cost_details(details: CostDetails) -> CostDetailsType:
    totals = details.totals
    total: TotalPriceType = {}
    if totals.excl_tax is not None:
        total["exclTax"] = totals.excl_tax
    if totals.incl_tax is not None:
        total["inclTax"] = totals.incl_tax
    cost: TotalCostType = {
        "currency": totals.currency,
        "typeOfCost": totals.type_of_cost,
        "total": total,
    }
    for name, component in totals.components:
        cost[COST_FIELDS[name]] = _price(component)  # type: ignore[literal-required]
    body: CostDetailsType = {
        "totalCost": cost,
        "totalUsage": {
            "energy": details.energy_wh,
            "chargingTime": details.charging_s,
            "idleTime": details.idle_s,
        },
    }
    if details.periods:
        body["chargingPeriods"] = [_period(period) for period in details.periods]
    return body
