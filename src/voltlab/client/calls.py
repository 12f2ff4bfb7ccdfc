"""A route call as data: method, path, query, body and how to read the answer. The sync and the
async client send the same `Call`s (transport.py), so each route is written once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Params = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Params = field(default_factory=dict)
    body: Any = None
    # Statuses that carry a body to read rather than an error (GET /health answers 503 with
    # its body while the server starts).
    readable_errors: tuple[int, ...] = ()

    def query(self) -> dict[str, str | int | float | bool]:
        """The query without the parameters left out (None)."""
        return {key: value for key, value in self.params.items() if value is not None}


def segment(value: str) -> str:
    """An id as one path segment: nothing in it can reach another route."""
    return quote(value, safe="")


def model(kind: type[M]) -> Callable[[httpx.Response], M]:
    def read(response: httpx.Response) -> M:
        return kind.model_validate_json(response.content)

    return read


def adapted(kind: Any) -> Callable[[httpx.Response], Any]:
    """For bodies that are not one model: a list of models, a union."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def read(response: httpx.Response) -> Any:
        return adapter.validate_json(response.content)

    return read


def nothing(_response: httpx.Response) -> None:
    return None


def text(response: httpx.Response) -> str:
    return response.text


def body_of(request: BaseModel) -> Any:
    """A request model as JSON, only the fields that were set: the server applies its own
    defaults, and the record of a command shows what was asked."""
    return request.model_dump(mode="json", exclude_unset=True)
