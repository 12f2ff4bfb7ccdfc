"""Helpers the bad-input tests share: raw JSON posting, error-location checks, a charger."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select

from voltlab.store.db import Database

from .conftest import Headers, LocationMaker

CSMS = "ws://127.0.0.1:9000/ocpp"
INT32_MAX = 2**31 - 1


async def post_raw(
    client: httpx.AsyncClient, path: str, text: str, headers: Headers
) -> httpx.Response:
    """Send JSON text as written: `json.dumps` keeps "\\ud800" as an escape, which is how a
    client puts a lone surrogate on the wire (httpx's json= could not encode it)."""
    content = text.encode("ascii")
    return await client.post(
        path, content=content, headers={**headers, "Content-Type": "application/json"}
    )


def assert_names(response: httpx.Response, loc: list[Any], status: int = 422) -> str:
    """The answer is `status`, valid UTF-8 JSON, and one of its errors sits at `loc`; returns
    that error's message."""
    assert response.status_code == status, response.text
    body = json.loads(response.content.decode("utf-8"))
    locs = [error["loc"] for error in body["detail"]]
    assert loc in locs, locs
    return str(body["detail"][locs.index(loc)]["msg"])


async def first_charger_id(make_location: LocationMaker) -> str:
    """A location of two chargers; the first one's id (the target of the bad commands)."""
    location = await make_location(identity_prefix="BAD-", chargers=2)
    return str(location["chargers"][0]["charger_id"])


def command(charger_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"target": {"charger_id": charger_id}, "event": event}


async def count_rows(database: Database, model: Any) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)
