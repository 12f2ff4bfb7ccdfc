"""Bounds of the gateway commands' numeric fields, shared by the API's request models (a 422
naming the field) and the command functions (a failed command with a clear code, for commands
that reach the fleet another way, e.g. queued before these bounds or by the virtual CPO)."""

from __future__ import annotations

import math

from voltlab.fleet.model.catalog import CATALOG, ChargerModel
from voltlab.fleet.model.ev import PROFILES_BY_NAME
from voltlab.fleet.model.station import StationError

# OCPP `integer` fields (listVersion, connectorId, intervals) are 32-bit signed.
INT32_MAX = 2**31 - 1
MAX_DURATION_SECONDS = 7 * 24 * 3600
# The fastest connector in the catalog; each connector's own rating is checked per charger.
MAX_POWER_KW = max(c.max_power_w for m in CATALOG.values() for c in m.connectors) / 1000.0
# The largest station in the catalog (an external limit caps a whole station).
MAX_STATION_POWER_KW = max(m.max_station_power_w for m in CATALOG.values()) / 1000.0
# An energy target above the largest simulated battery can never be reached.
MAX_TARGET_ENERGY_KWH = max(p.battery_wh for p in PROFILES_BY_NAME.values()) / 1000.0


def connector_rating_kw(model: ChargerModel, connector_id: int) -> float | None:
    if not 1 <= connector_id <= len(model.connectors):
        return None
    return model.connectors[connector_id - 1].max_power_w / 1000.0


def bounded_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StationError(f"invalid_{name}", f"{name} must be an integer from {low} to {high}")
    return value


def bounded_number(value: object, name: str, high: float) -> float:
    """A finite number above 0 and at most `high`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StationError(f"invalid_{name}", f"{name} must be a number")
    number = float(value)
    if not (math.isfinite(number) and 0 < number <= high):
        raise StationError(f"invalid_{name}", f"{name} must be above 0 and at most {high:g}")
    return number
