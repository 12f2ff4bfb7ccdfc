"""The SDK's command `target` (`ocpplab.types.CommandTarget`) and how it becomes voltlab's.

The SDK makes every field optional and says which go together; voltlab checks that here and
answers 400 (`BadRequestError`, `{"detail": "..."}`) when they do not, 404 when a named charger
or location is not the caller's. `deployment_id` is voltlab's charger id (`dep-…`); an
`identity` is looked up among the org's chargers."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from voltlab.api.command_events import CommandTarget
from voltlab.api.ocpplab_compat.lookup import require_charger

Name = Annotated[str, Field(min_length=1, max_length=100)]


class SdkTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deployment_id: Name | None = None
    identity: Name | None = None
    location_id: Name | None = None
    charger_ids: list[Name] | None = Field(default=None, min_length=1, max_length=1000)


def bad_request(detail: str) -> HTTPException:
    """A 400 the SDK raises as `BadRequestError` (its body model is `{"detail": str}`)."""
    return HTTPException(status_code=400, detail=detail)


def check_target(target: SdkTarget) -> None:
    """Exactly one of deployment_id, identity, location_id; charger_ids only with location_id."""
    given = [
        name
        for name, value in (
            ("deployment_id", target.deployment_id),
            ("identity", target.identity),
            ("location_id", target.location_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        shown = ", ".join(given) if given else "none"
        raise bad_request(
            f"target: give exactly one of deployment_id, identity or location_id (got {shown})"
        )
    if target.charger_ids is not None and target.location_id is None:
        raise bad_request("target: charger_ids is only valid with location_id")


def voltlab_target(session: Session, org_id: str, target: SdkTarget) -> CommandTarget:
    """voltlab's target for a checked SDK target (404: a charger the org does not have)."""
    if target.location_id is not None:
        return CommandTarget(location_id=target.location_id, charger_ids=target.charger_ids)
    charger = require_charger(
        session, org_id, deployment_id=target.deployment_id, identity=target.identity
    )
    return CommandTarget(charger_id=charger.id)
