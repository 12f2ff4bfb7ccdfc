"""The `event` body of each `/ocpp/commands/{slug}` endpoint (docs/api.md's command table) and the
`target` every command shares.

Pure pydantic (shared with `voltlab.client`): the bounds come from api/bounds.py, the
vocabulary from voltlab.ocpp.vocabulary. Bounds are checked here. What depends on the targeted
chargers' OCPP version is checked at submit too, before anything is queued: an id tag longer
than 1.6's IdToken (CiString20) is a 422 (`id_tag_too_long_for`). A stop reason 1.6 does not
know is mapped by the runtime."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from voltlab.api.bounds import (
    INT32_MAX,
    MAX_DURATION_SECONDS,
    MAX_POWER_KW,
    MAX_STATION_POWER_KW,
    MAX_TARGET_ENERGY_KWH,
    EvProfileName,
    LimitSource,
)
from voltlab.api.contract_events import ContractEvent
from voltlab.ocpp.vocabulary.authorization import ID_TAG_MAX_LENGTH_16, AuthorizationStatus16
from voltlab.ocpp.vocabulary.connector_status import FaultType
from voltlab.ocpp.vocabulary.stop_reasons import StopReason  # the runtime maps it per version

# CiString / IdToken text: printable, no control characters (NUL above all).
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f]*$"

ConnectorId = Annotated[int, Field(ge=1, le=INT32_MAX, description="1-based connector number")]
StationOrConnectorId = Annotated[
    int, Field(ge=0, le=INT32_MAX, description="0 = the whole station")
]
# 2.x IdToken allows 36 characters; 1.6 only 20 (CiString20), checked per targeted charger.
IdTag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=36,
        pattern=NO_CONTROL_PATTERN,
        examples=["EV-USER-1234"],
        description="1-36 characters (OCPP 2.x IdToken); at most 20 for an OCPP 1.6 charger "
        "(IdToken, CiString20): a longer one targeting a 1.6 charger answers 422",
    ),
]
PowerKw = Annotated[
    float,
    Field(
        gt=0,
        le=MAX_POWER_KW,
        description=f"kW the EV draws at most; above 0, at most the connector's rating "
        f"({MAX_POWER_KW:g} kW for the fastest model)",
    ),
]
# The CALL frame must fit a CSMS's message limit (1 MiB is a common default).
MAX_PROXY_PAYLOAD_BYTES = 256 * 1024


class EventModel(BaseModel):
    # Unknown fields are a client mistake worth a 422; NaN/Infinity cannot be stored as JSON.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class NoFields(EventModel):
    pass


class ProxyMessageEvent(EventModel):
    action: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")
    payload: dict[str, Any]

    @field_validator("payload")
    @classmethod
    def _plain_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            text = json.dumps(value, allow_nan=False, separators=(",", ":"))
        except ValueError as exc:
            raise ValueError("payload must be plain JSON (no NaN or Infinity)") from exc
        if len(text.encode()) > MAX_PROXY_PAYLOAD_BYTES:
            raise ValueError(f"payload is larger than {MAX_PROXY_PAYLOAD_BYTES} bytes as JSON")
        return value


class ConfigurationEvent(EventModel):
    key: str = Field(
        min_length=1,
        max_length=100,
        pattern=NO_CONTROL_PATTERN,
        description="1.6 key or Component.Variable",
    )
    value: str = Field(max_length=1000, pattern=NO_CONTROL_PATTERN)


class AuthListEntry(EventModel):
    id_tag: IdTag
    status: AuthorizationStatus16
    expiry_date: AwareDatetime | None = None
    parent_id_tag: IdTag | None = None


class LocalAuthListEvent(EventModel):
    list_version: int = Field(ge=0, le=INT32_MAX, description="OCPP integer (int32)")
    update_type: Literal["Full", "Differential"]
    entries: list[AuthListEntry] = Field(max_length=10_000)


class InjectFaultEvent(EventModel):
    connector_id: StationOrConnectorId
    fault_type: FaultType
    vendor_error_code: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=NO_CONTROL_PATTERN
    )
    info: str | None = Field(default=None, max_length=50, pattern=NO_CONTROL_PATTERN)


class ClearFaultEvent(EventModel):
    connector_id: StationOrConnectorId


class ConnectorEvent(EventModel):
    connector_id: ConnectorId


class PlugConnectorEvent(EventModel):
    connector_id: ConnectorId
    ev_profile: EvProfileName | None = Field(
        default=None,
        description="which EV plugs in (random profile when left out); the iso15118-* EVs tell "
        "a 2.x station their charging needs",
    )
    soc_percent: float | None = Field(default=None, ge=0, le=100, description="EV state of charge")
    departure_seconds: int | None = Field(
        default=None,
        gt=0,
        le=MAX_DURATION_SECONDS,
        description="when the driver leaves, seconds after plugging in (an ISO 15118 EV says it)",
    )
    min_soc_percent: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="a V2X EV's reserve: it discharges no lower (at least its profile's V2X "
        "floor); only for the v2x-* EVs",
    )
    contract: ContractEvent | None = Field(
        default=None,
        description="Plug & Charge: the EV (an iso15118-* profile, iso15118-sedan when none is "
        "named) authorizes with this contract, no id tag asked for",
    )


class ChargingLimitEvent(EventModel):
    connector_id: StationOrConnectorId
    limit_kw: float = Field(
        ge=0,
        le=MAX_STATION_POWER_KW,
        description=f"the most the connector (0: the whole station) may draw; 0 to "
        f"{MAX_STATION_POWER_KW:g} kW",
    )
    source: LimitSource = Field(
        default="EMS", description="who set it (OCPP ChargingLimitSourceEnumType)"
    )
    is_grid_critical: bool | None = None


class DischargeEvent(EventModel):
    connector_id: ConnectorId
    power_kw: float = Field(
        ge=0,
        le=MAX_POWER_KW,
        description="kW the V2X EV gives back (an external setpoint); 0 stops the discharge. "
        "OCPP 2.1 only; at most the connector's rating, and the EV's, its reserve and the "
        "CSMS's discharge limits bound it",
    )


class StationOrConnectorEvent(EventModel):
    connector_id: StationOrConnectorId


class StartTransactionEvent(EventModel):
    connector_id: ConnectorId
    id_tag: IdTag


class StopTransactionEvent(EventModel):
    connector_id: ConnectorId
    reason: StopReason | None = None
    id_tag: IdTag | None = None


class StartSessionEvent(EventModel):
    id_tag: IdTag
    connector_id: ConnectorId
    duration_seconds: int | None = Field(
        default=None, gt=0, le=MAX_DURATION_SECONDS, description="auto-stop after (up to 7 days)"
    )
    target_energy_kwh: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TARGET_ENERGY_KWH,
        description=f"auto-stop at; at most {MAX_TARGET_ENERGY_KWH:g} kWh, the largest EV "
        "battery simulated",
    )


class StopSessionEvent(EventModel):
    connector_id: ConnectorId
    reason: StopReason | None = None


class AuthorizeIdTagEvent(EventModel):
    id_tag: IdTag
    connector_id: ConnectorId | None = None


class EvRequestsEnergyEvent(EventModel):
    connector_id: ConnectorId
    power_kw: PowerKw | None = None


class PowerUpdateEvent(EventModel):
    connector_id: ConnectorId
    power_kw: PowerKw | None = None
    soc_percent: float | None = Field(default=None, ge=0, le=100)


class PartitionEvent(EventModel):
    duration_seconds: float = Field(
        gt=0, le=86_400, description="simulated seconds without network (up to a day)"
    )


# The target's either/or rule (the route's `check_target_shape`) as JSON Schema: a null counts
# as absent there, so each form allows the others' fields as null.
_TARGET_FORMS: list[JsonValue] = [
    {
        "title": "One charger",
        "required": ["charger_id"],
        "properties": {
            "charger_id": {"type": "string"},
            "location_id": {"type": "null"},
            "charger_ids": {"type": "null"},
        },
    },
    {
        "title": "A location, or some of its chargers",
        "required": ["location_id"],
        "properties": {"location_id": {"type": "string"}, "charger_id": {"type": "null"}},
    },
]


class CommandTarget(BaseModel):
    """Exactly one of `charger_id` / `location_id`; `charger_ids` narrows a location to a
    subset. Examples: {"charger_id": "dep-123"}, {"location_id": "loc-456"},
    {"location_id": "loc-456", "charger_ids": ["dep-1", "dep-2"]}."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": _TARGET_FORMS,
            "examples": [
                {"charger_id": "dep-123"},
                {"location_id": "loc-456"},
                {"location_id": "loc-456", "charger_ids": ["dep-1", "dep-2"]},
            ],
        },
    )

    charger_id: str | None = Field(default=None, min_length=1, max_length=100)
    location_id: str | None = Field(default=None, min_length=1, max_length=100)
    charger_ids: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, min_length=1, max_length=1000
    )


