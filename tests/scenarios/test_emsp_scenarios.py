"""The eMSP scenarios against an independent eMSP (PyPI extrawest-ocpi, tests/peers) registered
with a virtual CPO of a `voltlab serve` process: they pass when the eMSP does what they require
and fail, at the step and with the message they should, when it does not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.serve_support import API_KEY, ServeProcess, free_port, wait_ready
from peers.ocpi_emsp_peer import OcpiEmspPeer

from .conftest import explain, failed_step
from .test_scenario_cli import python_path

TOKEN = {
    "country_code": "NL",
    "party_id": "EXP",
    "uid": "EXP-TOKEN-1",
    "type": "RFID",
    "contract_id": "NL-EXP-C00000001-X",
    "issuer": "Expo eMSP",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-01-01T00:00:00Z",
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    serve = ServeProcess(tmp_path, free_port(), PYTHONPATH=python_path())
    serve.start()
    try:
        await serve.wait_healthy()
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=30) as http:
            yield http
    finally:
        serve.stop()


async def _cpo(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.post(
        "/ocpi/cpos",
        json={
            "template": "small-urban-ac",
            "country_code": "FR",
            "party_id": "SCN",
            "name_prefix": "scn",
            "seed": 7,
            "overrides": {"chargers_per_location": 1, "locations": 1},
        },
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def _start(http: httpx.AsyncClient, name: str, cpo_id: str) -> str:
    response = await http.post(
        "/scenarios/runs", json={"scenario": name, "target": {"cpo_id": cpo_id}}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["run_id"])


async def _finished(http: httpx.AsyncClient, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = (await http.get(f"/scenarios/runs/{run_id}")).json()
        if run["status"] == "finished":
            return dict(run)
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.2)


async def _session(emsp: OcpiEmspPeer, never_stops: bool) -> None:
    pages = await emsp.get("locations", follow=True)
    location = pages[0]["body"]["data"][0]
    evse = location["evses"][0]
    start = await emsp.command(
        "START_SESSION",
        {"token": TOKEN, "location_id": location["id"], "evse_uid": evse["uid"]},
        command_id="start-1",
    )
    assert start["body"]["data"]["result"] == "ACCEPTED", start
    put = await emsp.wait_for_received("/ocpi/emsp/2.2.1/sessions", "PUT", timeout=30)
    await asyncio.sleep(1.0)  # a few simulated minutes of charging
    if never_stops:
        return  # the session runs on: no STOP_SESSION, no CDR
    stop = await emsp.command("STOP_SESSION", {"session_id": put["body"]["id"]}, command_id="s-1")
    assert stop["body"]["data"]["result"] == "ACCEPTED", stop


async def test_handshake_and_location_sync(server: httpx.AsyncClient) -> None:
    async with OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp:
        cpo = await _cpo(server)
        run_id = await _start(server, "emsp-handshake-location-sync", cpo["cpo_id"])
        await emsp.register(cpo["ocpi_peer_url"], cpo["token_a"])
        await wait_ready(server, cpo["status_url"])
        await emsp.get("locations", params={"limit": 1}, follow=True)
        run = await _finished(server, run_id)
    assert run["verdict"] == "passed", explain(run)
    assert all(s["status"] == "passed" for s in run["steps"]), explain(run)
    assert run["findings_available"] is True


async def test_handshake_without_location_sync_fails(server: httpx.AsyncClient) -> None:
    async with OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp:
        cpo = await _cpo(server)
        run_id = await _start(server, "emsp-handshake-location-sync", cpo["cpo_id"])
        await emsp.register(cpo["ocpi_peer_url"], cpo["token_a"])
        run = await _finished(server, run_id)
    assert run["verdict"] == "failed", explain(run)
    step = failed_step(run)
    assert step["name"] == "the eMSP pulled the locations", explain(run)
    assert "the eMSP's requests to locations: made no" in step["message"], explain(run)


@pytest.mark.parametrize("breaking", [False, True], ids=["passes", "emsp-never-stops"])
async def test_start_session_to_cdr(server: httpx.AsyncClient, breaking: bool) -> None:
    async with OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp:
        cpo = await _cpo(server)
        await emsp.register(cpo["ocpi_peer_url"], cpo["token_a"])
        await wait_ready(server, cpo["status_url"])
        run_id = await _start(server, "emsp-start-session-to-cdr", cpo["cpo_id"])
        await _session(emsp, never_stops=breaking)
        run = await _finished(server, run_id)
    if not breaking:
        assert run["verdict"] == "passed", explain(run)
        assert all(s["status"] == "passed" for s in run["steps"]), explain(run)
        return
    assert run["verdict"] == "failed", explain(run)
    step = failed_step(run)
    assert step["name"] == "the eMSP sends STOP_SESSION", explain(run)
    assert step["message"] == (
        "the eMSP's requests to commands: made only 200/1000 x1 within 600 s, expected at least "
        "2 answered 2xx/1000"
    ), explain(run)


async def _created_cpo(http: httpx.AsyncClient, run_id: str, timeout: float = 120) -> dict:
    """What the run's create_cpo step made, as the run shows it (target.created_cpo)."""
    deadline = time.monotonic() + timeout
    while True:
        run = (await http.get(f"/scenarios/runs/{run_id}")).json()
        created = run["target"].get("created_cpo")
        if created:
            return dict(created)
        assert run["status"] != "finished" and time.monotonic() < deadline, run
        await asyncio.sleep(0.2)


async def test_a_run_without_a_cpo_creates_one(server: httpx.AsyncClient) -> None:
    async with OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp:
        response = await server.post(
            "/scenarios/runs", json={"scenario": "emsp-handshake-location-sync", "target": {}}
        )
        assert response.status_code == 202, response.text
        run_id = str(response.json()["run_id"])
        created = await _created_cpo(server, run_id)
        assert created["cpo_id"].startswith("cpo-") and created["token_a"]
        assert created["status_url"] == f"/ocpi/cpos/{created['cpo_id']}/status"
        # The eMSP under test registers with what the run shows, as with a CPO of its own.
        await emsp.register(created["ocpi_peer_url"], created["token_a"])
        await emsp.get("locations", params={"limit": 1}, follow=True)
        run = await _finished(server, run_id)
    assert run["verdict"] == "passed", explain(run)
    assert all(s["status"] == "passed" for s in run["steps"]), explain(run)
    first = run["steps"][0]
    assert first["name"] == "the CPO to test against", explain(run)
    assert created["cpo_id"] in first["message"] and "READY" in first["message"]
    assert run["findings_available"] is True
    # The run's CPO goes with the run.
    cpo = (await server.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
    assert cpo["status"] in ("DESTROYING", "DESTROYED"), cpo
