"""The OCPPLAB SDK's `/evcharger/*` routes over HTTP on SQLite and PostgreSQL, with the recording
fake fleet: left out of the Gateway schema yet served, auth and tenancy as on `/ocpp/*`, one
command path with the `/ocpp/commands` endpoints, and stages, events, diagnostics and logs read
from stored frames. The SDK itself drives a real server in tests/e2e/test_ocpplab_sdk*.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from voltlab.store.db import Database
from voltlab.store.models import Frame

from .conftest import FakeFleet, Headers

CSMS = "ws://127.0.0.1:9/ocpp"


def station(identity: str, **extra: Any) -> dict[str, Any]:
    return {
        "identity": identity,
        "brand_slug": "voltlab",
        "model": "ac-22kw-2c",
        "connector_type": "IEC62196Type2",
        "ws_url": CSMS,
    } | extra


def place(*chargers: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "depot",
        "address": "1 rue",
        "city": "Paris",
        "country": "FR",
        "coordinates": {"lat": 48.8, "lng": 2.3},
        "chargers": list(chargers),
    }


async def test_served_but_left_out_of_the_gateway_schema(
    app: FastAPI, client: httpx.AsyncClient, admin: Headers
) -> None:
    paths = app.openapi()["paths"]
    assert [path for path in paths if path.startswith(("/evcharger", "/health/"))] == []
    assert (await client.get("/evcharger/catalog", headers=admin)).status_code == 200
    assert (await client.get("/health/live")).json()["status"] == "ok"
    ready = (await client.get("/health/ready")).json()
    assert ready["mqtt"] == "not_used" and ready["status"] == "ok"


async def test_auth_roles_and_tenancy(
    client: httpx.AsyncClient, keys: dict[str, Headers], fleet: FakeFleet
) -> None:
    assert (await client.get("/evcharger/catalog")).status_code == 401
    body = place(station("TEN-1"))
    assert (
        await client.post("/evcharger/location", json=body, headers=keys["viewer"])
    ).status_code == 403
    created = await client.post("/evcharger/location", json=body, headers=keys["admin"])
    assert created.status_code == 202, created.text
    location_id = created.json()["location_id"]
    charger_id = created.json()["deployments"][0]["deployment_id"]
    assert [spec.identity for spec in fleet.started] == ["TEN-1"]
    assert created.json()["not_stored"] == ["address", "city", "country", "coordinates"]

    rival = keys["rival"]
    plug = {"target": {"deployment_id": charger_id}}
    for target in (
        {"deployment_id": charger_id},
        {"identity": "TEN-1"},
        {"location_id": location_id},
    ):
        answer = await client.post(
            "/evcharger/commands/plug-connector", json={"target": target}, headers=rival
        )
        assert answer.status_code == 404, answer.text
    status = await client.get(
        "/evcharger/deployment-runtime-ops/status", params={"identity": "TEN-1"}, headers=rival
    )
    assert status.status_code == 404
    assert (await client.get("/evcharger/deployment-runtime-ops/status", headers=rival)).json() == {
        "items": []
    }
    logs = await client.get("/evcharger/logs", params={"identity": "TEN-1"}, headers=rival)
    assert logs.json()["data"] == [] and logs.json()["total"] == 0
    gone = await client.delete(
        "/evcharger/location", params={"location_id": location_id}, headers=rival
    )
    assert gone.status_code == 404
    # An identity the org already has: 409, and neither the location nor a charger is stored.
    taken = await client.post(
        "/evcharger/location", json=place(station("NEW-1"), station("TEN-1")), headers=keys["admin"]
    )
    assert taken.status_code == 409, taken.text
    assert len((await client.get("/ocpp/locations", headers=keys["admin"])).json()["items"]) == 1
    assert len((await client.get("/ocpp/chargers", headers=keys["admin"])).json()["items"]) == 1
    queued = await client.post(
        "/evcharger/commands/plug-connector", json=plug, headers=keys["admin"]
    )
    command_id = queued.json()["results"][0]["command"]["id"]
    assert (await client.get(f"/evcharger/commands/{command_id}", headers=rival)).status_code == 404
    listed = await client.get("/evcharger/commands", params={"identity": "TEN-1"}, headers=rival)
    assert listed.json() == {"data": []}
    assert fleet.removed == []


async def test_one_command_path_with_the_seed_routes(
    client: httpx.AsyncClient, admin: Headers, fleet: FakeFleet
) -> None:
    created = await client.post(
        "/evcharger/location", json=place(station("ONE-1"), station("ONE-2")), headers=admin
    )
    charger_id = created.json()["deployments"][0]["deployment_id"]
    sdk = await client.post(
        "/evcharger/commands/power-update",
        json={"target": {"identity": "ONE-1"}, "payload": {"evse_id": 2, "power_w": 7400}},
        headers=admin,
    )
    seed = await client.post(
        "/ocpp/commands/power-update",
        json={"target": {"charger_id": charger_id}, "event": {"connector_id": 2, "power_kw": 7.4}},
        headers=admin,
    )
    assert sdk.status_code == seed.status_code == 202
    ids = [answer.json()["results"][0]["command"]["id"] for answer in (sdk, seed)]
    assert fleet.submitted == ids
    records = [(await client.get(f"/ocpp/commands/{i}", headers=admin)).json() for i in ids]
    same = ("charger_id", "identity", "location_id", "event_type", "payload", "status")
    assert [{key: r[key] for key in same} for r in records] == [
        {
            "charger_id": charger_id,
            "identity": "ONE-1",
            "location_id": created.json()["location_id"],
            "event_type": "power_update",
            "payload": {"connector_id": 2, "power_kw": 7.4},
            "status": "queued",
        }
    ] * 2
    sdk_view = (await client.get(f"/evcharger/commands/{ids[0]}", headers=admin)).json()
    assert (sdk_view["status"], sdk_view["voltlab_status"], sdk_view["deployment_id"]) == (
        "received",
        "queued",
        charger_id,
    )

    # A connector the model lacks fails for that charger, in the SDK's words.
    location_id = created.json()["location_id"]
    answer = await client.post(
        "/evcharger/commands/plug-connector",
        json={"target": {"location_id": location_id}, "payload": {"connector_id": 3}},
        headers=admin,
    )
    body = answer.json()
    assert (body["targeted_count"], body["queued_count"], body["failed_count"]) == (2, 0, 2)
    assert body["failed"][0]["code"] == "unknown_connector"
    assert isinstance(body["failed"][0]["error"], str)

    # A local list entry without a status is Accepted; an omitted connector is 1.
    answer = await client.post(
        "/evcharger/commands/local-auth-list",
        json={
            "target": {"identity": "ONE-2"},
            "payload": {"list_version": 2, "update_type": "Full", "entries": [{"id_tag": "A"}]},
        },
        headers=admin,
    )
    event = answer.json()["results"][0]["command"]["payload"]
    assert event["entries"] == [{"id_tag": "A", "status": "Accepted"}]
    answer = await client.post(
        "/evcharger/commands/stop-session", json={"target": {"identity": "ONE-2"}}, headers=admin
    )
    assert answer.json()["results"][0]["command"]["payload"] == {"connector_id": 1}
    fault = await client.post(
        "/evcharger/commands/inject-fault",
        json={"target": {"identity": "ONE-2"}, "payload": {"fault_type": "OverVoltage"}},
        headers=admin,
    )
    assert fault.json()["results"][0]["command"]["payload"] == {
        "connector_id": 0,
        "fault_type": "OverVoltage",
    }


def _frames(database: Database, charger_id: str, at: datetime) -> None:
    """A rejected boot, then an accepted one, a StatusNotification and a CALLERROR."""
    texts = [
        ("out", '[2,"b1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]'),
        ("in", '[3,"b1",{"status":"Rejected","currentTime":"2026-01-01T00:00:00Z","interval":1}]'),
        ("out", '[2,"b2","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]'),
        (
            "in",
            '[3,"b2",{"status":"Accepted","currentTime":"2026-01-01T00:00:01Z","interval":300}]',
        ),
        ("out", '[2,"s1","StatusNotification",{"connectorId":1,"status":"Available"}]'),
        ("in", '[4,"s1","InternalError","boom",{}]'),
    ]
    with database.session() as session:
        for index, (direction, text) in enumerate(texts):
            ts = at + timedelta(seconds=index)
            session.add(Frame(charger_id=charger_id, ts=ts, direction=direction, frame=text))


async def test_stages_events_diagnostics_and_logs_from_the_frame_log(
    client: httpx.AsyncClient, admin: Headers, fleet: FakeFleet, database: Database
) -> None:
    created = await client.post("/evcharger/location", json=place(station("LOG-1")), headers=admin)
    charger_id = created.json()["deployments"][0]["deployment_id"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    _frames(database, charger_id, start)
    fleet.live[charger_id] |= {"connection": "connected", "registration": "Accepted"}
    ops = "/evcharger/deployment-runtime-ops"

    status = await client.get(
        f"{ops}/status", params={"identity": "LOG-1", "events": "true"}, headers=admin
    )
    item = status.json()["items"][0]
    assert (item["stage"], item["outcome"], item["attempt"]) == ("online", "succeeded", 2)
    assert item["since"].startswith((start + timedelta(seconds=3)).isoformat()[:19])
    assert [(e["attempt"], e["stage"], e["outcome"], e["code"]) for e in item["events"]] == [
        (1, "registering", "in_progress", None),
        (1, "registering", "failed", "csms_rejected"),
        (2, "registering", "in_progress", None),
        (2, "online", "recovered", None),
    ]
    alerts = (await client.get(f"{ops}/events", params={"outcome": "alerts"}, headers=admin)).json()
    assert [(e["attempt"], e["outcome"]) for e in alerts["events"]] == [
        (2, "recovered"),
        (1, "failed"),
    ]
    since = (start + timedelta(seconds=1, milliseconds=500)).isoformat()
    later = (await client.get(f"{ops}/events", params={"since": since}, headers=admin)).json()
    assert [e["attempt"] for e in later["events"]] == [2, 2]

    fleet.live[charger_id] |= {"registration": "Rejected"}
    rejected = (await client.get(f"{ops}/status", headers=admin)).json()["items"][0]
    assert (rejected["stage"], rejected["outcome"], rejected["code"]) == (
        "registering",
        "failed",
        "csms_rejected",
    )

    window = {
        "deployment_id": charger_id,
        "since": (start + timedelta(seconds=2)).isoformat(),
        "until": (start + timedelta(seconds=4)).isoformat(),
    }
    diagnosis = (await client.get(f"{ops}/diagnostics", params=window, headers=admin)).json()
    assert [line["text"][:12] for line in diagnosis["logs"]["lines"]] == [
        'out [2,"b2",',
        'in [3,"b2",{',
        'out [2,"s1",',
    ]
    assert diagnosis["verdict"]["code"] == "csms_rejected"
    errors = (
        await client.get(
            f"{ops}/diagnostics",
            params={"deployment_id": charger_id, "level": "error"},
            headers=admin,
        )
    ).json()
    assert [line["level"] for line in errors["logs"]["lines"]] == ["error"]
    year_one = {"deployment_id": charger_id, "until": "0001-01-01T00:05:00Z"}
    assert (
        await client.get(f"{ops}/diagnostics", params=year_one, headers=admin)
    ).status_code == 422
    too_long = window | {"since": (start - timedelta(hours=7)).isoformat()}
    assert (
        await client.get(f"{ops}/diagnostics", params=too_long, headers=admin)
    ).status_code == 422

    page = (
        await client.get(
            "/evcharger/logs", params={"identity": "LOG-1", "page_size": 4}, headers=admin
        )
    ).json()
    assert (page["total"], page["limit"], page["offset"]) == (6, 4, 0)
    assert [(e["direction"], e["action"], e["message_type"]) for e in page["data"]] == [
        ("in", "StatusNotification", "CALLERROR"),
        ("out", "StatusNotification", "CALL"),
        ("in", "BootNotification", "CALLRESULT"),
        ("out", "BootNotification", "CALL"),
    ]
    assert (
        await client.delete("/evcharger/logs", params={"identity": "LOG-1"}, headers=admin)
    ).status_code == 204
    empty = (
        await client.get("/evcharger/logs", params={"identity": "LOG-1"}, headers=admin)
    ).json()
    assert empty["total"] == 0


async def test_a_nul_in_a_query_is_a_422(client: httpx.AsyncClient, admin: Headers) -> None:
    """PostgreSQL's text cannot hold NUL: a query naming a charger or location with one is
    refused before it reaches the database (found by test_api_ocpplab_fuzz.py)."""
    reads = [
        ("/evcharger/logs", {"identity": "\x00"}),
        ("/evcharger/commands", {"identity": "\x00"}),
        ("/evcharger/commands", {"deployment_id": "a\x00"}),
        ("/evcharger/deployment-runtime-ops/status", {"identity": "\x00"}),
        ("/evcharger/deployment-runtime-ops/events", {"identity": "\x00"}),
        ("/evcharger/deployment-runtime-ops/diagnostics", {"deployment_id": "\x00"}),
    ]
    for path, query in reads:
        assert (await client.get(path, params=query, headers=admin)).status_code == 422, path
    removals = [
        ("/evcharger/logs", {"identity": "\x00"}),
        ("/evcharger/location", {"location_id": "\x00"}),
        ("/evcharger/deployment", {"identity": "\x00"}),
    ]
    for path, query in removals:
        assert (await client.delete(path, params=query, headers=admin)).status_code == 422, path
