"""Request bodies for locations and chargers. Field rules live here so a bad body is a 422 whose
`loc` names the offending field."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from voltlab.fleet.adapters import AVAILABLE_VERSIONS
from voltlab.fleet.catalog import CATALOG, DEFAULT_MODEL


def _available_version(version: str) -> str:
    if version not in AVAILABLE_VERSIONS:
        raise ValueError(
            f"{version} stations are not available in this build yet; "
            f"available: {', '.join(AVAILABLE_VERSIONS)}"
        )
    return version


OcppVersion = Annotated[
    Literal["ocpp1.6", "ocpp2.0.1", "ocpp2.1"], AfterValidator(_available_version)
]
DEFAULT_OCPP_VERSION: OcppVersion = "ocpp1.6"
MAX_CHARGERS_PER_LOCATION = 1000
# Charging station identities travel in the WebSocket URL and, for security profiles 1 and 2,
# as the Basic-auth user name: OCPP 2.0.1 allows at most 48 URL-unreserved characters (no ':').
IDENTITY_PATTERN = r"^[A-Za-z0-9._~\-]{1,48}$"
# Leaves room for the index suffix ("001" .. "1000").
IDENTITY_PREFIX_PATTERN = r"^[A-Za-z0-9._~\-]{0,44}$"
# Printable text only: control characters (NUL above all) have no place in names.
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f]*$"

Identity = Annotated[str, Field(pattern=IDENTITY_PATTERN, examples=["CP-DEPOT-001"])]
PlainName = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE_PATTERN)]


class StrictModel(BaseModel):
    # A misspelt optional field must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class SecurityIn(StrictModel):
    """OCPP security profile: 0 none, 1 Basic auth over ws, 2 Basic auth over TLS, 3 TLS
    client certificate."""

    profile: int = Field(ge=0, le=3)
    # validate_default: the rule below must also run when the password is omitted.
    password: str | None = Field(default=None, min_length=1, max_length=64, validate_default=True)
    ca_pem: str | None = Field(
        default=None, max_length=65_536, description="PEM CA(s) the CSMS certificate must chain to"
    )
    client_cert_pem: str | None = Field(
        default=None, max_length=65_536, description="profile 3: the station's certificate (chain)"
    )
    client_key_pem: str | None = Field(
        default=None,
        max_length=65_536,
        validate_default=True,
        description="profile 3: its private key (never shown)",
    )

    @field_validator("client_key_pem", mode="after")
    @classmethod
    def _client_certificate_for_profile_3(
        cls, value: str | None, info: ValidationInfo
    ) -> str | None:
        if info.data.get("profile") == 3 and (
            value is None or not info.data.get("client_cert_pem")
        ):
            raise ValueError("security profile 3 needs client_cert_pem and client_key_pem")
        return value

    @field_validator("password", mode="after")
    @classmethod
    def _password_for_basic_auth(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("profile") in (1, 2):
            raise ValueError("password is required for security profiles 1 and 2")
        return value


def _check_csms_url(value: str) -> str:
    if re.search(r"[\x00-\x20\x7f]", value):
        raise ValueError("csms_url must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError("csms_url must be a ws:// or wss:// URL with a host")
    # The charger appends "/<identity>"; a trailing slash would double it.
    return value.rstrip("/")


def _check_model(value: str) -> str:
    if value not in CATALOG:
        raise ValueError(f"unknown model {value!r}; one of {', '.join(sorted(CATALOG))}")
    return value


CsmsUrl = Annotated[
    str,
    Field(max_length=500, examples=["ws://127.0.0.1:9000/ocpp"]),
    AfterValidator(_check_csms_url),
]
ModelSlug = Annotated[str, AfterValidator(_check_model)]


class LocationCreate(StrictModel):
    name: PlainName
    csms_url: CsmsUrl
    ocpp_version: OcppVersion = DEFAULT_OCPP_VERSION
    chargers: int = Field(default=1, ge=1, le=MAX_CHARGERS_PER_LOCATION)
    model: ModelSlug = DEFAULT_MODEL
    identity_prefix: str | None = Field(
        default=None,
        pattern=IDENTITY_PREFIX_PATTERN,
        description="Defaults to the name in capitals, e.g. 'depot' -> 'DEPOT-'.",
    )
    security: SecurityIn | None = None
    auto_start: bool = True


class ChargerCreate(StrictModel):
    """One charger. With `location_id`, omitted csms_url / ocpp_version / model / security are
    taken from the location."""

    identity: Identity
    csms_url: CsmsUrl | None = None
    ocpp_version: OcppVersion | None = None
    location_id: str | None = Field(default=None, max_length=40)
    model: ModelSlug | None = None
    security: SecurityIn | None = None
    auto_start: bool = True


def prefix_from_name(name: str) -> str:
    """'Depot North' -> 'DEPOT-NORTH-': a readable, URL-safe identity prefix."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper()[:40]
    return f"{slug}-" if slug else "CP-"


def identity_for(prefix: str, index: int) -> str:
    return f"{prefix}{index:03d}"
