"""What every response model shares: no undeclared field, and the types of the API's values."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ResponseModel(BaseModel):
    # `additionalProperties: false` in the schema: a field the server sends and the model does
    # not declare fails the conformance tests rather than going undocumented.
    model_config = ConfigDict(extra="forbid")


# RFC 3339 UTC with a `Z` (docs/api.md).
Timestamp = Annotated[
    str, Field(json_schema_extra={"format": "date-time"}, examples=["2026-04-21T21:00:00.000Z"])
]
OcppVersionName = Literal["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]
Role = Literal["admin", "operator", "viewer"]
