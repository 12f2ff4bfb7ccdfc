"""Request body of POST /ocpi/cpos, field by field as the seed page fixes it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from voltlab.cpo.service import DEFAULT_TTL_SECONDS, MIN_TTL_SECONDS
from voltlab.cpo.templates import TEMPLATES

OVERRIDE_KEYS = ("locations", "chargers_per_location")
# The gallery's slugs, the schema's enum for `template` (the service names them in its 422).
TEMPLATE_SLUGS: list[JsonValue] = [*sorted(TEMPLATES)]


class CpoCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(
        min_length=1,
        max_length=64,
        description="template slug, see /ocpi/cpos/templates",
        json_schema_extra={"enum": TEMPLATE_SLUGS},
    )
    country_code: str = Field(
        min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2"
    )
    party_id: str = Field(
        min_length=3, max_length=3, pattern=r"^[A-Za-z0-9]{3}$", description="OCPI party id"
    )
    name_prefix: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9._~\-]+$",
        description="prepended to every charger identity of this CPO",
    )
    role: Literal["cpo", "CPO"] = Field(default="cpo", description="role in OCPI roaming")
    ocpi_version: Literal["2.2.1", "2.1.1"] = "2.2.1"
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    ttl_seconds: int | None = Field(default=DEFAULT_TTL_SECONDS, ge=MIN_TTL_SECONDS, le=604_800)
    overrides: dict[str, int | None] | None = None

    @field_validator("country_code", "party_id")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

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
