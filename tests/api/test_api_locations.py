"""Locations: creation (the documented body), defaults, validation, listing, deletion."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from .conftest import FakeFleet, Headers, LocationMaker, collect_pages, error_locs

CSMS = "ws://127.0.0.1:9000/ocpp"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def test_create_location_as_documented(
    client: httpx.AsyncClient, admin: Headers, fleet: FakeFleet
) -> None:
    body = {
        "name": "depot",
        "csms_url": CSMS,
        "ocpp_version": "ocpp1.6",
        "chargers": 3,
        "model": "ac-22kw-2c",
        "identity_prefix": "CP-DEPOT-",
        "security": {"profile": 1, "password": "secret"},
        "auto_start": True,
    }
    response = await client.post("/ocpp/locations", json=body, headers=admin)
    assert response.status_code == 201, response.text
    location = response.json()
    assert re.fullmatch(r"loc-[0-9a-f]{12}", location["location_id"])
    assert location["name"] == "depot"
    assert location["csms_url"] == CSMS
    assert location["ocpp_version"] == "ocpp1.6"
    assert location["model"] == "ac-22kw-2c"
    chargers = location["chargers"]
    assert [c["identity"] for c in chargers] == ["CP-DEPOT-001", "CP-DEPOT-002", "CP-DEPOT-003"]
    for charger in chargers:
        assert re.fullmatch(r"dep-[0-9a-f]{12}", charger["charger_id"])
        assert charger["location_id"] == location["location_id"]
        assert charger["security"] == {
            "profile": 1,
            "password_set": True,
            "ca_set": False,
            "client_certificate_set": False,
            "tls_csms_url": None,
        }
        assert charger["desired_running"] is True
        assert charger["connection"] == "connecting"  # live state from the fleet
        assert charger["vendor"] == "Voltlab"
        assert charger["firmware_version"] == "2.1.0"
        assert RFC3339_Z.match(charger["created_at"])
    assert "secret" not in response.text
    started = {spec.charger_id: spec for spec in fleet.started}
    assert set(started) == {c["charger_id"] for c in chargers}
    spec = started[chargers[0]["charger_id"]]
    assert spec.identity == "CP-DEPOT-001"
    assert spec.csms_url == CSMS
    assert spec.security == {"profile": 1, "password": "secret"}
    assert spec.location_id == location["location_id"]


async def test_location_defaults(
    client: httpx.AsyncClient, admin: Headers, fleet: FakeFleet
) -> None:
    body = {"name": "Depot North", "csms_url": CSMS + "/", "auto_start": False}
    response = await client.post("/ocpp/locations", json=body, headers=admin)
    assert response.status_code == 201, response.text
    location = response.json()
    assert location["csms_url"] == CSMS  # trailing slash dropped: identity is appended
    assert location["model"] == "ac-22kw-2c"
    assert location["ocpp_version"] == "ocpp1.6"
    assert location["security"] is None
    (charger,) = location["chargers"]
    assert charger["identity"] == "DEPOT-NORTH-001"
    assert charger["desired_running"] is False
    assert charger["connection"] == "stopped"
    assert charger["registration"] is None
    assert charger["faults"] == []
    assert [c["connector_id"] for c in charger["connectors"]] == [1, 2]
    assert all(c["status"] is None for c in charger["connectors"])
    assert fleet.started == []


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"csms_url": "http://127.0.0.1:9000"}, ["body", "csms_url"]),
        ({"csms_url": "ws://"}, ["body", "csms_url"]),
        ({"ocpp_version": "ocpp1.5"}, ["body", "ocpp_version"]),
        ({"model": "no-such-model"}, ["body", "model"]),
        ({"chargers": 0}, ["body", "chargers"]),
        ({"chargers": 1001}, ["body", "chargers"]),
        ({"security": {"profile": 1}}, ["body", "security", "password"]),
        ({"security": {"profile": 2, "password": ""}}, ["body", "security", "password"]),
        ({"security": {"profile": 4}}, ["body", "security", "profile"]),
        ({"identity_prefix": "CP/"}, ["body", "identity_prefix"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "bad\u0000name"}, ["body", "name"]),
        ({"colour": "red"}, ["body", "colour"]),
    ],
)
async def test_location_validation(
    client: httpx.AsyncClient, admin: Headers, patch: dict[str, Any], loc: list[Any]
) -> None:
    body = {"name": "depot", "csms_url": CSMS, "chargers": 1} | patch
    response = await client.post("/ocpp/locations", json=body, headers=admin)
    assert loc in error_locs(response)


async def test_malformed_json_is_422(client: httpx.AsyncClient, admin: Headers) -> None:
    headers = {**admin, "Content-Type": "application/json"}
    response = await client.post("/ocpp/locations", content=b'{"name": ', headers=headers)
    assert response.status_code == 422
    response = await client.post("/ocpp/locations", json=[1, 2], headers=admin)
    assert response.status_code == 422


async def test_security_profile_zero_needs_no_password(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    body = {"name": "open", "csms_url": CSMS, "security": {"profile": 0}}
    response = await client.post("/ocpp/locations", json=body, headers=admin)
    assert response.status_code == 201
    assert response.json()["chargers"][0]["security"] == {
        "profile": 0,
        "password_set": False,
        "ca_set": False,
        "client_certificate_set": False,
        "tls_csms_url": None,
    }


async def test_identity_collision_is_409(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> None:
    await make_location(identity_prefix="CP-X-", chargers=3)
    body = {"name": "again", "csms_url": CSMS, "identity_prefix": "CP-X-", "chargers": 1}
    response = await client.post("/ocpp/locations", json=body, headers=admin)
    assert response.status_code == 409
    assert "CP-X-001" in response.json()["detail"]
    single = {"identity": "CP-X-002", "csms_url": CSMS}
    assert (await client.post("/ocpp/chargers", json=single, headers=admin)).status_code == 409


async def test_same_identity_in_two_orgs_is_fine(
    make_location: LocationMaker, keys: dict[str, Headers]
) -> None:
    await make_location(identity_prefix="SHARED-")
    await make_location(headers=keys["rival"], identity_prefix="SHARED-")


async def test_location_listing_and_detail(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> None:
    made = [await make_location(identity_prefix=f"L{i}-", chargers=i + 1) for i in range(3)]
    items, pages = await collect_pages(client, "/ocpp/locations", admin, limit=2)
    assert pages == 2
    assert [loc["location_id"] for loc in items] == [loc["location_id"] for loc in made]
    assert [loc["charger_count"] for loc in items] == [1, 2, 3]
    assert "chargers" not in items[0]
    detail = await client.get(f"/ocpp/locations/{made[2]['location_id']}", headers=admin)
    assert detail.status_code == 200
    assert [c["identity"] for c in detail.json()["chargers"]] == ["L2-001", "L2-002", "L2-003"]


async def test_delete_location_removes_its_chargers(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker, fleet: FakeFleet
) -> None:
    location = await make_location(chargers=3)
    keep = await make_location(identity_prefix="KEEP-", chargers=1)
    location_id = location["location_id"]
    assert (await client.delete(f"/ocpp/locations/{location_id}", headers=admin)).status_code == 204
    assert sorted(fleet.removed) == sorted(c["charger_id"] for c in location["chargers"])
    assert (await client.get(f"/ocpp/locations/{location_id}", headers=admin)).status_code == 404
    remaining = (await client.get("/ocpp/chargers", headers=admin)).json()["items"]
    assert [c["charger_id"] for c in remaining] == [keep["chargers"][0]["charger_id"]]
