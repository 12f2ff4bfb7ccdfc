"""TariffCostCtrlr, the device model's controller of tariffs and cost (OCPP 2.0.1 appendix 3 and
what 2.1 adds for local cost calculation), and the settings the station reads from it.

Which variables gate what (a 2.1 station; a 2.0.1 station keeps the variables and calculates
nothing locally, its CSMS does):
- Enabled[Tariff]: the station takes tariffs (SetDefaultTariff, ChangeTransactionTariff answer
  Rejected while false) and prices its transactions locally with them: the Started event names
  the tariff (`transactionInfo.tariffId`), the Ended event carries `costDetails`.
- Enabled[Cost]: the running cost is reported, a TransactionEvent Updated (triggerReason
  RunningCost) with `costDetails` every Interval[Cost] seconds of a priced transaction (0:
  never).
- MaxElements[Tariff]: price elements one component of a tariff may have (TooManyElements).
- ConditionsSupported[Tariff]: false refuses tariffs with conditions (ConditionNotSupported).
- Currency: the station's currency (a tariff states its own, which its costs are in).
- NumberOfDecimalsForCostValues: what reported amounts are rounded to (half up)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltlab.fleet.model.device_model_catalog import (
    BOOLEAN,
    INTEGER,
    STRING,
    TRUE,
    VariableSpec,
    fixed,
    held,
    live,
)
from voltlab.fleet.model.device_model_values import DeviceModelError, check_value

if TYPE_CHECKING:
    from voltlab.fleet.model.station import Station

TARIFF_COST = "TariffCostCtrlr"
MAX_ELEMENTS = 10  # price elements per component of a tariff

ENABLED_TARIFF = held(TARIFF_COST, "Enabled", BOOLEAN, TRUE, instance="Tariff")
ENABLED_COST = held(TARIFF_COST, "Enabled", BOOLEAN, TRUE, instance="Cost")
COST_INTERVAL = held(TARIFF_COST, "Interval", INTEGER, "60", instance="Cost", unit="s", min_limit=0)
CONDITIONS_SUPPORTED = held(TARIFF_COST, "ConditionsSupported", BOOLEAN, TRUE, instance="Tariff")
DECIMALS = held(
    TARIFF_COST, "NumberOfDecimalsForCostValues", INTEGER, "2", min_limit=0, max_limit=6
)

TARIFF_COST_VARIABLES: tuple[VariableSpec, ...] = (
    live(TARIFF_COST, "Available", BOOLEAN, fixed(TRUE), instance="Tariff", constant=True),
    live(TARIFF_COST, "Available", BOOLEAN, fixed(TRUE), instance="Cost", constant=True),
    ENABLED_TARIFF,
    ENABLED_COST,
    held(TARIFF_COST, "Currency", STRING, "EUR", max_limit=3),
    held(TARIFF_COST, "TariffFallbackMessage", STRING, "", max_limit=255),
    held(TARIFF_COST, "TotalCostFallbackMessage", STRING, "", max_limit=255),
    COST_INTERVAL,
    live(
        TARIFF_COST,
        "MaxElements",
        INTEGER,
        fixed(str(MAX_ELEMENTS)),
        instance="Tariff",
        constant=True,
    ),
    CONDITIONS_SUPPORTED,
    DECIMALS,
)


def setting(station: Station, spec: VariableSpec) -> str:
    """A held variable's value as the device model reads it (a value stored unchecked by a
    1.6-style configuration change that the variable could not hold reads as its default)."""
    stored = station.config.get(spec.held_key)
    default = spec.held_default or ""
    if stored is None:
        return default
    try:
        return check_value(spec, stored)
    except DeviceModelError:
        return default


def enabled(station: Station, spec: VariableSpec) -> bool:
    return setting(station, spec) == TRUE


def number(station: Station, spec: VariableSpec) -> int:
    return int(setting(station, spec))


def evse_kind(station: Station, evse_id: int) -> str:
    """AC or DC, as a tariff's `evseKind` condition names an EVSE."""
    return "DC" if station.connectors[evse_id].dc else "AC"
