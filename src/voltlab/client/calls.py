"""A route call as data: method, path, query, body and the answer's type. The sync and the
async client send the same `Call`s (transport.py), so each route is written once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

T = TypeVar("T")

Params = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True)
class Call(Generic[T]):
    """`response` is the answer's type: a model, a list or union of models (read with pydantic),
    `str` (a text body) or None (no body). tests/e2e/test_client_drift.py compares it with
    the route's answer in /openapi.json."""

    method: str
    path: str
    response: Any
    params: Params = field(default_factory=dict)
    body: Any = None
    # Statuses that carry a body to read rather than an error (GET /health answers 503 with
    # its body while the server starts).
    readable_errors: tuple[int, ...] = ()

    def query(self) -> dict[str, str | int | float | bool]:
        """The query without the parameters left out (None)."""
        return {key: value for key, value in self.params.items() if value is not None}

    def read(self, response: httpx.Response) -> T:
        kind = self.response
        if kind is None:
            return cast(T, None)
        if kind is str:
            return cast(T, response.text)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return cast(T, kind.model_validate_json(response.content))
        return cast(T, _adapter(kind).validate_json(response.content))


@lru_cache(maxsize=64)
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def segment(value: str) -> str:
    """An id as one path segment: nothing in it can reach another route."""
    return quote(value, safe="")


def body_of(request: BaseModel) -> Any:
    """A request model as JSON, only the fields that were set: the server applies its own
    defaults, and the record of a command shows what was asked."""
    return request.model_dump(mode="json", exclude_unset=True)
