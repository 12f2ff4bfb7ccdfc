"""An id tag longer than OCPP 1.6's IdToken (CiString20) is refused at submit: 422 naming the
field and the 1.6 charger, nothing queued (no `commands` row, nothing handed to the fleet); the
same tag goes to a 2.x charger, whose IdToken holds 36 characters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from voltlab.store.db import Database
from voltlab.store.models import Command

from .conftest import FakeFleet, Headers, LocationMaker

TAG_20 = "T" * 20
TAG_21 = "EV-USER-0123456789-AB"  # 21 characters
TAG_36 = "X" * 36

# Every command that carries an id tag, with the field that holds it.
ID_TAG_EVENTS: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("start-session", {"id_tag": TAG_21, "connector_id": 1}, ["body", "event", "id_tag"]),
    ("start-transaction", {"id_tag": TAG_21, "connector_id": 1}, ["body", "event", "id_tag"]),
    ("stop-transaction", {"id_tag": TAG_21, "connector_id": 1}, ["body", "event", "id_tag"]),
    ("authorize-id-tag", {"id_tag": TAG_21}, ["body", "event", "id_tag"]),
    (
        "local-auth-list",
        {
            "list_version": 1,
            "update_type": "Full",
            "entries": [
                {"id_tag": "SHORT", "status": "Accepted"},
                {"id_tag": TAG_21, "status": "Accepted"},
            ],
        },
        ["body", "event", "entries", 1, "id_tag"],
    ),
    (
        "local-auth-list",
        {
            "list_version": 1,
            "update_type": "Differential",
            "entries": [{"id_tag": "SHORT", "status": "Accepted", "parent_id_tag": TAG_21}],
        },
        ["body", "event", "entries", 0, "parent_id_tag"],
    ),
]


def command_rows(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Command)) or 0)


@pytest.mark.parametrize(("slug", "event", "loc"), ID_TAG_EVENTS)
async def test_a_21_character_tag_for_a_16_charger_is_refused_before_queueing(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    database: Database,
    slug: str,
    event: dict[str, Any],
    loc: list[Any],
) -> None:
    charger = (await make_location(identity_prefix="CP16-", chargers=1))["chargers"][0]
    assert charger["ocpp_version"] == "ocpp1.6"
    response = await client.post(
        f"/ocpp/commands/{slug}",
        json={"target": {"charger_id": charger["charger_id"]}, "event": event},
        headers=admin,
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert "21 characters exceeds OCPP 1.6 IdToken (CiString20" in error["msg"]
    assert "'CP16-001'" in error["msg"]
    assert error["msg"].startswith(".".join(str(part) for part in loc[1:]) + ": ")
    assert command_rows(database) == 0 and fleet.submitted == []


async def test_the_limits_are_20_on_16_and_36_on_2x(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    database: Database,
) -> None:
    old = (await make_location(identity_prefix="OLD-", chargers=1))["chargers"][0]
    new = (await make_location(identity_prefix="NEW-", chargers=1, ocpp_version="ocpp2.0.1"))[
        "chargers"
    ][0]

    async def start(charger: dict[str, Any], tag: str) -> httpx.Response:
        return await client.post(
            "/ocpp/commands/start-session",
            json={
                "target": {"charger_id": charger["charger_id"]},
                "event": {"id_tag": tag, "connector_id": 1},
            },
            headers=admin,
        )

    exact = await start(old, TAG_20)
    assert exact.status_code == 202, exact.text
    assert exact.json()["results"][0]["command"]["payload"]["id_tag"] == TAG_20
    for tag in (TAG_21, TAG_36):
        accepted = await start(new, tag)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["results"][0]["command"]["ocpp_version"] == "ocpp2.0.1"
    assert command_rows(database) == 3 and len(fleet.submitted) == 3
    too_long = await start(new, TAG_36 + "Y")  # 2.x's own limit, for every charger
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["body", "event", "id_tag"]
    assert command_rows(database) == 3


async def test_a_location_with_some_16_chargers_is_refused_whole(
    client: httpx.AsyncClient,
    admin: Headers,
    make_location: LocationMaker,
    fleet: FakeFleet,
    database: Database,
) -> None:
    location = await make_location(identity_prefix="MIX-", chargers=2, ocpp_version="ocpp2.0.1")
    for identity in ("MIX-16-A", "MIX-16-B"):
        added = await client.post(
            "/ocpp/chargers",
            json={
                "identity": identity,
                "location_id": location["location_id"],
                "ocpp_version": "ocpp1.6",
            },
            headers=admin,
        )
        assert added.status_code == 201, added.text
    target = {"location_id": location["location_id"]}
    event = {"id_tag": TAG_21, "connector_id": 1}
    refused = await client.post(
        "/ocpp/commands/start-session", json={"target": target, "event": event}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "event", "id_tag"]
    assert "of charger 'MIX-16-A' (and 1 more 1.6 chargers)" in error["msg"]
    assert command_rows(database) == 0 and fleet.submitted == []

    # The 2.x chargers alone (charger_ids) take the tag.
    two_x = [c["charger_id"] for c in location["chargers"]]
    subset = await client.post(
        "/ocpp/commands/start-session",
        json={"target": {**target, "charger_ids": two_x}, "event": event},
        headers=admin,
    )
    assert subset.status_code == 202, subset.text
    assert subset.json()["queued_count"] == 2
    assert command_rows(database) == 2 and len(fleet.submitted) == 2
