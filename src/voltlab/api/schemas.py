"""Request bodies for locations and chargers. Field rules live here so a bad body is a 422 whose
`loc` names the offending field."""

from __future__ import annotations

import ipaddress
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

from voltlab.fleet.codecs.station_codec import AVAILABLE_VERSIONS
from voltlab.fleet.model.catalog import CATALOG, DEFAULT_MODEL


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
    tls_csms_url: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^wss://[^\s@]+$",
        description="the CSMS over TLS once it raised the profile to 2 or 3 "
        "(default: the CSMS URL with wss://)",
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


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def _check_host(host: str) -> None:
    """DNS name (labels 1..63 characters, 253 in all), IPv4 literal, or IPv6 in brackets."""
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError("csms_url: an IPv6 address goes in brackets, e.g. ws://[::1]:9000/")
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"csms_url: {host} is not a valid IPv6 address") from None
        return
    if ":" in host:
        raise ValueError("csms_url: an IPv6 address goes in brackets, e.g. ws://[::1]:9000/")
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253:
        raise ValueError("csms_url: the host name must be 1 to 253 characters")
    labels = name.split(".")
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            raise ValueError(f"csms_url: {name} is not a valid IPv4 address") from None
        return
    for label in labels:
        if not _HOST_LABEL.match(label):
            raise ValueError(
                f"csms_url: host label {label[:70]!r} is not valid (1 to 63 letters, digits, "
                "'-' or '_', not starting or ending with '-')"
            )


def _check_csms_url(value: str) -> str:
    if re.search(r"[\x00-\x20\x7f]", value):
        raise ValueError("csms_url must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError("csms_url must be a ws:// or wss:// URL")
    netloc = parts.netloc
    if "@" in netloc:
        raise ValueError(
            "csms_url must not carry credentials (user:password@); set security.profile and "
            "security.password instead"
        )
    if parts.fragment or value.endswith("#"):
        raise ValueError("csms_url must not have a #fragment (it is never sent to the CSMS)")
    host, port_text = netloc, None
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError("csms_url: unexpected text after the IPv6 address")
            port_text = rest[1:]
    elif ":" in netloc:
        host, port_text = netloc.rsplit(":", 1)
    if not host:
        raise ValueError("csms_url must be a ws:// or wss:// URL with a host")
    _check_host(host)
    if port_text is not None and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise ValueError(f"csms_url: port {port_text[:10]!r} is not a number from 1 to 65535")
    # The charger appends "/<identity>"; a trailing slash would double it.
    return value.rstrip("/")


def _check_model(value: str) -> str:
    if value not in CATALOG:
        raise ValueError(f"unknown model {value!r}; one of {', '.join(sorted(CATALOG))}")
    return value


# What `_check_csms_url` requires of the URL's shape, for the schema (the check itself also
# judges the host and the port, and names the rule broken).
CSMS_URL_PATTERN = r"^[Ww][Ss][Ss]?://[^\x00-\x20\x7f@/?#]+([/?][^\x00-\x20\x7f#]*)?$"

CsmsUrl = Annotated[
    str,
    Field(
        max_length=500,
        examples=["ws://127.0.0.1:9000/ocpp"],
        description="the CSMS's ws:// or wss:// URL; a charger connects to it + `/` + identity",
        json_schema_extra={"pattern": CSMS_URL_PATTERN},
    ),
    AfterValidator(_check_csms_url),
]
# The catalog's slugs as the schema's enum; the check names them in its 422.
ModelSlug = Annotated[
    str,
    Field(
        description="a charger model of the catalog (GET /ocpp/models)",
        json_schema_extra={"enum": sorted(CATALOG)},
    ),
    AfterValidator(_check_model),
]


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


def prefix_from_name(name: str, suffix: str | None = None) -> str:
    """'Depot North' -> 'DEPOT-NORTH-': a readable, URL-safe identity prefix. With `suffix`
    (a short piece of the location id) the prefix is told apart from another location's that
    derives the same one: 'DEPOT-NORTH-3F9A2C-'."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper() or "CP"
    if suffix is None:
        return f"{slug[:40]}-"
    # 44 characters at most, so the identity with its index ("1000") stays within 48.
    return f"{slug[: 43 - len(suffix) - 1]}-{suffix.upper()}-"


def identity_for(prefix: str, index: int) -> str:
    return f"{prefix}{index:03d}"
