"""The live channel's messages (`GET /events`, Server-Sent Events)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from voltlab.api.responses.base import ResponseModel

LiveEventType = Literal[
    "charger", "frame", "meter", "command", "cpo", "scenario-run", "finding", "resync"
]


class LiveEventMessage(ResponseModel):
    """One event of the stream (keep-alive comment lines are not events): its type, the hub's
    sequence number, and the event as JSON, which always carries `at`."""

    event: LiveEventType
    id: str = Field(pattern=r"^[0-9]+$")
    data: str = Field(
        json_schema_extra={
            "contentMediaType": "application/json",
            "contentSchema": {
                "type": "object",
                "required": ["at"],
                "properties": {"at": {"type": "string"}},
            },
        }
    )


def event_stream_schema() -> dict[str, Any]:
    """The `text/event-stream` schema: before OpenAPI 3.2's itemSchema, `schema` describes one
    event."""
    return LiveEventMessage.model_json_schema()
