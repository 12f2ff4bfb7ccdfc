"""The `payload` of each SDK command (`ocpplab.types.*Payload`, field for field) and its
translation into the `event` of the voltlab command of the same slug (api/command_events.py).

Pure pydantic. The SDK's fields carry voltlab's bounds, so a value voltlab would refuse is a 422
naming the SDK's field. What the SDK says differently:

- `evse_id`: a voltlab station has one connector per EVSE, numbered like the connectors of a
  1.6 station, so `evse_id` n is voltlab's connector n on every OCPP version; a `connector_id`
  given beside it must then be 1 (the EVSE's only connector), else `PayloadProblem` (a 400).
- an omitted connector is connector 1, and for inject-fault / clear-fault the whole station (0);
- `power_w` (W) is voltlab's `power_kw` (kW); a local list entry is `Accepted`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from voltlab.api.bounds import (
    INT32_MAX,
    MAX_DURATION_SECONDS,
    MAX_POWER_KW,
    MAX_TARGET_ENERGY_KWH,
)
from voltlab.api.command_events import (
    NO_CONTROL_PATTERN,
    ConnectorId,
    IdTag,
    StationOrConnectorId,
)
from voltlab.ocpp.vocabulary.connector_status import FaultType

EvseId = Annotated[int, Field(ge=1, le=INT32_MAX, description="voltlab's connector n")]


class PayloadProblem(ValueError):
    """A payload whose fields are each valid but which voltlab cannot carry out as given."""


class SdkPayload(BaseModel):
    # A misspelt field is a 422, as on voltlab's own routes; NaN cannot be stored as JSON.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EmptyCommandPayload(SdkPayload):
    pass


class ConnectorPayload(SdkPayload):
    evse_id: EvseId | None = None
    connector_id: ConnectorId | None = None


class FaultClearPayload(SdkPayload):
    evse_id: EvseId | None = None
    connector_id: StationOrConnectorId | None = None


class FaultInjectionPayload(FaultClearPayload):
    fault_type: FaultType


class ProxyMessagePayload(SdkPayload):
    action: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")
    payload: dict[str, Any] | None = None


class ConfigurationChangePayload(SdkPayload):
    key: str = Field(min_length=1, max_length=100, pattern=NO_CONTROL_PATTERN)
    value: str = Field(max_length=1000, pattern=NO_CONTROL_PATTERN)


class LocalAuthListEntry(SdkPayload):
    id_tag: IdTag
    expiry_date: AwareDatetime | None = None
    parent_id_tag: IdTag | None = None


class LocalAuthListPayload(SdkPayload):
    list_version: int = Field(ge=0, le=INT32_MAX)
    update_type: Literal["Full", "Differential"]
    entries: list[LocalAuthListEntry] | None = Field(default=None, max_length=10_000)


class StartSessionPayload(SdkPayload):
    id_tag: IdTag
    connector_id: ConnectorId | None = None
    duration_seconds: int | None = Field(default=None, gt=0, le=MAX_DURATION_SECONDS)
    target_energy_kwh: float | None = Field(default=None, gt=0, le=MAX_TARGET_ENERGY_KWH)


class StopSessionPayload(SdkPayload):
    connector_id: ConnectorId | None = None


class AuthorizeIdTagPayload(SdkPayload):
    id_tag: IdTag
    connector_id: ConnectorId | None = None
    evse_id: EvseId | None = None


class PowerUpdatePayload(SdkPayload):
    evse_id: EvseId | None = None
    connector_id: ConnectorId | None = None
    power_w: int = Field(gt=0, le=int(MAX_POWER_KW * 1000))


def _connector(evse_id: int | None, connector_id: int | None, default: int) -> int:
    if evse_id is None:
        return default if connector_id is None else connector_id
    if connector_id not in (None, 1):
        raise PayloadProblem(
            f"a voltlab station has one connector per EVSE: connector_id {connector_id} "
            f"within evse_id {evse_id} does not exist (give connector_id 1 or leave it out)"
        )
    return evse_id


def _connector_event(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, ConnectorPayload)
    return {"connector_id": _connector(payload.evse_id, payload.connector_id, 1)}


def _fault_clear(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, FaultClearPayload)
    return {"connector_id": _connector(payload.evse_id, payload.connector_id, 0)}


def _fault_injection(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, FaultInjectionPayload)
    return _fault_clear(payload) | {"fault_type": payload.fault_type}


def _nothing(payload: SdkPayload) -> dict[str, Any]:
    return {}


def _proxy(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, ProxyMessagePayload)
    return {"action": payload.action, "payload": payload.payload or {}}


def _configuration(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, ConfigurationChangePayload)
    return {"key": payload.key, "value": payload.value}


def _local_list(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, LocalAuthListPayload)
    entries = []
    for entry in payload.entries or []:
        # The SDK's entry has no status: listing a tag authorizes it.
        item: dict[str, Any] = {"id_tag": entry.id_tag, "status": "Accepted"}
        if entry.expiry_date is not None:
            item["expiry_date"] = entry.expiry_date.isoformat()
        if entry.parent_id_tag is not None:
            item["parent_id_tag"] = entry.parent_id_tag
        entries.append(item)
    return {
        "list_version": payload.list_version,
        "update_type": payload.update_type,
        "entries": entries,
    }


def _start_session(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, StartSessionPayload)
    event: dict[str, Any] = {
        "id_tag": payload.id_tag,
        "connector_id": payload.connector_id or 1,
    }
    if payload.duration_seconds is not None:
        event["duration_seconds"] = payload.duration_seconds
    if payload.target_energy_kwh is not None:
        event["target_energy_kwh"] = payload.target_energy_kwh
    return event


def _stop_session(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, StopSessionPayload)
    return {"connector_id": payload.connector_id or 1}


def _authorize(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, AuthorizeIdTagPayload)
    event: dict[str, Any] = {"id_tag": payload.id_tag}
    if payload.evse_id is not None or payload.connector_id is not None:
        event["connector_id"] = _connector(payload.evse_id, payload.connector_id, 1)
    return event


def _power_update(payload: SdkPayload) -> dict[str, Any]:
    assert isinstance(payload, PowerUpdatePayload)
    connector_id = _connector(payload.evse_id, payload.connector_id, 1)
    return {"connector_id": connector_id, "power_kw": payload.power_w / 1000}


@dataclass(frozen=True)
class SdkCommand:
    """One `client.evcharger.commands.*` method: its slug (voltlab's command of the same slug),
    its payload model, whether the SDK makes the payload optional, and the translation."""

    method: str
    slug: str
    payload_model: type[SdkPayload]
    payload_optional: bool
    to_event: Callable[[SdkPayload], dict[str, Any]]


SDK_COMMANDS: tuple[SdkCommand, ...] = (
    SdkCommand("proxy_message", "proxy-message", ProxyMessagePayload, False, _proxy),
    SdkCommand(
        "change_configuration", "configuration", ConfigurationChangePayload, False, _configuration
    ),
    SdkCommand("reset_cache", "cache/reset", EmptyCommandPayload, True, _nothing),
    SdkCommand("send_local_list", "local-auth-list", LocalAuthListPayload, False, _local_list),
    SdkCommand("clear_local_list", "clear-local-auth-list", EmptyCommandPayload, True, _nothing),
    SdkCommand("inject_fault", "inject-fault", FaultInjectionPayload, False, _fault_injection),
    SdkCommand("clear_fault", "clear-fault", FaultClearPayload, True, _fault_clear),
    SdkCommand("plug_connector", "plug-connector", ConnectorPayload, True, _connector_event),
    SdkCommand("unplug_connector", "unplug-connector", ConnectorPayload, True, _connector_event),
    SdkCommand("start_session", "start-session", StartSessionPayload, False, _start_session),
    SdkCommand("stop_session", "stop-session", StopSessionPayload, True, _stop_session),
    SdkCommand("authorize_id_tag", "authorize-id-tag", AuthorizeIdTagPayload, False, _authorize),
    SdkCommand(
        "ev_requests_energy", "ev-requests-energy", ConnectorPayload, True, _connector_event
    ),
    SdkCommand("ev_stops_energy", "ev-stops-energy", ConnectorPayload, True, _connector_event),
    SdkCommand("power_update", "power-update", PowerUpdatePayload, False, _power_update),
)
