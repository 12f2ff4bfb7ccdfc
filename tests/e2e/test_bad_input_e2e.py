"""Issue 10's bad input against the real fleet and the strict ocpp-rpc CSMS: every bad body is a
4xx naming the field, nothing of it reaches the wire, the org's command records and every
charger's frame log stay readable and complete; a wss:// URL to a plain TCP port leaves a
`last_error` that names its cause."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert, select

from voltlab.clock import wall_now
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.models import Charger, Command

from .conftest import Gateway


def frame_keys(frames: list[list[Any]]) -> Counter[tuple[Any, ...]]:
    """(message type, message id, action of a CALL) of each frame: what the log must hold."""
    return Counter(
        (frame[0], frame[1], frame[2] if frame[0] == 2 else None)
        for frame in frames
        if isinstance(frame, list) and len(frame) >= 3
    )


async def frame_log(gw: Gateway, charger_id: str) -> list[list[Any]]:
    response = await gw.get(f"/ocpp/chargers/{charger_id}/messages", limit=1000)
    assert response.status_code == 200, response.text
    return [item["frame"] for item in response.json()["items"]]


def bad_bodies(charger_id: str) -> list[tuple[str, bytes, list[Any] | None]]:
    """(slug, raw body, loc the answer must name; None for a 413)."""

    def body(event: dict[str, Any]) -> bytes:
        return json.dumps({"target": {"charger_id": charger_id}, "event": event}).encode()

    deep = body({"action": "DataTransfer", "payload": {"vendorId": "v", "data": "@"}}).replace(
        b'"@"', b"[" * 300 + b"1" + b"]" * 300
    )
    return [
        (
            "proxy-message",
            body({"action": "DataTransfer", "payload": {"vendorId": "v", "data": "\ud800"}}),
            ["body", "event", "payload", "data"],
        ),
        ("proxy-message", deep, ["body", "event", "payload", "data", 0]),
        (
            "proxy-message",
            body(
                {"action": "DataTransfer", "payload": {"vendorId": "v", "data": "x" * 10_000_000}}
            ),
            None,
        ),
        (
            "proxy-message",
            body({"action": "DataTransfer", "payload": {"vendorId": "v", "data": "x" * 300_000}}),
            ["body", "event", "payload"],
        ),
        (
            "configuration",
            body({"key": "Heartbeat\u0000Interval", "value": "5"}),
            ["body", "event", "key"],
        ),
        (
            "start-session",
            body({"id_tag": "TAG\u00001", "connector_id": 1}),
            ["body", "event", "id_tag"],
        ),
        (
            "local-auth-list",
            body({"list_version": 10**30, "update_type": "Full", "entries": []}),
            ["body", "event", "list_version"],
        ),
        (
            "start-session",
            body({"id_tag": "TAG-1", "connector_id": 1, "duration_seconds": 10**30}),
            ["body", "event", "duration_seconds"],
        ),
        (
            "ev-requests-energy",
            body({"connector_id": 1, "power_kw": 1e300}),
            ["body", "event", "power_kw"],
        ),
        (
            "start-session",
            body({"id_tag": "TAG-1", "connector_id": 1, "target_energy_kwh": 1e300}),
            ["body", "event", "target_energy_kwh"],
        ),
    ]


async def test_bad_input_never_reaches_the_wire_and_logs_stay_complete(gateway: Gateway) -> None:
    gw = gateway
    location = await gw.location(chargers=2, prefix="CP-BAD-")
    target_charger, other = location["chargers"]
    before = len(gw.peer.frames(target_charger["identity"], "in"))

    queued: list[str] = []
    for slug, raw, loc in bad_bodies(target_charger["charger_id"]):
        # A good command for the other charger between the bad ones: its frames must all land.
        good = await gw.command(
            "proxy-message",
            {"charger_id": other["charger_id"]},
            {"action": "Heartbeat", "payload": {}},
        )
        queued.append(good[0]["id"])
        response = await gw.http.post(
            f"/ocpp/commands/{slug}",
            content=raw,
            headers={**gw.headers, "Content-Type": "application/json"},
        )
        if loc is None:
            assert response.status_code == 413, response.text
            assert "larger than" in response.json()["detail"]
            continue
        assert response.status_code == 422, (slug, response.text)
        locs = [error["loc"] for error in response.json()["detail"]]
        assert any(found[: len(loc)] == loc for found in locs), locs
    session = await gw.command(
        "start-session",
        {"charger_id": other["charger_id"]},
        {"id_tag": "TAG-OK", "connector_id": 1, "duration_seconds": 60},
    )
    stop = await gw.command(
        "stop-session", {"charger_id": other["charger_id"]}, {"connector_id": 1}
    )
    queued += [session[0]["id"], stop[0]["id"]]

    # Nothing from the refused bodies was sent (heartbeats go on; nothing else may).
    new_frames = gw.peer.frames(target_charger["identity"], "in")[before:]
    sent = {frame[2] for frame in new_frames if frame[0] == 2}
    assert sent <= {"Heartbeat"}, sent
    for action in ("DataTransfer", "Authorize", "StartTransaction"):
        assert gw.peer.calls(target_charger["identity"], action) == []
    assert gw.peer.raw_frames() == []
    assert gw.peer.strict_failures == []

    # The org's records: the list and each record answer 200 and hold exactly what was queued.
    listed = await gw.get("/ocpp/commands", limit=200)
    assert listed.status_code == 200, listed.text
    assert sorted(item["id"] for item in listed.json()["items"]) == sorted(queued)
    for command_id in queued:
        assert (await gw.get(f"/ocpp/commands/{command_id}")).status_code == 200

    # Every frame the CSMS saw for each charger is in that charger's frame log.
    for charger in (other, target_charger):
        wire = frame_keys(gw.peer.frames(charger["identity"]))
        logged = frame_keys(await frame_log(gw, charger["charger_id"]))
        assert wire and not (wire - logged), wire - logged
    assert len(gw.peer.calls(other["identity"], "StartTransaction")) == 1
    assert len(gw.peer.calls(other["identity"], "StopTransaction")) == 1
    assert (await gw.http.get("/health")).status_code == 200


@pytest.fixture
async def plain_tcp_port() -> AsyncIterator[int]:
    """A local port that accepts TCP and closes after reading, speaking no TLS at all."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(reader.read(1024), 2.0)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


