"""The /ocpp/commands family: the seed's example, targets, event validation, records."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from voltlab.api.command_events import COMMAND_KINDS
from voltlab.store.db import Database
from voltlab.store.models import Command

from .conftest import FakeFleet, Headers, LocationMaker, error_locs

MINIMAL_EVENTS: dict[str, dict[str, Any] | None] = {
    "proxy-message": {"action": "DataTransfer", "payload": {"vendorId": "voltlab"}},
    "configuration": {"key": "HeartbeatInterval", "value": "30"},
    "cache/reset": None,
    "local-auth-list": {
        "list_version": 3,
        "update_type": "Full",
        "entries": [
            {"id_tag": "TAG-1", "status": "Accepted", "expiry_date": "2030-01-01T00:00:00Z"},
            {"id_tag": "TAG-2", "status": "Blocked", "parent_id_tag": "GROUP-1"},
        ],
    },
    "clear-local-auth-list": {},
    "inject-fault": {"connector_id": 0, "fault_type": "GroundFault", "info": "test"},
    "clear-fault": {"connector_id": 0},
    "plug-connector": {"connector_id": 1},
    "unplug-connector": {"connector_id": 1},
    "unlock-connector": {"connector_id": 2},
    "start-transaction": {"connector_id": 1, "id_tag": "TAG-1"},
    "stop-transaction": {"connector_id": 1, "reason": "Local"},
    "start-session": {"id_tag": "TAG-1", "connector_id": 1},
    "stop-session": {"connector_id": 1, "reason": "EVDisconnected"},
    "authorize-id-tag": {"id_tag": "TAG-1"},
    "ev-requests-energy": {"connector_id": 1, "power_kw": 7.4},
    "ev-stops-energy": {"connector_id": 1},
    "power-update": {"connector_id": 1, "power_kw": 3.5, "soc_percent": 80},
    "partition": {"duration_seconds": 30},
    "restart-link": {},
    "set-charging-limit": {"connector_id": 0, "limit_kw": 11, "source": "EMS"},
    "clear-charging-limit": {"connector_id": 0},
    "discharge": {"connector_id": 1, "power_kw": 7},
}
# The version a slug's charger speaks here: the first its command applies to.
VERSION_OF = {kind.slug: (kind.versions or ("ocpp1.6",))[0] for kind in COMMAND_KINDS}


def test_minimal_events_cover_every_slug() -> None:
    assert set(MINIMAL_EVENTS) == {kind.slug for kind in COMMAND_KINDS}
    assert len(MINIMAL_EVENTS) == 23


async def test_seed_start_session_example(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    database: Database,
) -> None:
    charger = (await make_location(identity_prefix="CP-TEST-", chargers=1))["chargers"][0]
    # The seed's request, verbatim but for the charger id.
    payload = {
        "target": {"charger_id": charger["charger_id"]},
        "event": {
            "id_tag": "EV-USER-1234",
            "connector_id": 2,
            "duration_seconds": 900,
            "target_energy_kwh": 15.5,
        },
    }
    response = await client.post("/ocpp/commands/start-session", json=payload, headers=admin)
    assert response.status_code == 202, response.text
    body = response.json()
    command_id = body["results"][0]["command"]["id"]
    assert re.fullmatch(r"[0-9a-f]{12}", command_id)
    assert body == {
        "targeted_count": 1,
        "queued_count": 1,
        "failed_count": 0,
        "results": [
            {
                "charger_id": charger["charger_id"],
                "identity": "CP-TEST-001",
                "command": {
                    "id": command_id,
                    "event_type": "start_session",
                    "ocpp_version": "ocpp1.6",
                    "payload": payload["event"],
                },
            }
        ],
        "failed": [],
    }
    assert fleet.submitted == [command_id]
    with database.session() as session:
        row = session.get(Command, command_id)
        assert row is not None
        assert row.status == "queued"
        assert row.charger_id == charger["charger_id"]
        assert row.identity == "CP-TEST-001"
        assert row.location_id == charger["location_id"]
        assert row.event_type == "start_session"
        assert row.payload == payload["event"]


async def test_payload_keeps_only_given_fields(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker
) -> None:
    charger = (await make_location(chargers=1))["chargers"][0]
    payload = {
        "target": {"charger_id": charger["charger_id"]},
        "event": {"id_tag": "TAG-RFID-001", "connector_id": 1},
    }
    response = await client.post("/ocpp/commands/start-session", json=payload, headers=admin)
    command = response.json()["results"][0]["command"]
    assert command["payload"] == {"id_tag": "TAG-RFID-001", "connector_id": 1}


@pytest.mark.parametrize("slug", list(MINIMAL_EVENTS))
async def test_every_slug_queues(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    database: Database,
    slug: str,
) -> None:
    version = VERSION_OF[slug]
    charger = (await make_location(chargers=1, ocpp_version=version))["chargers"][0]
    body: dict[str, Any] = {"target": {"charger_id": charger["charger_id"]}}
    if MINIMAL_EVENTS[slug] is not None:
        body["event"] = MINIMAL_EVENTS[slug]
    response = await client.post(f"/ocpp/commands/{slug}", json=body, headers=admin)
    assert response.status_code == 202, response.text
    command = response.json()["results"][0]["command"]
    expected_type = slug.replace("-", "_").replace("/", "_")
    assert command["event_type"] == expected_type
    assert command["ocpp_version"] == version
    assert fleet.submitted == [command["id"]]
    with database.session() as session:
        row = session.get(Command, command["id"])
        assert row is not None and row.event_type == expected_type
        assert row.payload == command["payload"]


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_discharge_is_refused_for_a_charger_before_21(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    version: str,
) -> None:
    """V2X is OCPP 2.1's: a charger of an earlier version is listed as failed, nothing is
    queued for it; a 2.1 charger of the same location is queued."""
    older = (await make_location(chargers=1, ocpp_version=version))["chargers"][0]
    newer = (await make_location(chargers=1, ocpp_version="ocpp2.1"))["chargers"][0]
    event = {"connector_id": 1, "power_kw": 7.0}
    answers = [
        (
            await client.post(
                "/ocpp/commands/discharge",
                json={"target": {"charger_id": charger["charger_id"]}, "event": event},
                headers=admin,
            )
        ).json()
        for charger in (older, newer)
    ]
    refused, queued = answers
    assert (refused["queued_count"], refused["failed_count"]) == (0, 1)
    assert refused["failed"][0]["error"]["code"] == "not_supported"
    assert f"speaks {version}" in refused["failed"][0]["error"]["message"]
    assert (queued["queued_count"], queued["failed_count"]) == (1, 0)
    assert fleet.submitted == [queued["results"][0]["command"]["id"]]
    # Above the connector's rating (22 kW) is refused as for every power.
    too_much = await client.post(
        "/ocpp/commands/discharge",
        json={"target": {"charger_id": newer["charger_id"]}, "event": event | {"power_kw": 30}},
        headers=admin,
    )
    assert too_much.json()["failed"][0]["error"]["code"] == "power_above_rating"


async def test_location_target_and_subset(
    client: httpx.AsyncClient,
    admin: Headers,
    keys: dict[str, Headers],
    make_location: LocationMaker,
    fleet: FakeFleet,
) -> None:
    location = await make_location(identity_prefix="SITE-", chargers=3)
    other = (await make_location(identity_prefix="ELSE-", chargers=1))["chargers"][0]
    foreign = (await make_location(headers=keys["rival"], chargers=1))["chargers"][0]
    event = {"connector_id": 1}
    whole = await client.post(
        "/ocpp/commands/plug-connector",
        json={"target": {"location_id": location["location_id"]}, "event": event},
        headers=admin,
    )
    assert whole.status_code == 202
    assert whole.json()["targeted_count"] == 3
    assert [r["identity"] for r in whole.json()["results"]] == ["SITE-001", "SITE-002", "SITE-003"]

    inside = location["chargers"][1]["charger_id"]
    target = {
        "location_id": location["location_id"],
        "charger_ids": [inside, other["charger_id"], foreign["charger_id"], "dep-nope", inside],
    }
    subset = await client.post(
        "/ocpp/commands/plug-connector", json={"target": target, "event": event}, headers=admin
    )
    assert subset.status_code == 202
    body = subset.json()
    assert (body["targeted_count"], body["queued_count"], body["failed_count"]) == (4, 1, 3)
    assert [r["charger_id"] for r in body["results"]] == [inside]
    failed = {f["charger_id"]: f for f in body["failed"]}
    assert failed[other["charger_id"]]["identity"] == "ELSE-001"
    assert failed[foreign["charger_id"]]["identity"] is None  # never a foreign org's data
    assert failed["dep-nope"]["identity"] is None
    assert {f["error"]["code"] for f in body["failed"]} == {"not_in_location"}
    assert all(f["error"]["message"] for f in body["failed"])
    assert len(fleet.submitted) == 4


async def test_connector_beyond_the_model_fails_that_charger(
    client: httpx.AsyncClient, admin: Headers, make_location: LocationMaker, fleet: FakeFleet
) -> None:
    location = await make_location(chargers=2)  # ac-22kw-2c: connectors 1 and 2
    response = await client.post(
        "/ocpp/commands/plug-connector",
        json={"target": {"location_id": location["location_id"]}, "event": {"connector_id": 3}},
        headers=admin,
    )
    assert response.status_code == 202
    body = response.json()
    assert (body["queued_count"], body["failed_count"]) == (0, 2)
    assert {f["error"]["code"] for f in body["failed"]} == {"unknown_connector"}
    assert fleet.submitted == []


@pytest.mark.parametrize(
    ("target", "loc"),
    [
        ({}, ["body", "target", "charger_id"]),
        ({"charger_id": "dep-1", "location_id": "loc-1"}, ["body", "target", "location_id"]),
        ({"charger_ids": ["dep-1"]}, ["body", "target", "charger_ids"]),
        ({"charger_id": "dep-1", "charger_ids": ["dep-1"]}, ["body", "target", "charger_ids"]),
        ({"location_id": "loc-1", "charger_ids": []}, ["body", "target", "charger_ids"]),
        ({"charger_id": 5}, ["body", "target", "charger_id"]),
        ({"charger_id": "dep-1", "group": "x"}, ["body", "target", "group"]),
    ],
)
async def test_bad_targets_are_422(
    client: httpx.AsyncClient, admin: Headers, target: dict[str, Any], loc: list[Any]
) -> None:
    body = {"target": target, "event": {"connector_id": 1}}
    response = await client.post("/ocpp/commands/plug-connector", json=body, headers=admin)
    assert loc in error_locs(response)


@pytest.mark.parametrize(
    ("slug", "event", "loc"),
    [
        ("start-session", None, ["body", "event"]),
        ("start-session", {"connector_id": 1}, ["body", "event", "id_tag"]),
        ("start-session", {"id_tag": "", "connector_id": 1}, ["body", "event", "id_tag"]),
        ("start-session", {"id_tag": "T" * 37, "connector_id": 1}, ["body", "event", "id_tag"]),
        ("start-session", {"id_tag": "T", "connector_id": 0}, ["body", "event", "connector_id"]),
        (
            "start-session",
            {"id_tag": "T", "connector_id": 1, "duration_seconds": 0},
            ["body", "event", "duration_seconds"],
        ),
        (
            "start-session",
            {"id_tag": "T", "connector_id": 1, "target_energy_kwh": -1},
            ["body", "event", "target_energy_kwh"],
        ),
        ("start-session", {"id_tag": "T", "connector_id": 1, "x": 1}, ["body", "event", "x"]),
        ("plug-connector", {"connector_id": 0}, ["body", "event", "connector_id"]),
        ("plug-connector", {"connector_id": "one"}, ["body", "event", "connector_id"]),
        (
            "inject-fault",
            {"connector_id": -1, "fault_type": "GroundFault"},
            ["body", "event", "connector_id"],
        ),
        (
            "inject-fault",
            {"connector_id": 1, "fault_type": "Gremlins"},
            ["body", "event", "fault_type"],
        ),
        ("clear-fault", {}, ["body", "event", "connector_id"]),
        ("power-update", {"connector_id": 1, "soc_percent": 101}, ["body", "event", "soc_percent"]),
        ("power-update", {"connector_id": 1, "power_kw": -0.1}, ["body", "event", "power_kw"]),
        (
            "ev-requests-energy",
            {"connector_id": 1, "power_kw": "lots"},
            ["body", "event", "power_kw"],
        ),
        ("stop-transaction", {"connector_id": 1, "reason": "Bored"}, ["body", "event", "reason"]),
        (
            "local-auth-list",
            {"list_version": 1, "update_type": "Partial", "entries": []},
            ["body", "event", "update_type"],
        ),
        (
            "local-auth-list",
            {
                "list_version": 1,
                "update_type": "Full",
                "entries": [{"id_tag": "T", "status": "Maybe"}],
            },
            ["body", "event", "entries", 0, "status"],
        ),
        (
            "local-auth-list",
            {"update_type": "Full", "entries": []},
            ["body", "event", "list_version"],
        ),
        ("proxy-message", {"action": "Heartbeat", "payload": [1]}, ["body", "event", "payload"]),
        ("proxy-message", {"payload": {}}, ["body", "event", "action"]),
        ("configuration", {"key": "K"}, ["body", "event", "value"]),
        ("cache/reset", {"anything": 1}, ["body", "event", "anything"]),
    ],
)
async def test_bad_events_are_422(
    client: httpx.AsyncClient,
    admin: Headers,
    slug: str,
    event: dict[str, Any] | None,
    loc: list[Any],
) -> None:
    body: dict[str, Any] = {"target": {"charger_id": "dep-000000000000"}}
    if event is not None:
        body["event"] = event
    response = await client.post(f"/ocpp/commands/{slug}", json=body, headers=admin)
    assert loc in error_locs(response)


async def test_extra_top_level_field_and_bad_json_are_422(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    body = {"target": {"charger_id": "dep-1"}, "event": {"connector_id": 1}, "when": "now"}
    response = await client.post("/ocpp/commands/plug-connector", json=body, headers=admin)
    assert ["body", "when"] in error_locs(response)
    headers = {**admin, "Content-Type": "application/json"}
    response = await client.post("/ocpp/commands/plug-connector", content=b"{", headers=headers)
    assert response.status_code == 422


async def test_nan_is_rejected(client: httpx.AsyncClient, admin: Headers) -> None:
    headers = {**admin, "Content-Type": "application/json"}
    raw = b'{"target": {"charger_id": "dep-1"}, "event": {"connector_id": 1, "power_kw": NaN}}'
    response = await client.post("/ocpp/commands/power-update", content=raw, headers=headers)
    assert ["body", "event", "power_kw"] in error_locs(response)
    raw = (
        b'{"target": {"charger_id": "dep-1"},'
        b' "event": {"action": "DataTransfer", "payload": {"x": Infinity}}}'
    )
    response = await client.post("/ocpp/commands/proxy-message", content=raw, headers=headers)
    assert ["body", "event", "payload"] in error_locs(response)


@pytest.mark.parametrize(
    "target", [{"charger_id": "dep-000000000000"}, {"location_id": "loc-000000000000"}]
)
async def test_unknown_target_is_404(
    client: httpx.AsyncClient, admin: Headers, fleet: FakeFleet, target: dict[str, str]
) -> None:
    body = {"target": target, "event": {"connector_id": 1}}
    response = await client.post("/ocpp/commands/plug-connector", json=body, headers=admin)
    assert response.status_code == 404
    assert fleet.submitted == []


async def test_command_record_and_listing(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    database: Database,
) -> None:
    location = await make_location(chargers=2)
    first, second = (c["charger_id"] for c in location["chargers"])
    ids: list[str] = []
    for connector_id in (1, 2, 1):
        response = await client.post(
            "/ocpp/commands/plug-connector",
            json={"target": {"charger_id": first}, "event": {"connector_id": connector_id}},
            headers=admin,
        )
        ids.append(response.json()["results"][0]["command"]["id"])
    response = await client.post(
        "/ocpp/commands/unplug-connector",
        json={"target": {"charger_id": second}, "event": {"connector_id": 1}},
        headers=admin,
    )
    ids.append(response.json()["results"][0]["command"]["id"])

    record = (await client.get(f"/ocpp/commands/{ids[0]}", headers=admin)).json()
    assert set(record) == {
        "id",
        "charger_id",
        "identity",
        "location_id",
        "event_type",
        "ocpp_version",
        "payload",
        "status",
        "result",
        "error",
        "created_at",
        "updated_at",
    }
    assert record["status"] == "queued"
    assert record["payload"] == {"connector_id": 1}
    assert record["location_id"] == location["location_id"]
    assert record["result"] is None and record["error"] is None
    assert record["created_at"].endswith("Z")

    # Newest first, two per page.
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/ocpp/commands", params=params, headers=admin)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))

    by_charger = await client.get("/ocpp/commands", params={"charger_id": first}, headers=admin)
    assert [c["id"] for c in by_charger.json()["items"]] == list(reversed(ids[:3]))
    by_location = await client.get(
        "/ocpp/commands", params={"location_id": location["location_id"]}, headers=admin
    )
    assert len(by_location.json()["items"]) == 4
    with database.session() as session:
        assert len(session.scalars(select(Command)).all()) == 4
    assert (await client.get("/ocpp/commands/000000000000", headers=admin)).status_code == 404
