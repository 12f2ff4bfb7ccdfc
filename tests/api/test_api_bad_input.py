"""Bad text and bad shape of issue 10 (lone surrogates, NUL and control characters, nesting,
size) is a 4xx whose body names the field; nothing is stored or sent, and the org's command
records stay readable. Numeric bounds, CSMS URLs and identity prefixes: test_api_input_bounds."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import insert

from voltlab.api.body_limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from voltlab.api.command_events import MAX_PROXY_PAYLOAD_BYTES
from voltlab.api.errors import validation_error
from voltlab.clock import wall_now
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.models import Charger, Command, Location

from .bad_input_helpers import (
    CSMS,
    assert_names,
    command,
    count_rows,
    first_charger_id,
    post_raw,
)
from .conftest import FakeFleet, Headers, LocationMaker, collect_pages


@pytest.fixture
async def charger_id(make_location: LocationMaker) -> str:
    return await first_charger_id(make_location)


# --- lone surrogates and NUL: any JSON string of any body ---------------------------------------

TEXT_CASES = [
    # (path, body builder given a bad string, loc of the bad string)
    ("/ocpp/locations", lambda s: {"name": s, "csms_url": CSMS}, ["body", "name"]),
    (
        "/ocpp/locations",
        lambda s: {"name": "n", "csms_url": CSMS, "identity_prefix": s},
        ["body", "identity_prefix"],
    ),
    (
        "/ocpp/locations",
        lambda s: {"name": "n", "csms_url": CSMS, "security": {"profile": 1, "password": s}},
        ["body", "security", "password"],
    ),
    ("/ocpp/chargers", lambda s: {"identity": s, "csms_url": CSMS}, ["body", "identity"]),
    ("/ocpp/chargers", lambda s: {"identity": "X", "csms_url": "ws://" + s}, ["body", "csms_url"]),
]
COMMAND_TEXT_CASES = [
    (
        "proxy-message",
        lambda s: {"action": "DataTransfer", "payload": {"vendorId": "v", "data": s}},
        ["body", "event", "payload", "data"],
    ),
    (
        "proxy-message",
        lambda s: {"action": "DataTransfer", "payload": {"vendorId": "v", "nested": [{"x": s}]}},
        ["body", "event", "payload", "nested", 0, "x"],
    ),
    ("configuration", lambda s: {"key": s, "value": "1"}, ["body", "event", "key"]),
    ("configuration", lambda s: {"key": "K", "value": s}, ["body", "event", "value"]),
    (
        "start-session",
        lambda s: {"id_tag": s, "connector_id": 1},
        ["body", "event", "id_tag"],
    ),
    (
        "authorize-id-tag",
        lambda s: {"id_tag": s},
        ["body", "event", "id_tag"],
    ),
    (
        "local-auth-list",
        lambda s: {
            "list_version": 1,
            "update_type": "Full",
            "entries": [{"id_tag": "OK", "status": "Accepted"}, {"id_tag": s, "status": "Blocked"}],
        },
        ["body", "event", "entries", 1, "id_tag"],
    ),
    (
        "inject-fault",
        lambda s: {"connector_id": 1, "fault_type": "GroundFault", "info": s},
        ["body", "event", "info"],
    ),
]
BAD_STRINGS = {"surrogate": "A\ud800B", "nul": "A\u0000B", "low-surrogate": "\udfff"}


@pytest.mark.parametrize("bad", sorted(BAD_STRINGS))
@pytest.mark.parametrize(("path", "build", "loc"), TEXT_CASES)
async def test_bad_text_in_location_and_charger_bodies(
    client: httpx.AsyncClient,
    admin: Headers,
    database: Database,
    fleet: FakeFleet,
    path: str,
    build: Any,
    loc: list[Any],
    bad: str,
) -> None:
    response = await post_raw(client, path, json.dumps(build(BAD_STRINGS[bad])), admin)
    message = assert_names(response, loc)
    assert ("NUL" if bad == "nul" else "surrogate") in message
    assert await count_rows(database, Location) == 0
    assert await count_rows(database, Charger) == 0
    assert fleet.started == []


@pytest.mark.parametrize("bad", sorted(BAD_STRINGS))
@pytest.mark.parametrize(("slug", "build", "loc"), COMMAND_TEXT_CASES)
async def test_bad_text_in_command_events(
    client: httpx.AsyncClient,
    admin: Headers,
    database: Database,
    fleet: FakeFleet,
    charger_id: str,
    slug: str,
    build: Any,
    loc: list[Any],
    bad: str,
) -> None:
    text = json.dumps(command(charger_id, build(BAD_STRINGS[bad])))
    response = await post_raw(client, f"/ocpp/commands/{slug}", text, admin)
    assert_names(response, loc)
    assert await count_rows(database, Command) == 0
    assert fleet.submitted == []


async def test_a_bad_field_name_is_named_escaped(
    client: httpx.AsyncClient, admin: Headers, charger_id: str
) -> None:
    event = {"action": "DataTransfer", "payload": {"vendorId": "v", "k\ud800": 1}}
    response = await post_raw(
        client, "/ocpp/commands/proxy-message", json.dumps(command(charger_id, event)), admin
    )
    # The key cannot be echoed as it is: it comes back escaped, as text.
    message = assert_names(response, ["body", "event", "payload", "k\\ud800"])
    assert "field name" in message


@pytest.mark.parametrize("char", ["\u0001", "\u001f", "\u007f", "\n"])
@pytest.mark.parametrize(
    ("slug", "event", "field"),
    [
        ("configuration", {"key": "K{c}", "value": "1"}, "key"),
        ("configuration", {"key": "K", "value": "1{c}"}, "value"),
        ("start-transaction", {"connector_id": 1, "id_tag": "T{c}"}, "id_tag"),
        ("stop-transaction", {"connector_id": 1, "id_tag": "T{c}"}, "id_tag"),
        (
            "inject-fault",
            {"connector_id": 1, "fault_type": "Other", "vendor_error_code": "{c}"},
            "vendor_error_code",
        ),
    ],
)
async def test_control_characters_in_cistring_fields(
    client: httpx.AsyncClient,
    admin: Headers,
    fleet: FakeFleet,
    charger_id: str,
    slug: str,
    event: dict[str, Any],
    field: str,
    char: str,
) -> None:
    filled = {k: v.replace("{c}", char) if isinstance(v, str) else v for k, v in event.items()}
    response = await client.post(
        f"/ocpp/commands/{slug}", json=command(charger_id, filled), headers=admin
    )
    assert_names(response, ["body", "event", field])
    assert fleet.submitted == []


# --- nesting and size ----------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def deep_proxy(charger_id: str, depth: int) -> str:
    """A proxy-message body whose payload's `data` is `depth` nested lists."""
    event = {"action": "DataTransfer", "payload": {"vendorId": "v", "data": "@DEEP@"}}
    return json.dumps(command(charger_id, event)).replace('"@DEEP@"', nested(depth))


