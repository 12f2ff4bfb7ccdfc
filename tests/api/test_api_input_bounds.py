"""Issue 10's bounds: numbers past their OCPP type or the charger's physics, malformed CSMS
URLs and identity prefixes that could collide are 4xx naming the field; nothing is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from voltlab.store.db import Database
from voltlab.store.models import Charger, Command, Location

from .bad_input_helpers import (
    CSMS,
    INT32_MAX,
    assert_names,
    command,
    count_rows,
    first_charger_id,
)
from .conftest import FakeFleet, Headers, LocationMaker


@pytest.fixture
async def charger_id(make_location: LocationMaker) -> str:
    return await first_charger_id(make_location)


# --- numbers: OCPP types and the charger's physics -----------------------------------------------

NUMBER_CASES = [
    (
        "local-auth-list",
        {"list_version": 10**30, "update_type": "Full", "entries": []},
        "list_version",
    ),
    (
        "local-auth-list",
        {"list_version": INT32_MAX + 1, "update_type": "Full", "entries": []},
        "list_version",
    ),
    (
        "start-session",
        {"id_tag": "T", "connector_id": 1, "duration_seconds": 10**30},
        "duration_seconds",
    ),
    (
        "start-session",
        {"id_tag": "T", "connector_id": 1, "duration_seconds": 7 * 86400 + 1},
        "duration_seconds",
    ),
    (
        "start-session",
        {"id_tag": "T", "connector_id": 1, "target_energy_kwh": 1e300},
        "target_energy_kwh",
    ),
    (
        "start-session",
        {"id_tag": "T", "connector_id": 1, "target_energy_kwh": 95.01},
        "target_energy_kwh",
    ),
    ("start-session", {"id_tag": "T", "connector_id": INT32_MAX + 1}, "connector_id"),
    ("ev-requests-energy", {"connector_id": 1, "power_kw": 1e300}, "power_kw"),
    ("ev-requests-energy", {"connector_id": 1, "power_kw": 0}, "power_kw"),
    ("power-update", {"connector_id": 1, "power_kw": 150.5}, "power_kw"),
    ("power-update", {"connector_id": 1, "soc_percent": 1e300}, "soc_percent"),
    ("plug-connector", {"connector_id": 1, "soc_percent": 100.01}, "soc_percent"),
    ("inject-fault", {"connector_id": 10**30, "fault_type": "Other"}, "connector_id"),
]


@pytest.mark.parametrize(("slug", "event", "field"), NUMBER_CASES)
async def test_numbers_past_their_bounds_are_422(
    client: httpx.AsyncClient,
    admin: Headers,
    database: Database,
    charger_id: str,
    slug: str,
    event: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(
        f"/ocpp/commands/{slug}", json=command(charger_id, event), headers=admin
    )
    assert_names(response, ["body", "event", field])
    assert await count_rows(database, Command) == 0


async def test_numbers_at_their_bounds_are_accepted(
    client: httpx.AsyncClient, admin: Headers, charger_id: str
) -> None:
    for slug, event in [
        ("local-auth-list", {"list_version": INT32_MAX, "update_type": "Full", "entries": []}),
        ("start-session", {"id_tag": "T", "connector_id": 1, "duration_seconds": 7 * 86400}),
        ("start-session", {"id_tag": "T", "connector_id": 1, "target_energy_kwh": 95}),
        ("power-update", {"connector_id": 1, "power_kw": 22}),  # ac-22kw-2c's rating
    ]:
        response = await client.post(
            f"/ocpp/commands/{slug}", json=command(charger_id, event), headers=admin
        )
        assert response.status_code == 202, (slug, response.text)
        assert response.json()["failed"] == []


async def test_power_above_a_connector_rating_fails_that_charger(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
) -> None:
    location = await make_location(identity_prefix="MIX-", chargers=2)  # ac-22kw-2c: 22 kW
    small = await client.post(
        "/ocpp/chargers",
        json={"identity": "MIX-HOME", "location_id": location["location_id"], "model": "ac-7kw-1c"},
        headers=admin,
    )
    assert small.status_code == 201, small.text
    event = {"connector_id": 1, "power_kw": 11}
    response = await client.post(
        "/ocpp/commands/ev-requests-energy",
        json={"target": {"location_id": location["location_id"]}, "event": event},
        headers=admin,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["queued_count"], body["failed_count"]) == (2, 1)
    failure = body["failed"][0]
    assert failure["identity"] == "MIX-HOME"
    assert failure["error"]["code"] == "power_above_rating"
    assert "power_kw" in failure["error"]["message"] and "7.4 kW" in failure["error"]["message"]
    assert len(fleet.submitted) == 2


# --- csms_url ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ws://127.0.0.1:99999/ocpp", "port"),
        ("ws://127.0.0.1:0/ocpp", "port"),
        ("ws://127.0.0.1:-1/ocpp", "port"),
        ("ws://127.0.0.1:/ocpp", "port"),
        ("ws://" + "a" * 64 + ".example/ocpp", "label"),
        ("ws://" + ".".join(["a" * 60] * 5) + "/ocpp", "253"),
        ("ws://-bad-.example/ocpp", "label"),
        ("ws://300.1.2.3/ocpp", "IPv4"),
        ("ws://::1/ocpp", "brackets"),
        ("ws://[::g]:9000/ocpp", "IPv6"),
        ("wss://user:secret@csms.example/ocpp", "security.password"),
        ("ws://user@csms.example/ocpp", "security.password"),
        ("ws://csms.example/ocpp#frag", "fragment"),
        ("http://csms.example/ocpp", "ws://"),
    ],
)
async def test_bad_csms_urls_are_422(
    client: httpx.AsyncClient, admin: Headers, database: Database, url: str, words: str
) -> None:
    for path, body in (
        ("/ocpp/locations", {"name": "n", "csms_url": url}),
        ("/ocpp/chargers", {"identity": "U-1", "csms_url": url}),
    ):
        response = await client.post(path, json=body, headers=admin)
        assert words in assert_names(response, ["body", "csms_url"])
    assert await count_rows(database, Location) == 0
    assert await count_rows(database, Charger) == 0


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:1/ocpp",
        "wss://csms.example:65535/ocpp/v16",
        "ws://[::1]:9000/ocpp",
        "ws://csms_backend:9000/ocpp",
        "ws://" + "a" * 63 + ".example/ocpp",
        "ws://localhost/ocpp?tenant=1",
    ],
)
async def test_good_csms_urls_are_accepted(
    client: httpx.AsyncClient, admin: Headers, url: str
) -> None:
    response = await client.post(
        "/ocpp/chargers", json={"identity": "G-1", "csms_url": url}, headers=admin
    )
    assert response.status_code == 201, response.text
    assert response.json()["csms_url"] == url


# --- identity prefixes ---------------------------------------------------------------------------


async def test_derived_prefixes_never_collide(
    client: httpx.AsyncClient, admin: Headers, database: Database
) -> None:
    made = []
    for name in ("!!!", "???", "€€€", "Depot", "depot", "DEPOT!"):
        response = await client.post(
            "/ocpp/locations", json={"name": name, "csms_url": CSMS, "chargers": 2}, headers=admin
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    prefixes = [location["identity_prefix"] for location in made]
    assert prefixes[0] == "CP-" and prefixes[3] == "DEPOT-"
    assert len(set(prefixes)) == len(prefixes)
    for location in made[1:3]:
        suffix = location["location_id"].removeprefix("loc-")[-6:].upper()
        assert location["identity_prefix"] == f"CP-{suffix}-"
    with database.session() as session:
        identities = list(session.scalars(select(Charger.identity)))
    assert len(identities) == len(set(identities)) == 12


async def test_a_long_derived_prefix_with_suffix_still_fits(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    name = "Very Long Depot Name " * 5
    for _ in range(2):
        response = await client.post(
            "/ocpp/locations",
            json={"name": name, "csms_url": CSMS, "chargers": 1000, "auto_start": False},
            headers=admin,
        )
        assert response.status_code == 201, response.text
        identities = [c["identity"] for c in response.json()["chargers"]]
        assert max(len(identity) for identity in identities) <= 48


async def test_an_explicit_colliding_prefix_is_still_409(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> None:
    await make_location(identity_prefix="CP-", chargers=1)
    body = {"name": "x", "csms_url": CSMS, "identity_prefix": "CP-", "chargers": 1}
    response = await client.post("/ocpp/locations", json=body, headers=admin)
    assert response.status_code == 409
    assert "CP-001" in response.json()["detail"]


async def test_credentials_stored_before_the_check_are_never_shown(
    client: httpx.AsyncClient, admin: Headers, keys: dict[str, Headers], database: Database
) -> None:
    created = await client.post(
        "/ocpp/chargers", json={"identity": "OLD-1", "csms_url": CSMS}, headers=admin
    )
    charger_id = created.json()["charger_id"]
    with database.session() as session:  # as an older version stored it
        row = session.get(Charger, charger_id)
        assert row is not None
        row.csms_url = "wss://user:secret@csms.example:9000/ocpp"
    for role in ("admin", "viewer"):
        shown = await client.get(f"/ocpp/chargers/{charger_id}", headers=keys[role])
        assert shown.json()["csms_url"] == "wss://***@csms.example:9000/ocpp"
        assert "secret" not in shown.text
