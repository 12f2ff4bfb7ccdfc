"""GatewayRouter: a router turns a request away on its routes' literal prefixes, and routing
answers exactly as FastAPI's own (the same route, 404, 405, the trailing-slash redirect)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from voltlab.api.routing import GatewayRouter, literal_prefix


def test_literal_prefix() -> None:
    assert literal_prefix("/ocpp/chargers/{charger_id}/messages") == "/ocpp/chargers/"
    assert literal_prefix("/ocpp/commands") == "/ocpp/commands"


def _app() -> tuple[FastAPI, GatewayRouter]:
    first = GatewayRouter(prefix="/a")
    second = GatewayRouter()

    @first.get("/fixed")
    async def fixed() -> dict[str, str]:
        return {"route": "fixed"}

    @first.get("/{x}")
    async def by_id(x: int) -> dict[str, int]:
        return {"x": x}

    @second.post("/b/{y}/c")
    async def nested(y: str) -> dict[str, str]:
        return {"y": y}

    app = FastAPI()
    app.include_router(first)
    app.include_router(second)
    return app, first


@pytest.mark.asyncio
async def test_answers_as_fastapi_routes_them() -> None:
    app, _ = _app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/a/fixed")).json() == {"route": "fixed"}
        assert (await client.get("/a/7")).json() == {"x": 7}
        assert (await client.get("/a/seven")).status_code == 422  # matched, then validated
        assert (await client.post("/b/z/c")).json() == {"y": "z"}
        assert (await client.get("/b/z/c")).status_code == 405  # path matches, method not
        assert (await client.get("/nowhere")).status_code == 404
        redirect = await client.get("/a/fixed/", follow_redirects=False)
        assert redirect.status_code == 307
        assert redirect.headers["location"].endswith("/a/fixed")


@pytest.mark.asyncio
async def test_turns_away_other_paths_without_matching_routes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, first = _app()
    assert set(first.literal_prefixes()) == {"/a/fixed", "/a/"}
    tried: list[str] = []
    for route in first.routes:
        original = route.matches
        monkeypatch.setattr(
            route, "matches", lambda scope, o=original: tried.append(scope["path"]) or o(scope)
        )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/b/z/c")).json() == {"y": "z"}
        assert tried == []  # no route of the first router was asked
        assert (await client.get("/a/3")).json() == {"x": 3}
        assert tried  # its routes are asked for its own paths
