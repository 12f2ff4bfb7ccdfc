"""voltlab's command answers in the SDK's words: the 202 (`OcppLocationCommandResponse`) and a
command record (`CommandResultResponse`).

A record's `status` is one of the SDK's six. voltlab's `queued` and `running` are `received`:
the serving process stored the command and handed it to its dispatcher at once (the SDK's 404
"until the charger has received the command" never happens). `succeeded` is `applied`;
`failed` is `rejected` when the CSMS refused or failed what the command sent, else `failed`;
`timed_out` (no outcome within the dispatcher's bound) is `failed`. `deferred` and `expired`
(the vendor's offline buffer) do not occur: a command for a charger that is not connected fails
with `not_connected`. voltlab's own words travel along: `voltlab_status` and `error`."""

from __future__ import annotations

from typing import Any

from voltlab.api.serialize import rfc3339
from voltlab.store.models import Command

# The codes with which the CSMS's answer (not the station or the request) ended a command.
REJECTED_BY_CSMS = frozenset({"csms_error", "not_authorized"})
FINAL_STATUSES = frozenset({"applied", "rejected", "expired", "failed"})


def sdk_status(status: str, error: dict[str, Any] | None) -> str:
    if status in ("queued", "running"):
        return "received"
    if status == "succeeded":
        return "applied"
    code = (error or {}).get("code")
    return "rejected" if status == "failed" and code in REJECTED_BY_CSMS else "failed"


def _detail(command: Command) -> str | None:
    if command.error:
        return f"{command.error.get('code')}: {command.error.get('message')}"
    if command.status in ("queued", "running"):
        return command.status
    return None


def command_result(command: Command) -> dict[str, Any]:
    result = command.result
    if result is not None and not isinstance(result, dict):
        result = {"value": result}  # the SDK's `result` is an object
    return {
        "command_id": command.id,
        "status": sdk_status(command.status, command.error),
        "detail": _detail(command),
        "result": result,
        "event_type": command.event_type,
        "identity": command.identity,
        "deployment_id": command.charger_id,
        "enqueued_at": rfc3339(command.created_at),
        "received_at": rfc3339(command.created_at),
        "updated_at": rfc3339(command.updated_at),
        "voltlab_status": command.status,
        "error": command.error,
        "location_id": command.location_id,
        "ocpp_version": command.ocpp_version,
        "payload": command.payload,
    }


def accepted_body(accepted: dict[str, Any]) -> dict[str, Any]:
    """The seed's 202 body with `failed[].error` as the SDK's string (its code beside it)."""
    failed = [
        {
            "charger_id": item["charger_id"],
            "identity": item["identity"],
            "error": item["error"]["message"],
            "code": item["error"]["code"],
        }
        for item in accepted["failed"]
    ]
    return accepted | {"failed": failed}
