"""A station's configuration as the Gateway API shows it (`GET /ocpp/chargers/{id}/configuration`):
OCPP 1.6 keys as GetConfiguration reports them, or the 2.x device model as a FullInventory
report has it. Read from the running station when this process hosts it, else from the
station's stored snapshot (the same settings a restart would bring back).

Both read the station's one set of settings (`StationConfig`), through the same code the CSMS's
GetConfiguration / GetBaseReport go through, so the page cannot show a value the CSMS would not
be told. Write-only entries (AuthorizationKey, BasicAuthPassword...) carry no value, as on the
wire."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

from voltlab.fleet.model.catalog import get_model
from voltlab.fleet.model.device_model import FULL_INVENTORY, DeviceModel
from voltlab.fleet.model.station import Station
from voltlab.fleet.model.station_state import restore_station

# "live": the station this process hosts (connected or not); "stored": its snapshot in the store.
Source = Literal["live", "stored"]


class ConfigurationKey(TypedDict):
    """One 1.6 key (GetConfiguration's KeyValue); no `value` for a write-only key."""

    key: str
    readonly: bool
    value: NotRequired[str]


class DeviceModelVariable(TypedDict):
    """One variable of one component instance with its Actual attribute (ReportDataType)."""

    component: str
    evse_id: int | None
    connector_id: int | None
    variable: str
    instance: str | None
    attribute_type: str
    mutability: str
    value: NotRequired[str]


class ChargerConfiguration(TypedDict):
    ocpp_version: str
    source: Source
    keys: NotRequired[list[ConfigurationKey]]  # OCPP 1.6
    variables: NotRequired[list[DeviceModelVariable]]  # OCPP 2.0.1 / 2.1


def configuration_of(
    station: Station, ocpp_version: str, now: float, source: Source
) -> ChargerConfiguration:
    if ocpp_version == "ocpp1.6":
        entries, _ = station.config.entries()
        keys: list[ConfigurationKey] = []
        for entry in entries:
            key: ConfigurationKey = {"key": entry.key, "readonly": entry.readonly}
            if entry.value is not None:
                key["value"] = entry.value
            keys.append(key)
        return {"ocpp_version": ocpp_version, "source": source, "keys": keys}
    variables: list[DeviceModelVariable] = []
    for item in DeviceModel(station).report(FULL_INVENTORY, now=now):
        variable: DeviceModelVariable = {
            "component": item.component.name,
            "evse_id": item.component.evse_id,
            "connector_id": item.component.connector_id,
            "variable": item.variable.name,
            "instance": item.variable.instance,
            "attribute_type": "Actual",  # the only attribute the virtual stations keep
            "mutability": item.mutability,
        }
        if item.value is not None:
            variable["value"] = item.value
        variables.append(variable)
    return {"ocpp_version": ocpp_version, "source": source, "variables": variables}


def stored_configuration(
    charger_id: str,
    identity: str,
    model_slug: str,
    ocpp_version: str,
    state: Mapping[str, Any] | None,
    now: float,
) -> ChargerConfiguration | None:
    """The configuration a station of this row would come back with (its snapshot restored as
    `StationRunner` restores it); None for a model the catalog does not know."""
    model = get_model(model_slug)
    if model is None:
        return None
    snapshot = (state or {}).get("station")
    config = snapshot.get("config") if isinstance(snapshot, Mapping) else None
    station = Station(identity, model, config=config, seed=zlib.crc32(charger_id.encode()))
    if isinstance(snapshot, Mapping):
        restore_station(station, snapshot)
    return configuration_of(station, ocpp_version, now, "stored")
