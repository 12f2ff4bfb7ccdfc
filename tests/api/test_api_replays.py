"""/ocpp/replays and the frame log's JSON-lines export, at the HTTP surface: bad captures are a
422 naming the field (and the line), runs are the caller's org's, rows of the database, and a
run the server could not finish reads `error`. The replays on the wire: tests/replay."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from voltlab.api.app import create_app
from voltlab.replay.formats import parse_capture
from voltlab.store.db import Database
from voltlab.store.models import Frame
from voltlab.store.replay_models import ReplayRun

from .conftest import FakeFleet, Headers, LocationMaker

# Nothing listens on port 1 of the loopback: a replay there ends `error` at once.
NOWHERE = "ws://127.0.0.1:1/ocpp"
BOOT = [2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]
BOOT_OK = [3, "b1", {"status": "Accepted", "currentTime": "2025-01-01T00:00:00Z", "interval": 60}]


def capture(identity: str | None = "CP-API", *extra: str) -> str:
    names = {"identity": identity} if identity else {}
    lines = [
        json.dumps(
            {"timestamp": "2025-01-01T00:00:00Z", "direction": "out", "frame": BOOT} | names
        ),
        json.dumps({"timestamp": "2025-01-01T00:00:01Z", "direction": "in", "frame": BOOT_OK}),
        *extra,
    ]
    return "\n".join(lines) + "\n"


VERSIONED = "\n".join(
    json.dumps({"direction": d, "frame": f, "identity": "CP-V", "ocpp_version": "ocpp1.6"})
    for d, f in (("out", BOOT), ("in", BOOT_OK))
)


async def finished(client: httpx.AsyncClient, run_id: str, headers: Headers) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        response = await client.get(f"/ocpp/replays/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        run = response.json()
        if run["status"] != "running":
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.05)


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    [detail] = response.json()["detail"]
    return detail


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"capture": capture("CP-API", "{oops")}, ["body", "capture"], "line 3: not JSON"),
        ({"capture": capture(None)}, ["body", "identity"], "does not name its station"),
        ({"capture": "hello\n"}, ["body", "capture"], "line 1: neither JSON lines"),
        (
            {"capture": VERSIONED, "ocpp_version": "ocpp2.0.1"},
            ["body", "ocpp_version"],
            "cannot be replayed as ocpp2.0.1",
        ),
        ({"capture": capture(), "speed": 0}, ["body", "speed"], "greater than 0"),
        ({"capture": capture(), "format": "pcap"}, ["body", "format"], "'auto'"),
        ({"capture": capture(), "identity": "has space"}, ["body", "identity"], "pattern"),
        ({"capture": ""}, ["body", "capture"], "at least 1 character"),
        ({"capture": capture(), "csms_url": "http://x"}, ["body", "csms_url"], "ws://"),
        ({"capture": capture(), "surprise": 1}, ["body", "surprise"], "Extra inputs"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, admin: Headers, body: dict[str, Any], loc: list[str], message: str
) -> None:
    response = await client.post("/ocpp/replays", json={"csms_url": NOWHERE} | body, headers=admin)
    detail = refusal(response)
    assert detail["loc"] == loc
    assert message in detail["msg"]
    listed = await client.get("/ocpp/replays", headers=admin)
    assert listed.json()["items"] == []  # nothing started


async def test_the_unparseable_line_comes_back_as_the_input(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    body = {"csms_url": NOWHERE, "capture": capture("CP-API", '{"direction": "sideways"}')}
    detail = refusal(await client.post("/ocpp/replays", json=body, headers=admin))
    assert detail["msg"].startswith("line 3: `direction` 'sideways'")
    assert detail["input"] == '{"direction": "sideways"}'


async def test_a_run_is_a_row_of_its_org_and_ends_error_without_a_csms(
    client: httpx.AsyncClient, keys: dict[str, Headers], database: Database
) -> None:
    admin = keys["admin"]
    response = await client.post(
        "/ocpp/replays", json={"csms_url": NOWHERE, "capture": capture()}, headers=admin
    )
    assert response.status_code == 202, response.text
    started = response.json()
    run_id = started["run_id"]
    assert started["status"] == "running" and started["status_url"] == f"/ocpp/replays/{run_id}"
    assert (started["identity"], started["ocpp_version"], started["format"]) == (
        "CP-API",
        "ocpp1.6",
        "jsonl",
    )
    run = await finished(client, run_id, admin)
    assert run["status"] == "error"
    assert "127.0.0.1:1" in run["message"] and run["findings"] == []
    with database.session() as session:
        row = session.get(ReplayRun, run_id)
        assert row is not None and row.status == "error" and row.finished_at is not None
    # Tenancy: another org sees nothing of it; a viewer reads but may not start one.
    rival = keys["rival"]
    assert (await client.get(f"/ocpp/replays/{run_id}", headers=rival)).status_code == 404
    assert (await client.get("/ocpp/replays", headers=rival)).json()["items"] == []
    assert [
        r["run_id"] for r in (await client.get("/ocpp/replays", headers=admin)).json()["items"]
    ] == [run_id]
    viewer = keys["viewer"]
    assert (await client.get(f"/ocpp/replays/{run_id}", headers=viewer)).status_code == 200
    body = {"csms_url": NOWHERE, "capture": capture()}
    assert (await client.post("/ocpp/replays", json=body, headers=viewer)).status_code == 403
    assert (await client.post("/ocpp/replays", json=body)).status_code == 401
    assert (await client.get("/ocpp/replays/rpl-nothing", headers=admin)).status_code == 404


async def test_a_run_left_running_by_a_stopped_server_reads_error(
    database: Database, fleet: FakeFleet
) -> None:
    database.migrate()
    with database.session() as session:
        session.add(
            ReplayRun(
                id="rpl-left",
                org_id="org-x",
                status="running",
                identity="CP",
                csms_url=NOWHERE,
                ocpp_version="ocpp1.6",
                format="jsonl",
                speed=1.0,
            )
        )
    app = create_app(database, fleet)  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        with database.session() as session:
            row = session.get(ReplayRun, "rpl-left")
            assert row is not None
            assert (row.status, row.message) == ("error", "the server stopped during the replay")


async def test_the_frame_log_exports_as_json_lines_oldest_first(
    client: httpx.AsyncClient,
    keys: dict[str, Headers],
    make_location: LocationMaker,
    database: Database,
    fleet: FakeFleet,
) -> None:
    admin = keys["admin"]
    charger = (await make_location(chargers=1, identity_prefix="EXP-"))["chargers"][0]
    charger_id = charger["charger_id"]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    texts = [json.dumps(BOOT), json.dumps(BOOT_OK), "not json"]
    with database.session() as session:
        for index, text in enumerate(texts):
            session.add(
                Frame(
                    charger_id=charger_id,
                    ts=start + timedelta(milliseconds=250 * index),
                    direction="out" if index == 0 else "in",
                    frame=text,
                )
            )
    path = f"/ocpp/chargers/{charger_id}/messages"
    response = await client.get(path, params={"format": "jsonl"}, headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert fleet.flushes == 1
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0] == {
        "timestamp": "2025-01-01T00:00:00.000Z",
        "direction": "out",
        "frame": BOOT,
        "identity": charger["identity"],
        "ocpp_version": "ocpp1.6",
    }
    assert [line["frame"] for line in lines] == [BOOT, BOOT_OK, "not json"]
    assert lines[2]["timestamp"] == "2025-01-01T00:00:00.500Z"
    # What the replay reads back: the frames, and the line it could not use.
    read = parse_capture(response.text)
    assert [frame.message for frame in read.frames] == [BOOT, BOOT_OK]
    assert read.identity == charger["identity"] and [s.line for s in read.skipped] == [3]
    newest = await client.get(path, params={"format": "jsonl", "limit": 1}, headers=admin)
    assert [json.loads(line)["frame"] for line in newest.text.splitlines()] == ["not json"]
    assert (await client.get(path, params={"format": "xml"}, headers=admin)).status_code == 422
    foreign = await client.get(path, params={"format": "jsonl"}, headers=keys["rival"])
    assert foreign.status_code == 404
    # The JSON page is as it was.
    page = (await client.get(path, headers=admin)).json()
    assert [item["frame"] for item in page["items"]] == ["not json", BOOT_OK, BOOT]
