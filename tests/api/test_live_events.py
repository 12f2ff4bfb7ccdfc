"""The live channel on the wire: an httpx streaming client against the app served by uvicorn
(`LiveServer`) on 127.0.0.1, its stations booting against the strict ocpp-rpc CSMS peer."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.sse_support import EventStream, serve  # noqa: E402
from peers.ocpp_rpc_peer import OcppRpcPeer  # noqa: E402
from voltlab.api.app import create_app  # noqa: E402
from voltlab.api.serving import LiveServer, live_server  # noqa: E402
from voltlab.clock import Clock  # noqa: E402
from voltlab.fleet.hosting.runtime import FleetRuntime  # noqa: E402
from voltlab.live import LiveEvent  # noqa: E402
from voltlab.store import repo  # noqa: E402
from voltlab.store.db import Database  # noqa: E402

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass
class Served:
    http: httpx.AsyncClient
    server: LiveServer
    task: asyncio.Task[None]
    database: Database
    peer: OcppRpcPeer
    keys: dict[str, dict[str, str]]
    orgs: dict[str, str]

    def stream(self, topics: str, who: str = "admin") -> EventStream:
        return EventStream(self.http, topics, self.keys[who])

    async def location(self, chargers: int, prefix: str, who: str = "admin") -> list[str]:
        body = {
            "name": prefix,
            "csms_url": self.peer.url,
            "ocpp_version": "ocpp1.6",
            "chargers": chargers,
            "identity_prefix": prefix,
            "auto_start": True,
        }
        response = await self.http.post("/ocpp/locations", json=body, headers=self.keys[who])
        assert response.status_code == 201, response.text
        return [c["charger_id"] for c in response.json()["chargers"]]


@pytest.fixture
async def served(
    database: Database, peer16: OcppRpcPeer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    database.migrate()
    app = create_app(database, FleetRuntime(database, Clock(100.0)))
    app.state.events_heartbeat = 0.3
    keys: dict[str, dict[str, str]] = {}
    orgs: dict[str, str] = {}
    with database.session() as session:
        acme = repo.get_or_create_org(session, "acme")
        rival = repo.get_or_create_org(session, "rival")
        orgs = {"acme": acme.id, "rival": rival.id}
        for name, org, role in (
            ("admin", acme, "admin"),
            ("viewer", acme, "viewer"),
            ("rival", rival, "admin"),
        ):
            keys[name] = {"Authorization": f"Bearer {repo.add_api_key(session, org.id, role)}"}
    server = live_server(app, "127.0.0.1", 0, log_level="warning")
    task, base = await serve(server)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        yield Served(http, server, task, database, peer16, keys, orgs)
    server.should_exit = True
    await asyncio.wait_for(task, 20)


def _online(data: dict[str, Any]) -> bool:
    return (
        data["connection"] == "connected"
        and data["registration"] == "Accepted"
        and all(c["status"] == "Available" for c in data["connectors"])
    )


async def test_fleet_stream_shows_stations_boot(served: Served) -> None:
    async with served.stream("fleet") as fleet:
        ids = await served.location(3, "CP-LIVE-")
        await fleet.wait_for(
            lambda s: {d["charger_id"] for d in s.of("charger") if _online(d)} >= set(ids)
        )
    first = fleet.of("charger")[0]
    assert set(first) >= {
        "charger_id",
        "identity",
        "location_id",
        "ocpp_version",
        "model",
        "connection",
        "registration",
        "connectors",
        "at",
    }
    assert RFC3339_MS.match(first["at"])
    connector = first["connectors"][0]
    assert set(connector) >= {"connector_id", "status", "error_code", "power_w", "energy_wh", "soc"}
    seqs = [e.id for e in fleet.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # The event says what the charger's GET says.
    last = [d for d in fleet.of("charger") if d["charger_id"] == ids[0]][-1]
    body = (await served.http.get(f"/ocpp/chargers/{ids[0]}", headers=served.keys["admin"])).json()
    assert (body["connection"], body["registration"]) == (last["connection"], last["registration"])
    assert [c["status"] for c in body["connectors"]] == [c["status"] for c in last["connectors"]]


async def test_charger_topic_frames_meter_and_commands(served: Served) -> None:
    async with served.stream("fleet") as fleet:
        (charger_id,) = await served.location(1, "CP-TAIL-")
        await fleet.wait_for(lambda s: any(_online(d) for d in s.of("charger")))
    async with served.stream(f"charger:{charger_id},commands") as live:
        event = {"id_tag": "TAG-1", "connector_id": 1, "duration_seconds": 600}
        response = await served.http.post(
            "/ocpp/commands/start-session",
            json={"target": {"charger_id": charger_id}, "event": event},
            headers=served.keys["admin"],
        )
        assert response.status_code == 202, response.text
        command_id = response.json()["results"][0]["command"]["id"]
        await live.wait_for(lambda s: any(m["power_w"] and m["power_w"] > 0 for m in s.of("meter")))
        await live.wait_for(
            lambda s: any(
                c["id"] == command_id and c["status"] == "succeeded" for c in s.of("command")
            )
        )
    actions = [(f["direction"], f["action"]) for f in live.of("frame")]
    assert ("out", "StartTransaction") in actions
    assert ("in", "StartTransaction") in actions  # the answer, named after its CALL
    assert ("out", "MeterValues") in actions
    frame = next(f for f in live.of("frame") if f["action"] == "StartTransaction")
    assert frame["charger_id"] == charger_id and frame["frame"][0] == 2
    assert frame["message_id"] == frame["frame"][1]
    meter = next(m for m in live.of("meter") if m["power_w"])
    assert meter["charger_id"] == charger_id and meter["connector_id"] == 1
    assert meter["transaction_id"] is not None and meter["energy_wh"] is not None
    statuses = [c["status"] for c in live.of("command") if c["id"] == command_id]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded" and "running" in statuses
    record = live.of("command")[-1]
    assert record["event_type"] == "start_session" and record["charger_id"] == charger_id
    # The series route tells the same session.
    series = (
        await served.http.get(
            f"/ocpp/chargers/{charger_id}/meter-series", headers=served.keys["viewer"]
        )
    ).json()
    assert series["connector_id"] == 1
    assert series["transaction_id"] == meter["transaction_id"]
    assert any(p["power_w"] == meter["power_w"] for p in series["points"])


async def test_other_org_gets_nothing(served: Served) -> None:
    async with served.stream("fleet,commands,findings", who="rival") as rival:
        async with served.stream("fleet") as acme:
            ids = await served.location(2, "CP-ISO-")
            await acme.wait_for(
                lambda s: {d["charger_id"] for d in s.of("charger") if _online(d)} >= set(ids)
            )
        response = await served.http.post(
            "/ocpp/commands/plug-connector",
            json={"target": {"charger_id": ids[0]}, "event": {"connector_id": 1}},
            headers=served.keys["admin"],
        )
        assert response.status_code == 202
        # Heartbeats keep coming to the rival, events never.
        await rival.wait_for(lambda s: s.comments.count("keep-alive") >= 3)
    assert rival.events == []
    # Nor can it name a foreign charger.
    response = await served.http.get(
        "/events", params={"topics": f"charger:{ids[0]}"}, headers=served.keys["rival"]
    )
    assert response.status_code == 404


async def test_overflow_sends_resync_and_keyed_events_coalesce(served: Served) -> None:
    hub = served.database.live
    org = served.orgs["acme"]
    hub.queue_limit = 3
    async with served.stream("commands") as live:
        # Published in one go: the stream cannot drain in between.
        for n in range(3):
            hub.publish(LiveEvent(org, "commands", "command", {"n": n, "at": "x"}, key="same"))
        await live.wait_for(lambda s: s.of("command"))
        assert [e["n"] for e in live.of("command")] == [2]  # the latest state only
        for n in range(10):
            hub.publish(LiveEvent(org, "commands", "command", {"n": 100 + n, "at": "x"}))
        hub.publish(LiveEvent(org, "commands", "command", {"n": 999, "at": "x"}))
        await live.wait_for(lambda s: any(e["n"] == 999 for e in s.of("command")))
    kinds = [e.type for e in live.events]
    assert "resync" in kinds
    after = kinds.index("resync")
    assert [e.data["n"] for e in live.events[after + 1 :]][-1] == 999
    assert len(live.events) <= 1 + 1 + 3  # the coalesced one, the resync, a bounded queue


async def test_auth_and_topics(served: Served) -> None:
    http = served.http
    assert (await http.get("/events", params={"topics": "fleet"})).status_code == 401
    bad = {"Authorization": "Bearer vl_nope"}
    assert (await http.get("/events", params={"topics": "fleet"}, headers=bad)).status_code == 401
    admin = served.keys["admin"]
    response = await http.get("/events", params={"topics": "fleet,nope"}, headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "topics"]
    response = await http.get("/events", headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "topics"]
    response = await http.get("/events", params={"topics": "charger:dep-nope"}, headers=admin)
    assert response.status_code == 404
    # A viewer reads the live channel (it changes nothing).
    async with served.stream("fleet,cpos", who="viewer") as viewer:
        await viewer.wait_for(lambda s: "keep-alive" in s.comments)


async def test_streams_end_at_server_shutdown(served: Served) -> None:
    async with served.stream("fleet") as live:
        served.server.should_exit = True
        await asyncio.wait_for(asyncio.shield(served.task), 10)
        await live.wait_for(lambda s: s.ended, timeout=5)