async def test_deep_proxy_payload_is_422_naming_the_path(
    client: httpx.AsyncClient, admin: Headers, database: Database, charger_id: str
) -> None:
    for depth in (255, 300, 5000):
        text = deep_proxy(charger_id, depth)
        response = await post_raw(client, "/ocpp/commands/proxy-message", text, admin)
        assert response.status_code == 422, response.text
        error = response.json()["detail"][0]
        assert error["type"] == "json_too_deep"
        assert error["loc"][:5] == ["body", "event", "payload", "data", 0]
        assert str(MAX_JSON_DEPTH) in error["msg"]
    # Exactly at the limit passes the reader (and is then just a normal, shallow enough body).
    inner = MAX_JSON_DEPTH - 4  # body, event, payload and data's own list levels
    text = deep_proxy(charger_id, inner)
    response = await post_raw(client, "/ocpp/commands/proxy-message", text, admin)
    assert response.status_code == 202, response.text
    assert await count_rows(database, Command) == 1


async def test_brackets_inside_strings_do_not_count_as_depth(
    client: httpx.AsyncClient, admin: Headers, charger_id: str
) -> None:
    event = {"action": "DataTransfer", "payload": {"vendorId": "v", "data": "[{" * 5000 + '\\"'}}
    response = await client.post(
        "/ocpp/commands/proxy-message", json=command(charger_id, event), headers=admin
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "path", ["/ocpp/commands/proxy-message", "/ocpp/locations", "/ocpp/chargers"]
)
async def test_100k_brackets_is_a_4xx(client: httpx.AsyncClient, admin: Headers, path: str) -> None:
    response = await post_raw(client, path, "[" * 100_000, admin)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


