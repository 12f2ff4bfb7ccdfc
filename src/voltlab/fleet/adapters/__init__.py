"""OCPP version adapters over the one station model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

if TYPE_CHECKING:
    from voltlab.fleet.adapter import ProtocolAdapter
    from voltlab.fleet.driver.runner import StationRunner


# Versions with an adapter; the API refuses the others with a clear 422.
AVAILABLE_VERSIONS: tuple[str, ...] = (OCPP16, OCPP201, OCPP21)


class UnsupportedVersion(ValueError):
    pass


def adapter_for(version: str, runner: StationRunner) -> ProtocolAdapter:
    if version == OCPP16:
        from voltlab.fleet.adapters.ocpp16 import Ocpp16Adapter

        return Ocpp16Adapter(runner)
    if version == OCPP201:
        from voltlab.fleet.adapters.ocpp201 import Ocpp201Adapter

        return Ocpp201Adapter(runner)
    if version == OCPP21:
        from voltlab.fleet.adapters.ocpp21 import Ocpp21Adapter

        return Ocpp21Adapter(runner)
    raise UnsupportedVersion(f"OCPP version {version!r} is not available yet")