async def test_wss_to_a_plain_port_names_the_cause(gateway: Gateway, plain_tcp_port: int) -> None:
    gw = gateway
    response = await gw.post(
        "/ocpp/chargers",
        {"identity": "TLS-TO-PLAIN", "csms_url": f"wss://127.0.0.1:{plain_tcp_port}/ocpp"},
    )
    assert response.status_code == 201, response.text
    charger_id = response.json()["charger_id"]

    found: list[str] = []
    for _ in range(200):  # bounded: 200 x 50 ms
        error = (await gw.charger(charger_id)).get("last_error")
        if error:
            found.append(error)
            break
        await asyncio.sleep(0.05)
    assert found, "no last_error after 10 s"
    error = found[-1]
    print("last_error:", error)
    _, _, cause = error.partition(": ")
    assert cause.strip(), error
    assert "TLS" in error
    assert not error.rstrip().endswith(":")


async def test_commands_that_bypass_the_api_are_bounded_at_execution(
    gateway: Gateway, database: Database
) -> None:
    """A command row written without the API's checks (queued before the bounds existed, or by
    another writer) fails with a clear code and leaves the station as it was."""
    gw = gateway
    location = await gw.location(chargers=1, prefix="CP-RAW-", model="ac-7kw-1c")
    charger = location["chargers"][0]
    await gw.command("plug-connector", {"charger_id": charger["charger_id"]}, {"connector_id": 1})
    rows = [
        ("local_auth_list", {"list_version": 10**30, "update_type": "Full", "entries": []}),
        ("start_session", {"id_tag": "T", "connector_id": 1, "duration_seconds": 10**30}),
        ("start_session", {"id_tag": "T", "connector_id": 1, "target_energy_kwh": 1e300}),
        ("power_update", {"connector_id": 1, "power_kw": 1e300}),
        ("ev_requests_energy", {"connector_id": 1, "power_kw": 7.5}),  # rated 7.4 kW
    ]
    now = wall_now()
    with database.session() as session:
        org_id = session.scalar(select(Charger.org_id).where(Charger.id == charger["charger_id"]))
        ids = []
        for event_type, payload in rows:
            command_id = repo.new_id()
            session.execute(
                insert(Command).values(
                    id=command_id,
                    org_id=org_id,
                    charger_id=charger["charger_id"],
                    identity=charger["identity"],
                    location_id=location["location_id"],
                    event_type=event_type,
                    ocpp_version="ocpp1.6",
                    payload=payload,
                    status="queued",
                    created_at=now,
                    updated_at=now,
                )
            )
            ids.append(command_id)
    for command_id in ids:
        gw.fleet.submit_command(command_id)
    codes = [(await gw.wait_command(command_id))["error"]["code"] for command_id in ids]
    assert codes == [
        "invalid_list_version",
        "invalid_duration_seconds",
        "invalid_target_energy_kwh",
        "invalid_power_kw",
        "invalid_power_kw",
    ]
    assert gw.peer.calls(charger["identity"], "StartTransaction") == []
    assert gw.peer.calls(charger["identity"], "Authorize") == []
    state = await gw.charger(charger["charger_id"])
    assert state["connectors"][0]["transaction_id"] is None
