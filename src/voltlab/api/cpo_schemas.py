"""Request body of POST /ocpi/cpos, field by field as the seed page fixes it."""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError

from voltlab.cpo.service import DEFAULT_TTL_SECONDS, MIN_TTL_SECONDS
from voltlab.cpo.templates import TEMPLATES

OVERRIDE_KEYS = ("locations", "chargers_per_location")
# The gallery's slugs, the schema's enum for `template` (the service names them in its 422).
TEMPLATE_SLUGS: list[JsonValue] = [*sorted(TEMPLATES)]
# The seed is stored as a 64-bit signed integer (BIGINT on PostgreSQL).
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1
# Unicode categories a human label must not hold: control characters (C0, DEL, C1) and lone
# surrogates, which no database or log line can carry.
_UNPRINTABLE = ("Cc", "Cs")


class CpoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(
        min_length=1,
        max_length=64,
        description="template slug, see /ocpi/cpos/templates",
        json_schema_extra={"enum": TEMPLATE_SLUGS},
    )
    country_code: str = Field(
        min_length=2,
        max_length=2,
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 3166-1 alpha-2 code: any of the 249 officially assigned codes "
        "(case-insensitive); an unassigned code such as XX answers 422",
    )
    party_id: str = Field(
        min_length=3, max_length=3, pattern=r"^[A-Za-z0-9]{3}$", description="OCPI party id"
    )
    name_prefix: str = Field(
        min_length=1,
        max_length=32,
        description="Human label, 1-32 characters of any script (not only spaces, no control "
        "characters). It names the operator in OCPI; charger identities start with its "
        "OCPP-safe form (accents dropped, other characters outside A-Z a-z 0-9 . _ ~ - "
        "turned into '-': 'Zoë Fleet #1' -> 'Zoe-Fleet-1').",
    )
    role: Literal["cpo", "CPO"] = Field(
        default="cpo",
        description="Role this CPO takes in OCPI roaming. A virtual CPO is a Charge Point "
        "Operator: `cpo` or `CPO` (the default); the answer's party.role is `CPO`.",
    )
    ocpi_version: Literal["2.2.1", "2.1.1"] = "2.2.1"
    seed: int | None = Field(
        default=None,
        ge=SEED_MIN,
        le=SEED_MAX,
        description="Deterministic seed, any 64-bit signed integer (negative too): the same "
        "seed and inputs give byte-identical Locations and Tariffs. null: a random network.",
    )
    ttl_seconds: int | None = Field(default=DEFAULT_TTL_SECONDS, ge=MIN_TTL_SECONDS, le=604_800)
    overrides: dict[str, int | None] | None = None

    @field_validator("country_code", "party_id")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("name_prefix")
    @classmethod
    def _human_label(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name_prefix must hold a visible character, not only spaces")
        for position, char in enumerate(value):
            if unicodedata.category(char) in _UNPRINTABLE:
                raise ValueError(
                    f"name_prefix must not hold control characters ({char!r} at {position})"
                )
        return value

    @field_validator("role", mode="wrap")
    @classmethod
    def _cpo_only(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> str:
        try:
            role: str = handler(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "literal_error",
                "a virtual CPO takes the OCPI role CPO only: role must be 'cpo' or 'CPO', "
                "got {given}",
                {"given": repr(value), "expected": "'cpo' or 'CPO'"},
            ) from exc
        return role

    @field_validator("seed", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        # JSON true/false is no integer (pydantic would read it as 1/0).
        if isinstance(value, bool):
            raise ValueError("seed must be an integer or null, not a boolean")
        return value

    @field_validator("overrides")
    @classmethod
    def _known_overrides(cls, value: dict[str, int | None] | None) -> dict[str, int | None] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - set(OVERRIDE_KEYS))
        if unknown:
            raise ValueError(
                f"unsupported override(s) {', '.join(unknown)}; "
                f"supported: {', '.join(OVERRIDE_KEYS)}"
            )
        return value
