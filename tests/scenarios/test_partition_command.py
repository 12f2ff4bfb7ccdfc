"""The `partition` and `restart-link` commands on the wire: the strict CSMS sees the connection
drop without a closing handshake (1006), the station keeps its session and queues, and it is
back when the partition ends (not before)."""

from __future__ import annotations

import asyncio
import time

from .conftest import SCENARIO_TIME_SCALE, Lab


async def _command(lab: Lab, slug: str, charger_id: str, event: dict) -> dict:
    response = await lab.http.post(
        f"/ocpp/commands/{slug}", json={"target": {"charger_id": charger_id}, "event": event}
    )
    assert response.status_code == 202, response.text
    command_id = response.json()["results"][0]["command"]["id"]
    for _ in range(400):
        record = (await lab.http.get(f"/ocpp/commands/{command_id}")).json()
        if record["status"] in ("succeeded", "failed", "timed_out"):
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"{slug} did not finish: {record}")


async def _state(lab: Lab, charger_id: str, **wanted: str) -> float:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = (await lab.http.get(f"/ocpp/chargers/{charger_id}")).json()
        if all(state.get(k) == v for k, v in wanted.items()):
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise AssertionError(f"{charger_id} never {wanted}: {state}")


async def test_partition_and_restart_link(lab: Lab) -> None:
    created = await lab.http.post(
        "/ocpp/chargers",
        json={"identity": "PART-1", "csms_url": lab.peer.url, "ocpp_version": "ocpp1.6"},
    )
    assert created.status_code == 201, created.text
    charger_id = created.json()["charger_id"]
    await _state(lab, charger_id, connection="connected", registration="Accepted")
    began = time.monotonic()
    record = await _command(lab, "partition", charger_id, {"duration_seconds": 180})
    assert record["status"] == "succeeded", record
    drop = await lab.peer.wait_disconnected("PART-1")
    assert drop["code"] == 1006, drop  # no closing handshake: a broken network
    back = await _state(lab, charger_id, connection="connected", registration="Accepted")
    # not back before the partition (180 simulated seconds) ended
    assert back - began >= 180 / SCENARIO_TIME_SCALE
    assert len(lab.peer.events_of("connected", "PART-1")) == 2

    since = len(lab.peer.events)
    record = await _command(lab, "restart-link", charger_id, {})
    assert record["status"] == "succeeded", record
    drop = await lab.peer.wait_disconnected("PART-1", since=since)
    assert drop["code"] == 1006
    await lab.peer.wait_connected("PART-1", since=since)
    boots = lab.peer.calls("PART-1", "BootNotification")
    assert len(boots) >= 1
