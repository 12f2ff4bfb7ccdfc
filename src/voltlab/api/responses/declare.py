"""How a route declares what it answers: its success body and the error statuses it can give.

The success model documents the body; the route still builds the body itself (no second pass
through pydantic on every answer). tests/e2e/test_openapi_truth.py and the schemathesis run
(tests/e2e/test_openapi_fuzz.py) check real answers against these declarations."""

from __future__ import annotations

from typing import Any

from voltlab.api.responses.errors import error_responses

# Every route behind an API key: no key / unknown key, and not ready or no database.
AUTHENTICATED = (401, 503)
# What any authenticated read with query or path parameters may also answer.
READ = (*AUTHENTICATED, 422)
# Writes: a viewer's key (403); the body checks every write passes (413, 422), a body sent to
# a route that takes none included.
WRITE = (*AUTHENTICATED, 403, 413, 422)


def answers(
    model: Any,
    *errors: int,
    status: int = 200,
    description: str,
    example: Any = None,
    other_media: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a route decorator: `model` answered with `status` (as JSON, or as
    one of `other_media` when the request asks for it), and the error statuses `errors`, each
    with its error body."""
    success: dict[str, Any] = {"model": model, "description": description}
    content: dict[str, Any] = dict(other_media or {})
    if example is not None:
        content["application/json"] = {"example": example}
    if content:
        success["content"] = content
    return {
        "status_code": status,
        "response_model": None,
        "responses": {status: success, **error_responses(*errors)},
    }


def answers_nothing(*errors: int, status: int = 204, description: str) -> dict[str, Any]:
    """A route that answers with an empty body (204)."""
    return {
        "status_code": status,
        "response_model": None,
        "responses": {status: {"description": description}, **error_responses(*errors)},
    }
