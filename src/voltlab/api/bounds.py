"""The Gateway API's published bounds and defaults, as literals.

The request models (schemas.py, command_events.py, cpo_schemas.py) are shared with
`voltlab.client`, which must import without the fleet, the store or the web framework; so the
numbers the models publish in /openapi.json live here rather than being derived from the fleet's
catalog at import. tests/api/test_wire_bounds.py checks each one against what it stands for
(the catalog's fastest connector, the largest simulated battery, the EV profiles, ...)."""

from __future__ import annotations

from typing import Literal

# OCPP `integer` fields (listVersion, connectorId, intervals) are 32-bit signed.
INT32_MAX = 2**31 - 1
MAX_DURATION_SECONDS = 7 * 24 * 3600
# The fastest connector in the catalog (fleet/model/catalog.py); each connector's own rating is
# checked per charger when a command is queued.
MAX_POWER_KW = 150.0
# The most powerful station of the catalog (its max_station_power_w): a charging limit's bound.
MAX_STATION_POWER_KW = 300.0
# The largest simulated battery (fleet/model/ev.py): an energy target above it is never reached.
MAX_TARGET_ENERGY_KWH = 95.0
# The EV profiles of fleet/model/ev.py, by name.
EvProfileName = Literal[
    "compact-city",
    "family-hatch",
    "long-range-sedan",
    "premium-suv",
    "zoe-like",
    "iso15118-sedan",
    "iso15118-800v-suv",
    "v2x-dc-crossover",
    "v2x-ac-hatch",
]
# Who set an external charging limit (fleet/model/external_limits.py SOURCES; OCPP
# ChargingLimitSourceEnumType).
LimitSource = Literal["EMS", "Other", "SO"]
# The catalog's default charger model (fleet/model/catalog.py DEFAULT_MODEL).
DEFAULT_MODEL = "ac-22kw-2c"