@dataclass(frozen=True)
class CommandKind:
    slug: str
    event_model: type[EventModel]
    summary: str
    # The OCPP versions whose chargers the command applies to (None: every one); a targeted
    # charger of another version is listed in `failed` (code `not_supported`).
    versions: tuple[str, ...] | None = None

    @property
    def event_type(self) -> str:
        # "cache/reset" -> "cache_reset", "start-session" -> "start_session"
        return self.slug.replace("-", "_").replace("/", "_")

    @property
    def connector_field(self) -> str | None:
        return "connector_id" if "connector_id" in self.event_model.model_fields else None


COMMAND_KINDS: tuple[CommandKind, ...] = (
    CommandKind("proxy-message", ProxyMessageEvent, "Proxy an OCPP CALL to the CSMS"),
    CommandKind("configuration", ConfigurationEvent, "Set a charger configuration key"),
    CommandKind("cache/reset", NoFields, "Reset the authorization cache"),
    CommandKind("local-auth-list", LocalAuthListEvent, "Install a local authorization list"),
    CommandKind("clear-local-auth-list", NoFields, "Clear the local authorization list"),
    CommandKind("inject-fault", InjectFaultEvent, "Inject a fault"),
    CommandKind("clear-fault", ClearFaultEvent, "Clear a fault"),
    CommandKind("plug-connector", PlugConnectorEvent, "Plug a cable into a connector"),
    CommandKind("unplug-connector", ConnectorEvent, "Unplug a connector"),
    CommandKind("unlock-connector", ConnectorEvent, "Unlock a connector"),
    CommandKind("start-transaction", StartTransactionEvent, "Start a transaction"),
    CommandKind("stop-transaction", StopTransactionEvent, "Stop a transaction"),
    CommandKind("start-session", StartSessionEvent, "Start a session"),
    CommandKind("stop-session", StopSessionEvent, "Stop a session"),
    CommandKind("authorize-id-tag", AuthorizeIdTagEvent, "Authorize an id tag"),
    CommandKind("ev-requests-energy", EvRequestsEnergyEvent, "EV requests energy"),
    CommandKind("ev-stops-energy", ConnectorEvent, "EV stops drawing energy"),
    CommandKind("power-update", PowerUpdateEvent, "Change EV power draw / state of charge"),
    CommandKind("partition", PartitionEvent, "Cut the station's network for a while"),
    CommandKind("restart-link", NoFields, "Kill the station's connection and reconnect"),
    CommandKind(
        "set-charging-limit", ChargingLimitEvent, "Limit a connector or the station from outside"
    ),
    CommandKind("clear-charging-limit", StationOrConnectorEvent, "Clear an external limit"),
    CommandKind(
        "discharge",
        DischargeEvent,
        "Discharge a V2X EV (an external setpoint, OCPP 2.1)",
        versions=("ocpp2.1",),
    ),
)


