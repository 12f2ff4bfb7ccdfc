"""Error bodies (api/errors.py, api/auth.py, api/body_limits.py and the routes' HTTPExceptions)
and what each status means, for the routes' `responses=`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from voltlab.api.responses.base import ResponseModel


class ErrorBody(ResponseModel):
    """401, 403, 404, 409, 413, 503: one sentence saying what went wrong."""

    detail: str = Field(examples=["charger 'dep-123' not found"])


class ValidationProblem(ResponseModel):
    """One invalid value: `loc` names the field (`["body", "target", "charger_id"]`,
    `["query", "status"]`), `msg` says why."""

    type: str = Field(examples=["value_error"])
    loc: list[str | int] = Field(examples=[["body", "event", "connector_id"]])
    msg: str
    input: Any = Field(default=None, description="the value refused, when it can be shown")
    ctx: dict[str, Any] | None = Field(default=None, description="the rule's parameters")


class ValidationErrorBody(ResponseModel):
    """422: every problem found, each naming its field."""

    detail: list[ValidationProblem]


ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "Missing, malformed or unknown API key (`WWW-Authenticate: Bearer`).",
    403: "The key's role may not do this: a viewer key only reads; /cluster is for admins.",
    404: "No such id in the caller's org (another org's id is a 404 too, never a 403).",
    409: "Conflict with an existing record (an identity already used in the org, a stored "
    "model the catalog no longer has).",
    413: "Request body larger than 1 MiB.",
    422: "Invalid input: each entry's `loc` names the field and `msg` says why (also a JSON "
    "body nested deeper than 64 levels, or text with NUL or a lone surrogate).",
    503: "Not ready yet, over a capacity limit, or the database does not answer "
    "(`Retry-After` when trying again soon will help).",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these error statuses, each with its body model."""
    return {
        status: {
            "model": ValidationErrorBody if status == 422 else ErrorBody,
            "description": ERROR_DESCRIPTIONS[status],
        }
        for status in sorted(statuses)
    }
