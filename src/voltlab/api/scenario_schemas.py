"""Request body of POST /scenarios/runs. Pure pydantic, shared with `voltlab.client`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voltlab.api.schemas import CsmsUrl, OcppVersion


class RunTarget(BaseModel):
    """A CSMS (`csms_url` and `ocpp_version`, for OCPP scenarios) or the eMSP registered with
    one of the caller's virtual CPOs (`cpo_id`, for eMSP scenarios)."""

    model_config = ConfigDict(extra="forbid")
    csms_url: CsmsUrl | None = None
    ocpp_version: OcppVersion | None = None
    cpo_id: str | None = Field(default=None, min_length=1, max_length=40)
    keep: bool = Field(
        default=False, description="keep the run's chargers afterwards (default: deleted)"
    )


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: str | dict[str, Any] = Field(
        description="a library scenario's name, or a scenario object (docs/scenario.schema.json)"
    )
    target: RunTarget
    params: dict[str, str | bool | int | float] = Field(
        default_factory=dict,
        max_length=50,
        description='values for the scenario\'s declared params, e.g. {"stations": 100}',
    )
