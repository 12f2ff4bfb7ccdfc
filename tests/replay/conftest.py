"""The gateway in-process (real FleetRuntime on the wall clock, so a capture's gaps are real
seconds) with its replay API, and the strict ocpp-rpc CSMS that sessions are captured from and
replayed against."""

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

# 2.x: the interval between a transaction's Updated meter values (the 1.6 key's counterpart).
METER_INTERVAL_KEY = {
    "ocpp1.6": "MeterValueSampleInterval",
    "ocpp2.0.1": "SampledDataCtrlr.TxUpdatedInterval",
}


class Lab:
    def __init__(self, http: httpx.AsyncClient, peer: OcppRpcPeer) -> None:
        self.http = http
        self.peer = peer

    async def command(self, slug: str, charger_id: str, event: dict[str, Any]) -> dict[str, Any]:
        body = {"target": {"charger_id": charger_id}, "event": event}
        response = await self.http.post(f"/ocpp/commands/{slug}", json=body)
        assert response.status_code == 202, response.text
        command_id = response.json()["results"][0]["command"]["id"]
        deadline = time.monotonic() + 30
        while True:
            command = (await self.http.get(f"/ocpp/commands/{command_id}")).json()
            if command["status"] not in ("queued", "running"):
                assert command["status"] == "succeeded", command
                return command
            assert time.monotonic() < deadline, command
            await asyncio.sleep(0.05)

    async def capture_session(
        self, identity: str, version: str = "ocpp1.6", seconds: int = 3
    ) -> str:
        """A real voltlab charger through boot, authorize, start, meter values (one a second)
        and stop against the peer; its frame log exported as JSON lines. The charger is
        stopped afterwards, so its identity is free for the replay."""
        created = await self.http.post(
            "/ocpp/chargers",
            json={"identity": identity, "csms_url": self.peer.url, "ocpp_version": version},
        )
        assert created.status_code == 201, created.text
        charger_id = created.json()["charger_id"]
        deadline = time.monotonic() + 20
        while (await self.http.get(f"/ocpp/chargers/{charger_id}")).json()[
            "registration"
        ] != "Accepted":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await self.command(
            "configuration", charger_id, {"key": METER_INTERVAL_KEY[version], "value": "1"}
        )
        await self.command(
            "start-session",
            charger_id,
            {"id_tag": "TAG-REPLAY", "connector_id": 1, "duration_seconds": seconds},
        )
        ended = "StopTransaction" if version == "ocpp1.6" else "TransactionEvent"
        deadline = time.monotonic() + seconds + 20
        while not any(
            call.get("eventType", "Ended") == "Ended" for call in self.peer.calls(identity, ended)
        ):
            assert time.monotonic() < deadline, "the session did not end"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the statuses after the stop
        export = await self.http.get(
            f"/ocpp/chargers/{charger_id}/messages", params={"format": "jsonl"}
        )
        assert export.status_code == 200, export.text
        assert export.headers["content-type"].startswith("application/x-ndjson")
        stopped = await self.http.post(f"/ocpp/chargers/{charger_id}/stop")
        assert stopped.status_code == 200, stopped.text
        await self.peer.wait_disconnected(identity)
        return export.text

    async def start_replay(self, capture: str, **fields: Any) -> str:
        body = {"csms_url": self.peer.url, "capture": capture, **fields}
        response = await self.http.post("/ocpp/replays", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["run_id"])

    async def finished(self, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = (await self.http.get(f"/ocpp/replays/{run_id}")).json()
            if run["status"] != "running":
                return run
            assert time.monotonic() < deadline, f"replay {run_id} not finished: {run}"
            await asyncio.sleep(0.05)

    async def replay(self, capture: str, **fields: Any) -> dict[str, Any]:
        return await self.finished(await self.start_replay(capture, **fields))


@pytest.fixture
async def peer() -> AsyncIterator[OcppRpcPeer]:
    async with OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1"), strict=True) as csms:
        yield csms


@pytest.fixture
async def lab(database: Database, peer: OcppRpcPeer, monkeypatch) -> AsyncIterator[Lab]:
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    fleet = FleetRuntime(database, Clock(1.0))
    app = create_app(database, fleet)
    with database.session() as session:
        org = repo.get_or_create_org(session, "replays")
        key = repo.add_api_key(session, org.id, "operator")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://voltlab",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as http,
    ):
        yield Lab(http, peer)
