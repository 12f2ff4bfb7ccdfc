"""The authorization cache: ClearCache from the CSMS and the gateway's cache reset."""

from __future__ import annotations

from voltlab.fleet.machine.effects import Answer, Effect, Persist
from voltlab.fleet.machine.messages import ClearCache, ClearCacheAnswer
from voltlab.fleet.model.station import Station


def clear_cache(
    station: Station, request: ClearCache, *, needs_enabled_cache: bool
) -> list[Effect]:
    # 2.x rejects ClearCache while AuthCacheCtrlr.Enabled is false; 1.6 always clears.
    if needs_enabled_cache and not station.config.get_bool("AuthorizationCacheEnabled"):
        return [Answer(ClearCacheAnswer("Rejected", 0))]
    cleared = len(station.auth_cache.entries)
    station.auth_cache.clear()
    return [Persist(), Answer(ClearCacheAnswer("Accepted", cleared))]
