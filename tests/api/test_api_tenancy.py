"""Another org's ids answer 404 on every route that takes one, and lists stay per org."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import FakeFleet, Headers, LocationMaker


@pytest.fixture
async def acme_world(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> dict[str, str]:
    location = await make_location(identity_prefix="ACME-", chargers=2)
    charger_id = location["chargers"][0]["charger_id"]
    response = await client.post(
        "/ocpp/commands/plug-connector",
        json={"target": {"charger_id": charger_id}, "event": {"connector_id": 1}},
        headers=admin,
    )
    command_id = response.json()["results"][0]["command"]["id"]
    return {
        "location_id": location["location_id"],
        "charger_id": charger_id,
        "command_id": command_id,
    }


ID_ROUTES: list[tuple[str, str]] = [
    ("GET", "/ocpp/chargers/{charger_id}"),
    ("DELETE", "/ocpp/chargers/{charger_id}"),
    ("POST", "/ocpp/chargers/{charger_id}/start"),
    ("POST", "/ocpp/chargers/{charger_id}/stop"),
    ("GET", "/ocpp/chargers/{charger_id}/messages"),
    ("GET", "/ocpp/locations/{location_id}"),
    ("DELETE", "/ocpp/locations/{location_id}"),
    ("GET", "/ocpp/commands/{command_id}"),
    ("GET", "/ocpp/chargers?location_id={location_id}"),
]


@pytest.mark.parametrize(("method", "template"), ID_ROUTES)
async def test_foreign_ids_are_404(
    client: httpx.AsyncClient,
    keys: dict[str, Headers],
    acme_world: dict[str, str],
    fleet: FakeFleet,
    method: str,
    template: str,
) -> None:
    calls_before = (len(fleet.started), len(fleet.stopped), len(fleet.removed), fleet.flushes)
    response = await client.request(method, template.format(**acme_world), headers=keys["rival"])
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}  # no data, only "... not found"
    # Nothing happened to acme's charger.
    assert (len(fleet.started), len(fleet.stopped), len(fleet.removed), fleet.flushes) == (
        calls_before
    )
    owner = await client.get(f"/ocpp/chargers/{acme_world['charger_id']}", headers=keys["admin"])
    assert owner.status_code == 200


async def test_the_frame_log_stays_the_owners_after_it_was_read(
    client: httpx.AsyncClient,
    keys: dict[str, Headers],
    acme_world: dict[str, str],
    fleet: FakeFleet,
) -> None:
    """The owner's read skips the check on its next one (the process knows the charger is
    acme's): another org still gets a 404 and causes no flush, and once the charger is
    deleted its owner gets a 404 too."""
    path = f"/ocpp/chargers/{acme_world['charger_id']}/messages"
    for _ in range(2):
        assert (await client.get(path, headers=keys["admin"])).status_code == 200
    assert fleet.flushes == 2
    assert (await client.get(path, headers=keys["rival"])).status_code == 404
    assert fleet.flushes == 2
    deleted = await client.delete(path.removesuffix("/messages"), headers=keys["admin"])
    assert deleted.status_code == 204
    response = await client.get(path, headers=keys["admin"])
    assert response.status_code == 404
    assert response.json() == {"detail": f"charger {acme_world['charger_id']!r} not found"}


@pytest.mark.parametrize("target_kind", ["charger_id", "location_id"])
async def test_commands_to_foreign_targets_are_404(
    client: httpx.AsyncClient,
    keys: dict[str, Headers],
    acme_world: dict[str, str],
    fleet: FakeFleet,
    target_kind: str,
) -> None:
    submitted = list(fleet.submitted)
    body: dict[str, Any] = {
        "target": {target_kind: acme_world[target_kind]},
        "event": {"connector_id": 1},
    }
    response = await client.post("/ocpp/commands/plug-connector", json=body, headers=keys["rival"])
    assert response.status_code == 404
    assert fleet.submitted == submitted


async def test_foreign_location_for_new_charger_is_404(
    client: httpx.AsyncClient, keys: dict[str, Headers], acme_world: dict[str, str]
) -> None:
    body = {"identity": "INTRUDER", "location_id": acme_world["location_id"]}
    response = await client.post("/ocpp/chargers", json=body, headers=keys["rival"])
    assert response.status_code == 404


async def test_lists_are_per_org(
    client: httpx.AsyncClient, keys: dict[str, Headers], acme_world: dict[str, str]
) -> None:
    for path in ("/ocpp/chargers", "/ocpp/locations", "/ocpp/commands"):
        rival = await client.get(path, headers=keys["rival"])
        assert rival.status_code == 200
        assert rival.json() == {"items": [], "next_cursor": None}
        own = await client.get(path, headers=keys["viewer"])
        assert own.json()["items"], path
    filtered = await client.get(
        "/ocpp/commands", params={"charger_id": acme_world["charger_id"]}, headers=keys["rival"]
    )
    assert filtered.json()["items"] == []


@pytest.mark.parametrize(
    "bad_id", ["dep-%00", "x" * 300, "dep-000000000000%20OR%201=1", "%F0%9F%94%8C"]
)
async def test_odd_ids_are_404_not_500(
    client: httpx.AsyncClient, keys: dict[str, Headers], bad_id: str
) -> None:
    for path in (
        f"/ocpp/chargers/{bad_id}",
        f"/ocpp/locations/{bad_id}",
        f"/ocpp/commands/{bad_id}",
        f"/ocpp/chargers/{bad_id}/messages",
    ):
        response = await client.get(path, headers=keys["admin"])
        assert response.status_code == 404, path
