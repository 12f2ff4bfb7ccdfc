"""The whole gateway in-process (real FleetRuntime on a fast clock) against the strict
ocpp-rpc CSMS peer, driven over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from voltlab.api.app import create_app
from voltlab.clock import Clock
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.store import repo
from voltlab.store.db import Database

TERMINAL = {"succeeded", "failed", "timed_out"}


class Gateway:
    def __init__(
        self,
        http: httpx.AsyncClient,
        headers: dict[str, str],
        peer: OcppRpcPeer,
        fleet: FleetRuntime,
    ) -> None:
        self.http = http
        self.headers = headers
        self.peer = peer
        self.fleet = fleet

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.headers)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers)

    async def location(
        self,
        chargers: int = 3,
        model: str = "ac-22kw-2c",
        prefix: str = "CP-E2E-",
        version: str = "ocpp1.6",
    ) -> dict:
        response = await self.post(
            "/ocpp/locations",
            {
                "name": "depot",
                "csms_url": self.peer.url,
                "ocpp_version": version,
                "chargers": chargers,
                "model": model,
                "identity_prefix": prefix,
                "auto_start": True,
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        for charger in body["chargers"]:
            await self.wait_online(charger["charger_id"])
        return body

    async def wait_online(self, charger_id: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = (await self.get(f"/ocpp/chargers/{charger_id}")).json()
            if state.get("registration") == "Accepted" and state.get("connection") == "connected":
                identity = state["identity"]
                # every connector reported after boot (1.6 also reports connector 0)
                extra = 1 if state["ocpp_version"] == "ocpp1.6" else 0
                if (
                    len(self.peer.calls(identity, "StatusNotification"))
                    >= len(state["connectors"]) + extra
                ):
                    return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{charger_id} not online: {state}")
            await asyncio.sleep(0.05)

    async def command(
        self, slug: str, target: dict, event: dict | None = None, expect: str | None = "succeeded"
    ) -> list[dict]:
        body: dict[str, Any] = {"target": target}
        if event is not None:
            body["event"] = event
        response = await self.post(f"/ocpp/commands/{slug}", body)
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["failed"] == [], accepted
        records = [await self.wait_command(r["command"]["id"]) for r in accepted["results"]]
        if expect is not None:
            for record in records:
                assert record["status"] == expect, record
        return records

    async def wait_command(self, command_id: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            record = (await self.get(f"/ocpp/commands/{command_id}")).json()
            if record["status"] in TERMINAL:
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"command {command_id} still {record['status']}")
            await asyncio.sleep(0.02)

    async def charger(self, charger_id: str) -> dict:
        return (await self.get(f"/ocpp/chargers/{charger_id}")).json()


@pytest.fixture
async def peer_all() -> AsyncIterator[OcppRpcPeer]:
    async with OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1", "ocpp2.1"), strict=True) as peer:
        yield peer


@pytest.fixture
async def gateway(database: Database, peer_all: OcppRpcPeer, monkeypatch) -> AsyncIterator[Gateway]:
    peer16 = peer_all
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    fleet = FleetRuntime(database, Clock(100.0))
    app = create_app(database, fleet)
    with database.session() as session:
        org = repo.get_or_create_org(session, "e2e")
        key = repo.add_api_key(session, org.id, "admin")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://voltlab") as http:
            yield Gateway(http, {"Authorization": f"Bearer {key}"}, peer16, fleet)
