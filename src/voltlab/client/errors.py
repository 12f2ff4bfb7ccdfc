"""What the client raises: one class per status the Gateway API gives, each carrying the
server's `detail`, and the outcomes of waiting."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from voltlab.client import models


class VoltlabError(Exception):
    """Base of everything this client raises (transport errors stay httpx's own)."""


class ApiError(VoltlabError):
    """The server answered with an error status. `detail` is its `detail` (a sentence, or for a
    422 the list of problems)."""

    status_code: int = 0

    def __init__(self, response: httpx.Response, detail: Any) -> None:
        self.response = response
        self.status_code = response.status_code
        self.detail = detail
        request = response.request
        super().__init__(f"{request.method} {request.url.path}: {response.status_code} {detail}")


class Unauthorized(ApiError):
    """401: the API key is missing, malformed, unknown or revoked."""


class Forbidden(ApiError):
    """403: the key's role may not do this (a viewer writes; /cluster for a non-admin)."""


class NotFound(ApiError):
    """404: no such id in the caller's org (another org's id too)."""


class Conflict(ApiError):
    """409: conflicts with an existing record."""


class PayloadTooLarge(ApiError):
    """413: the request body is above the server's limit."""


class ValidationFailed(ApiError):
    """422: `problems` lists each invalid value, its `loc` naming the field."""

    @property
    def problems(self) -> list[models.ValidationProblem]:
        try:
            return models.ValidationErrorBody.model_validate({"detail": self.detail}).detail
        except ValidationError:
            return []

    def fields(self) -> list[tuple[str | int, ...]]:
        """The `loc` of every problem, e.g. `[("body", "event", "connector_id")]`."""
        return [tuple(problem.loc) for problem in self.problems]


class Unavailable(ApiError):
    """503: not ready yet, over a capacity limit, or the database does not answer."""

    @property
    def retry_after(self) -> float | None:
        value = self.response.headers.get("retry-after")
        try:
            return None if value is None else float(value)
        except ValueError:
            return None


class ServerError(ApiError):
    """Any other error status (a 500 is a server bug worth reporting)."""


class WaitTimeout(VoltlabError, TimeoutError):
    """A `wait()` ran out of time; `last` is the last state read."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


class CommandFailed(VoltlabError):
    """A command ended in another status than `succeeded` (with `wait(check=True)`)."""

    def __init__(self, command: models.CommandView) -> None:
        error = command.error
        reason = f"{error.code}: {error.message}" if error is not None else "no error given"
        super().__init__(f"command {command.id} ({command.event_type}) {command.status}: {reason}")
        self.command = command


class CpoFailed(VoltlabError):
    """A virtual CPO's provisioning ended FAILED."""

    def __init__(self, status: models.CpoStatusView) -> None:
        super().__init__(f"CPO {status.cpo_id} {status.status}: {status.error}")
        self.status = status


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    503: Unavailable,
}


def raise_for_error(response: httpx.Response) -> None:
    """Raise the ApiError subclass of the response's status (>= 400), with its `detail`."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail", body) if isinstance(body, dict) else (body or response.text)
    raise _BY_STATUS.get(response.status_code, ServerError)(response, detail)
