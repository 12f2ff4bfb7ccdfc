"""Rows as the Gateway API shows them, for the rows that more than the API layer shows (the
command dispatcher announces a command's new status in this shape on the live channel)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voltlab.store.models import Command
from voltlab.store.times import as_utc


def rfc3339(moment: datetime | None) -> str | None:
    """UTC with a `Z`, millisecond precision. SQLite hands back naive datetimes; they are UTC."""
    if moment is None:
        return None
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class QueuedCommand:
    """A `commands` row as inserted (the 202 answer and the first live event are built from
    these, without reading the row back)."""

    id: str
    org_id: str
    charger_id: str
    identity: str
    location_id: str | None
    event_type: str
    ocpp_version: str
    payload: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def command_json(command: Command | QueuedCommand) -> dict[str, Any]:
    return {
        "id": command.id,
        "charger_id": command.charger_id,
        "identity": command.identity,
        "location_id": command.location_id,
        "event_type": command.event_type,
        "ocpp_version": command.ocpp_version,
        "payload": command.payload,
        "status": command.status,
        "result": command.result,
        "error": command.error,
        "created_at": rfc3339(command.created_at),
        "updated_at": rfc3339(command.updated_at),
    }