@dataclass(frozen=True)
class IdTagRefusal:
    """A 422 for an id tag some targeted 1.6 charger cannot carry: `loc` names the field."""

    loc: tuple[str | int, ...]
    message: str
    value: str


def _id_tags(payload: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every id tag an event carries, with where it sits in the request body."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(payload.get("id_tag"), str):
        found.append((("body", "event", "id_tag"), payload["id_tag"]))
    for index, entry in enumerate(payload.get("entries") or []):
        for key in ("id_tag", "parent_id_tag"):
            if isinstance(entry, Mapping) and isinstance(entry.get(key), str):
                found.append((("body", "event", "entries", index, key), entry[key]))
    return found


def id_tag_too_long_for(
    payload: Mapping[str, Any], chargers: Iterable[tuple[str, str]]
) -> IdTagRefusal | None:
    """The first id tag of `payload` longer than OCPP 1.6's IdToken (CiString20) when any of
    `chargers` ((identity, ocpp_version) pairs) speaks 1.6; None when every tag fits."""
    tags = [(loc, tag) for loc, tag in _id_tags(payload) if len(tag) > ID_TAG_MAX_LENGTH_16]
    if not tags:
        return None
    ocpp16 = [identity for identity, version in chargers if version == "ocpp1.6"]
    if not ocpp16:
        return None
    loc, tag = tags[0]
    others = f" (and {len(ocpp16) - 1} more 1.6 chargers)" if len(ocpp16) > 1 else ""
    field = ".".join(str(part) for part in loc[1:])
    return IdTagRefusal(
        loc,
        f"{field}: {len(tag)} characters exceeds OCPP 1.6 IdToken (CiString20, at most "
        f"{ID_TAG_MAX_LENGTH_16}) of charger {ocpp16[0]!r}{others}; nothing was queued",
        tag,
    )
