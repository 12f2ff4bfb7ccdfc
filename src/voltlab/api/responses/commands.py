"""Commands: the 202 of `POST /ocpp/commands/{slug}` (the seed's shape) and the records."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from voltlab.api.responses.base import OcppVersionName, ResponseModel, Timestamp

CommandStatus = Literal["queued", "running", "succeeded", "failed", "timed_out"]
# The slugs of the /ocpp/commands endpoints in snake_case (api/command_events.COMMAND_KINDS).
CommandEventType = Literal[
    "proxy_message",
    "configuration",
    "cache_reset",
    "local_auth_list",
    "clear_local_auth_list",
    "inject_fault",
    "clear_fault",
    "plug_connector",
    "unplug_connector",
    "unlock_connector",
    "start_transaction",
    "stop_transaction",
    "start_session",
    "stop_session",
    "authorize_id_tag",
    "ev_requests_energy",
    "ev_stops_energy",
    "power_update",
    "partition",
    "restart_link",
    "set_charging_limit",
    "clear_charging_limit",
    "discharge",
]


class QueuedCommandView(ResponseModel):
    id: str
    event_type: CommandEventType = Field(description="the slug in snake_case")
    ocpp_version: OcppVersionName
    payload: dict[str, Any] = Field(description="the event as given")


class QueuedResult(ResponseModel):
    charger_id: str
    identity: str
    command: QueuedCommandView


class TargetError(ResponseModel):
    code: str = Field(examples=["not_in_location"])
    message: str


class FailedTarget(ResponseModel):
    charger_id: str
    identity: str | None = Field(description="null for a charger that is not the caller's")
    error: TargetError


class CommandAccepted(ResponseModel):
    targeted_count: int
    queued_count: int
    failed_count: int
    results: list[QueuedResult]
    failed: list[FailedTarget]


class CommandError(ResponseModel):
    code: str = Field(examples=["charger_not_running"])
    message: str


class CommandView(ResponseModel):
    """A command record: what was asked, of which charger, and how it ended."""

    id: str
    charger_id: str
    identity: str
    location_id: str | None
    event_type: str = Field(description="the command's slug in snake_case")
    ocpp_version: OcppVersionName
    payload: dict[str, Any]
    status: CommandStatus
    result: Any = Field(description="what the station reported (null until it finished)")
    error: CommandError | None
    created_at: Timestamp
    updated_at: Timestamp


class CommandPage(ResponseModel):
    items: list[CommandView]
    next_cursor: str | None