@pytest.mark.parametrize(
    "path", ["/ocpp/commands/proxy-message", "/ocpp/locations", "/ocpp/chargers"]
)
async def test_a_body_that_is_not_text_is_a_422_naming_the_body(
    client: httpx.AsyncClient, admin: Headers, database: Database, path: str
) -> None:
    # Not UTF-8 (FastAPI's reader fails on it with a 400 of its own): refused as malformed JSON.
    headers = {**admin, "Content-Type": "application/json"}
    response = await client.post(path, content=b'{"name": "\xff\xfe"}', headers=headers)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body"] and problem["type"] == "json_invalid"
    assert "utf-8" in problem["msg"]
    assert await count_rows(database, Location) == 0
    # JSON in UTF-16, which JSON's reader detects, is text: it is read as usual.
    body = json.dumps({"name": "utf16", "csms_url": CSMS}).encode("utf-16")
    made = await client.post("/ocpp/locations", content=body, headers=headers)
    assert made.status_code == 201, made.text


async def test_body_over_the_size_limit_is_413(
    client: httpx.AsyncClient, admin: Headers, database: Database, charger_id: str
) -> None:
    # A 10 MB proxy payload: refused before it is parsed, stored or sent as an OCPP frame.
    event = {"action": "DataTransfer", "payload": {"vendorId": "v", "data": "x" * 10_000_000}}
    response = await client.post(
        "/ocpp/commands/proxy-message", json=command(charger_id, event), headers=admin
    )
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["detail"]

    # Without a Content-Length (chunked), the reader stops at the limit just the same.
    async def chunks() -> Any:
        yield b'{"target": {"charger_id": "%s"}, "event": {"action": "DataTransfer", ' % (
            charger_id.encode()
        )
        for _ in range(20):
            yield b" " * 100_000
        yield b'"payload": {}}}'

    response = await client.post(
        "/ocpp/commands/proxy-message",
        content=chunks(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert await count_rows(database, Command) == 0


async def test_proxy_payload_must_fit_an_ocpp_frame(
    client: httpx.AsyncClient, admin: Headers, database: Database, charger_id: str
) -> None:
    data = "x" * MAX_PROXY_PAYLOAD_BYTES  # under the body limit, over the payload limit
    event = {"action": "DataTransfer", "payload": {"vendorId": "v", "data": data}}
    response = await client.post(
        "/ocpp/commands/proxy-message", json=command(charger_id, event), headers=admin
    )
    assert "larger than" in assert_names(response, ["body", "event", "payload"])
    assert await count_rows(database, Command) == 0


async def test_ocpi_paths_answer_in_the_ocpi_envelope(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    url = "/ocpi/2.2.1/tokens/NL/EMS/RFID1"
    deep = await client.put(url, content=b"[" * 100_000)
    assert deep.status_code == 400
    assert deep.json()["status_code"] == 2001 and "nested" in deep.json()["status_message"]
    large = await client.put(url, content=b" " * (MAX_BODY_BYTES + 1))
    assert large.status_code == 413
    assert large.json()["status_code"] == 2001
    text = await client.put(
        url,
        content=json.dumps({"uid": "\ud800"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert text.status_code == 400
    assert text.json()["status_code"] == 2001 and "uid" in text.json()["status_message"]
    binary = await client.put(url, content=b'{"uid": "\xff"}')
    assert binary.status_code == 400
    assert binary.json()["status_code"] == 2001 and "utf-8" in binary.json()["status_message"]


# --- the org's records stay readable -----------------------------------------------------------


async def test_after_every_bad_input_the_command_records_are_complete(
    client: httpx.AsyncClient,
    admin: Headers,
    database: Database,
    fleet: FakeFleet,
    charger_id: str,
) -> None:
    good = [
        ("proxy-message", {"action": "DataTransfer", "payload": {"vendorId": "v", "data": "ok"}}),
        ("configuration", {"key": "HeartbeatInterval", "value": "30"}),
        ("start-session", {"id_tag": "T", "connector_id": 1, "duration_seconds": 60}),
    ]
    bad_texts = [
        json.dumps(command(charger_id, {"action": "DataTransfer", "payload": {"d": "\ud800"}})),
        json.dumps(command(charger_id, {"key": "a\u0000b", "value": "1"})),
        deep_proxy(charger_id, 300),
        "[" * 100_000,
        json.dumps(command(charger_id, {"id_tag": "T\u0000", "connector_id": 1})),
    ]
    queued: list[str] = []
    for index, (slug, event) in enumerate(good):
        response = await client.post(
            f"/ocpp/commands/{slug}", json=command(charger_id, event), headers=admin
        )
        assert response.status_code == 202, response.text
        queued.append(response.json()["results"][0]["command"]["id"])
        bad = bad_texts[index % len(bad_texts)]
        for text in (bad, *bad_texts):
            for slug_bad in ("proxy-message", "configuration", "start-session"):
                refused = await post_raw(client, f"/ocpp/commands/{slug_bad}", text, admin)
                assert 400 <= refused.status_code < 500, refused.text
    items, _ = await collect_pages(client, "/ocpp/commands", admin, limit=2)
    assert sorted(item["id"] for item in items) == sorted(queued)
    for command_id in queued:
        one = await client.get(f"/ocpp/commands/{command_id}", headers=admin)
        assert one.status_code == 200, one.text
    assert fleet.submitted == queued
    assert await count_rows(database, Command) == len(queued)
    assert (await client.get("/health")).status_code == 200


async def test_a_stored_lone_surrogate_does_not_break_the_list(
    client: httpx.AsyncClient,
    admin: Headers,
    database: Database,
    keys: dict[str, Headers],
    charger_id: str,
) -> None:
    """A record written before input was checked (the JSON columns of SQLite and PostgreSQL
    both keep "\\ud800" as an escape) is served escaped instead of a 500 for the org."""
    now = wall_now()
    with database.session() as session:
        org = repo.get_or_create_org(session, "acme")
        session.execute(
            insert(Command).values(
                id="legacy000001",
                org_id=org.id,
                charger_id=charger_id,
                identity="BAD-001",
                location_id=None,
                event_type="proxy_message",
                ocpp_version="ocpp1.6",
                payload={"action": "DataTransfer", "payload": {"data": "\ud800"}},
                status="queued",
                created_at=now,
                updated_at=now,
            )
        )
    listed = await client.get("/ocpp/commands", headers=admin)
    assert listed.status_code == 200
    assert listed.json()["items"][0]["payload"]["payload"]["data"] == "\ud800"
    one = await client.get("/ocpp/commands/legacy000001", headers=admin)
    assert one.status_code == 200
    listed.content.decode("ascii")  # escaped, so plain ASCII on the wire


async def test_the_422_handler_never_fails_whatever_it_is_given() -> None:
    """Input the body reader lets through can still not break the error answer: strings that
    cannot be encoded are escaped, values JSON cannot carry are dropped or spelled out."""
    errors = [
        {
            "type": "value_error",
            "loc": ("body", "k\ud800", 3),
            "msg": "bad \udfff",
            "input": {"\ud800": ["\udfff", float("nan"), float("inf")], "set": {1, 2}},
            "ctx": {"error": ValueError("\ud800")},
        },
        {"type": "missing", "loc": ("body",), "msg": "Field required", "input": object()},
    ]
    response = await validation_error(Request({"type": "http"}), RequestValidationError(errors))
    assert response.status_code == 422
    detail = json.loads(bytes(response.body).decode("utf-8"))["detail"]
    assert detail[0]["loc"] == ["body", "k\\ud800", 3]
    assert detail[0]["msg"] == "bad \\udfff"
    assert detail[0]["input"]["\\ud800"][:3] == ["\\udfff", "NaN", "Infinity"]
    assert detail[1]["loc"] == ["body"]


async def test_large_bodies_are_checked_whole(client: httpx.AsyncClient, admin: Headers) -> None:
    """Near the size limit: a shallow body passes the reader (the route then judges it), and a
    deep part hidden behind ~900 KB of shallow data is still found (reported at `body`)."""
    shallow = ",".join(["[]"] * 300_000)
    body = '{"name": "n", "csms_url": "%s", "junk": [%s]}'
    passed = await post_raw(client, "/ocpp/locations", body % (CSMS, shallow), admin)
    assert ["body", "junk"] in [error["loc"] for error in passed.json()["detail"]]
    hidden = await post_raw(
        client, "/ocpp/locations", body % (CSMS, shallow + "," + nested(300)), admin
    )
    assert hidden.status_code == 422
    assert hidden.json()["detail"] == [
        {
            "type": "json_too_deep",
            "loc": ["body"],
            "msg": f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
        }
    ]


async def test_the_virtual_cpo_route_is_gateway_api_not_ocpi(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    """`/ocpi/cpos` is a Gateway API route: its refusals are FastAPI-shaped, not enveloped."""
    deep = await post_raw(client, "/ocpi/cpos", "[" * 100_000, admin)
    assert deep.status_code == 422
    assert deep.json()["detail"][0]["type"] == "json_too_deep"
    text = await post_raw(client, "/ocpi/cpos", json.dumps({"name": "\ud800"}), admin)
    assert_names(text, ["body", "name"])
