"""Chargers: creation, pagination, live state, start/stop/delete and the frame log."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from voltlab.store.db import Database
from voltlab.store.models import Charger, Frame

from .conftest import FakeFleet, Headers, LocationMaker, collect_pages, error_locs

CSMS = "ws://127.0.0.1:9000/ocpp"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def test_models_catalog(client: httpx.AsyncClient, admin: Headers) -> None:
    response = await client.get("/ocpp/models", headers=admin)
    assert response.status_code == 200
    slugs = {model["slug"] for model in response.json()}
    assert {"ac-22kw-2c", "dc-50kw-ccs-chademo"} <= slugs
    model = next(m for m in response.json() if m["slug"] == "ac-22kw-2c")
    assert model["connectors"][0]["connector_id"] == 1


async def test_create_single_charger(
    client: httpx.AsyncClient, admin: Headers, fleet: FakeFleet
) -> None:
    body = {
        "identity": "SOLO-1",
        "csms_url": "wss://csms.example/ocpp",
        "ocpp_version": "ocpp1.6",
        "model": "dc-50kw-ccs-chademo",
        "security": {"profile": 2, "password": "0123456789abcdef"},
    }
    response = await client.post("/ocpp/chargers", json=body, headers=admin)
    assert response.status_code == 201, response.text
    charger = response.json()
    assert charger["identity"] == "SOLO-1"
    assert charger["location_id"] is None
    assert charger["ocpp_version"] == "ocpp1.6"
    assert charger["model"] == "dc-50kw-ccs-chademo"
    assert charger["security"] == {
        "profile": 2,
        "password_set": True,
        "ca_set": False,
        "client_certificate_set": False,
        "tls_csms_url": None,
    }
    assert [spec.identity for spec in fleet.started] == ["SOLO-1"]


async def test_charger_in_location_inherits_its_settings(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> None:
    location = await make_location(
        ocpp_version="ocpp1.6", model="ac-7kw-1c", security={"profile": 1, "password": "pw"}
    )
    body = {"identity": "ADDED-1", "location_id": location["location_id"], "auto_start": False}
    response = await client.post("/ocpp/chargers", json=body, headers=admin)
    assert response.status_code == 201, response.text
    charger = response.json()
    assert charger["location_id"] == location["location_id"]
    assert charger["csms_url"] == CSMS
    assert charger["ocpp_version"] == "ocpp1.6"
    assert charger["model"] == "ac-7kw-1c"
    assert charger["security"] == {
        "profile": 1,
        "password_set": True,
        "ca_set": False,
        "client_certificate_set": False,
        "tls_csms_url": None,
    }


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"identity": "NO-URL"}, ["body", "csms_url"]),
        ({"identity": "has space", "csms_url": CSMS}, ["body", "identity"]),
        ({"identity": "a:b", "csms_url": CSMS}, ["body", "identity"]),
        ({"identity": "X" * 49, "csms_url": CSMS}, ["body", "identity"]),
        ({"csms_url": CSMS}, ["body", "identity"]),
        ({"identity": "OK", "csms_url": "tcp://x"}, ["body", "csms_url"]),
    ],
)
async def test_charger_validation(
    client: httpx.AsyncClient, admin: Headers, body: dict[str, Any], loc: list[Any]
) -> None:
    response = await client.post("/ocpp/chargers", json=body, headers=admin)
    assert loc in error_locs(response)


async def test_charger_with_unknown_location_is_404(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    body = {"identity": "LOST", "csms_url": CSMS, "location_id": "loc-000000000000"}
    assert (await client.post("/ocpp/chargers", json=body, headers=admin)).status_code == 404


async def test_charger_pagination(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> None:
    first = await make_location(identity_prefix="A-", chargers=5)
    await make_location(identity_prefix="B-", chargers=2)
    items, pages = await collect_pages(client, "/ocpp/chargers", admin, limit=3)
    assert pages == 3
    assert [c["identity"] for c in items] == [
        "A-001",
        "A-002",
        "A-003",
        "A-004",
        "A-005",
        "B-001",
        "B-002",
    ]
    items, pages = await collect_pages(
        client, "/ocpp/chargers", admin, limit=2, location_id=first["location_id"]
    )
    assert [c["identity"] for c in items] == ["A-001", "A-002", "A-003", "A-004", "A-005"]
    assert pages == 3
    response = await client.get("/ocpp/chargers", params={"limit": 10}, headers=admin)
    assert response.json()["next_cursor"] is None
    assert len(response.json()["items"]) == 7


async def test_default_page_size_is_50(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> None:
    await make_location(chargers=60, auto_start=False)
    page = (await client.get("/ocpp/chargers", headers=admin)).json()
    assert len(page["items"]) == 50 and page["next_cursor"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 501}, ["query", "limit"]),
        ({"cursor": "garbage!"}, ["query", "cursor"]),
        ({"cursor": "WyJub3QtYS1kYXRlIiwiYSJd"}, ["query", "cursor"]),
    ],
)
async def test_bad_paging_is_422(
    client: httpx.AsyncClient, admin: Headers, params: dict[str, Any], loc: list[Any]
) -> None:
    for path in ("/ocpp/chargers", "/ocpp/locations", "/ocpp/commands"):
        assert loc in error_locs(await client.get(path, params=params, headers=admin))


async def test_unknown_location_filter_is_404(client: httpx.AsyncClient, admin: Headers) -> None:
    response = await client.get(
        "/ocpp/chargers", params={"location_id": "loc-000000000000"}, headers=admin
    )
    assert response.status_code == 404


async def test_get_charger_merges_live_state(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker, fleet: FakeFleet
) -> None:
    charger = (await make_location(chargers=1))["chargers"][0]
    fleet.live[charger["charger_id"]] = {
        "connection": "connected",
        "registration": "Accepted",
        "connectors": [{"connector_id": 1, "status": "Charging", "power_w": 11000}],
        "faults": [],
        "identity": "SPOOFED",  # stored fields win
    }
    response = await client.get(f"/ocpp/chargers/{charger['charger_id']}", headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert body["connection"] == "connected"
    assert body["registration"] == "Accepted"
    assert body["connectors"][0]["status"] == "Charging"
    assert body["identity"] == charger["identity"]


async def test_idle_charger_shows_stored_connectors(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker, database: Database
) -> None:
    charger = (await make_location(chargers=1, auto_start=False))["chargers"][0]
    with database.session() as session:
        row = session.get(Charger, charger["charger_id"])
        assert row is not None
        row.state = {"connectors": [{"connector_id": 1, "status": "Finishing"}]}
    body = (await client.get(f"/ocpp/chargers/{charger['charger_id']}", headers=admin)).json()
    assert body["connection"] == "stopped"
    assert body["connectors"] == [{"connector_id": 1, "status": "Finishing"}]


async def test_start_and_stop(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker, fleet: FakeFleet
) -> None:
    charger = (await make_location(chargers=1, auto_start=False))["chargers"][0]
    charger_id = charger["charger_id"]
    started = await client.post(f"/ocpp/chargers/{charger_id}/start", headers=admin)
    assert started.status_code == 200
    assert started.json()["desired_running"] is True
    assert started.json()["connection"] == "connecting"
    assert [spec.charger_id for spec in fleet.started] == [charger_id]
    stopped = await client.post(f"/ocpp/chargers/{charger_id}/stop", headers=admin)
    assert stopped.status_code == 200
    assert stopped.json()["desired_running"] is False
    assert stopped.json()["connection"] == "stopped"
    assert fleet.stopped == [charger_id]
    again = await client.get(f"/ocpp/chargers/{charger_id}", headers=admin)
    assert again.json()["desired_running"] is False


async def test_delete_charger(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    database: Database,
) -> None:
    charger_id = (await make_location(chargers=1))["chargers"][0]["charger_id"]
    _add_frames(database, charger_id, 2)
    response = await client.delete(f"/ocpp/chargers/{charger_id}", headers=admin)
    assert response.status_code == 204
    assert fleet.removed == [charger_id]
    assert (await client.get(f"/ocpp/chargers/{charger_id}", headers=admin)).status_code == 404
    assert (await client.delete(f"/ocpp/chargers/{charger_id}", headers=admin)).status_code == 404
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Frame)) == 0


def _add_frames(database: Database, charger_id: str, count: int) -> list[int]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with database.session() as session:
        frames = [
            Frame(
                charger_id=charger_id,
                ts=start + timedelta(seconds=i),
                direction="out" if i % 2 == 0 else "in",
                frame=json.dumps([2, f"m{i}", "Heartbeat", {}]),
            )
            for i in range(count)
        ]
        session.add_all(frames)
        session.flush()
        return [frame.id for frame in frames]


async def test_message_log(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    database: Database,
) -> None:
    charger_id = (await make_location(chargers=2))["chargers"][0]["charger_id"]
    ids = _add_frames(database, charger_id, 5)
    with database.session() as session:
        session.add(Frame(charger_id=charger_id, ts=datetime.now(UTC), direction="in", frame="?"))
    path = f"/ocpp/chargers/{charger_id}/messages"
    response = await client.get(path, headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert fleet.flushes == 1
    items = body["items"]
    assert items[0]["frame"] == "?"  # not JSON: shown as it came
    assert [item["id"] for item in items[1:]] == list(reversed(ids))
    assert items[1] == {
        "id": ids[-1],
        "ts": "2025-01-01T00:00:04.000Z",
        "direction": "out",
        "frame": [2, "m4", "Heartbeat", {}],
    }
    assert body["next_before"] is None
    page = (await client.get(path, params={"limit": 2, "before": ids[3]}, headers=admin)).json()
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    assert page["next_before"] == ids[1]
    assert (await client.get(path, params={"limit": 1001}, headers=admin)).status_code == 422
    assert (await client.get(path, params={"before": "x"}, headers=admin)).status_code == 422


@pytest.mark.parametrize("version", ["ocpp1.5", "ocpp2.0", "2.0.1"])
async def test_unknown_ocpp_versions_are_refused_by_name(
    client: httpx.AsyncClient, admin: Headers, version: str
) -> None:
    body = {"identity": "V2-1", "csms_url": CSMS, "ocpp_version": version}
    response = await client.post("/ocpp/chargers", json=body, headers=admin)
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "ocpp_version"]


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"])
async def test_every_supported_version_is_accepted(
    client: httpx.AsyncClient, admin: Headers, version: str
) -> None:
    body = {"identity": f"V-{version}", "csms_url": CSMS, "ocpp_version": version}
    response = await client.post("/ocpp/chargers", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["ocpp_version"] == version


async def test_tls_csms_url_for_a_raised_profile(
    client: httpx.AsyncClient, admin: Headers, fleet: FakeFleet
) -> None:
    security = {"profile": 1, "password": "pw", "tls_csms_url": "wss://csms.example:8443/ocpp"}
    body = {"identity": "UP-1", "csms_url": CSMS, "ocpp_version": "ocpp1.6", "security": security}
    response = await client.post("/ocpp/chargers", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["security"]["tls_csms_url"] == "wss://csms.example:8443/ocpp"
    assert fleet.started[-1].security == security  # the station gets it as given
    for bad in ("ws://csms.example/ocpp", "wss://user:pw@csms.example/ocpp", "wss://a b"):
        body = {**body, "identity": "UP-2", "security": {**security, "tls_csms_url": bad}}
        refused = await client.post("/ocpp/chargers", json=body, headers=admin)
        assert refused.status_code == 422, (bad, refused.text)
        assert ["body", "security", "tls_csms_url"] in error_locs(refused)
