"""Sending `Call`s over httpx, sync and async, with the errors mapped (errors.py)."""

from __future__ import annotations

from typing import TypeVar

import httpx

from voltlab.client.calls import Call
from voltlab.client.errors import raise_for_error

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {} if api_key is None else {"Authorization": f"Bearer {api_key}"}


def _checked(call: Call[T], response: httpx.Response) -> T:
    if response.status_code not in call.readable_errors:
        raise_for_error(response)
    return call.read(response)


class SyncTransport:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def send(self, call: Call[T]) -> T:
        response = self.http.request(
            call.method,
            call.path,
            params=call.query(),
            json=call.body,
        )
        return _checked(call, response)


class AsyncTransport:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def send(self, call: Call[T]) -> T:
        response = await self.http.request(
            call.method,
            call.path,
            params=call.query(),
            json=call.body,
        )
        return _checked(call, response)
