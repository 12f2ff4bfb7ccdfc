"""api/bounds.py's literals stand for data of the fleet and the CPO service (they are literals so
the request models import neither): each must equal what it stands for."""

from __future__ import annotations

from typing import get_args

from voltlab.api import bounds
from voltlab.fleet.hosting import command_limits
from voltlab.fleet.model.catalog import CATALOG, DEFAULT_MODEL
from voltlab.fleet.model.ev import PROFILES_BY_NAME
from voltlab.fleet.model.external_limits import SOURCES


def test_bounds_are_the_fleets() -> None:
    assert bounds.INT32_MAX == command_limits.INT32_MAX
    assert bounds.MAX_DURATION_SECONDS == command_limits.MAX_DURATION_SECONDS
    assert bounds.MAX_POWER_KW == command_limits.MAX_POWER_KW
    assert bounds.MAX_TARGET_ENERGY_KWH == command_limits.MAX_TARGET_ENERGY_KWH
    assert bounds.DEFAULT_MODEL == DEFAULT_MODEL
    assert bounds.DEFAULT_MODEL in CATALOG
    assert bounds.MAX_STATION_POWER_KW == command_limits.MAX_STATION_POWER_KW
    assert get_args(bounds.EvProfileName) == tuple(PROFILES_BY_NAME)
    assert get_args(bounds.LimitSource) == tuple(SOURCES)
