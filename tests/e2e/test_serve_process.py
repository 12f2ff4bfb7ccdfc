"""`voltlab serve` as a real process: the seed's start-session example verbatim (host and charger
id replaced) against the strict ocpp-rpc CSMS, then a restart that keeps everything and brings
the running chargers back."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest

from support import wait_until

from .serve_support import API_KEY, ServeProcess, free_port

SEED_RESPONSE_KEYS = {"targeted_count", "queued_count", "failed_count", "results", "failed"}


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port())
    yield server
    server.stop()


async def test_seed_start_session_and_restart(serve: ServeProcess, peer16) -> None:
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=10) as http:
        created = await http.post(
            "/ocpp/locations",
            json={
                "name": "seed-site",
                "csms_url": peer16.url,
                "ocpp_version": "ocpp1.6",
                "chargers": 1,
                "model": "dc-150kw-2ccs",
                "identity_prefix": "CP-SEED-",
            },
        )
        assert created.status_code == 201, created.text
        charger = created.json()["chargers"][0]
        charger_id, identity = charger["charger_id"], charger["identity"]
        await peer16.wait_for_call(identity, "BootNotification", timeout=15)
        await wait_until(lambda: len(peer16.calls(identity, "StatusNotification")) >= 3)

        # A known EV (95 kWh, 150 kW DC) at 20 % so the energy limit comes before the duration.
        plug = await http.post(
            "/ocpp/commands/plug-connector",
            json={
                "target": {"charger_id": charger_id},
                "event": {"connector_id": 2, "ev_profile": "premium-suv", "soc_percent": 20},
            },
        )
        assert plug.status_code == 202

        # The seed's request, verbatim but for the charger id.
        t0 = time.perf_counter()
        response = await http.post(
            "/ocpp/commands/start-session",
            json={
                "target": {"charger_id": charger_id},
                "event": {
                    "id_tag": "EV-USER-1234",
                    "connector_id": 2,
                    "duration_seconds": 900,
                    "target_energy_kwh": 15.5,
                },
            },
        )
        elapsed = time.perf_counter() - t0
        assert response.status_code == 202, response.text
        body = response.json()
        assert set(body) == SEED_RESPONSE_KEYS
        assert (body["targeted_count"], body["queued_count"], body["failed_count"]) == (1, 1, 0)
        result = body["results"][0]
        assert set(result) == {"charger_id", "identity", "command"}
        assert (result["charger_id"], result["identity"]) == (charger_id, identity)
        assert set(result["command"]) == {"id", "event_type", "ocpp_version", "payload"}
        assert result["command"]["event_type"] == "start_session"
        assert result["command"]["ocpp_version"] == "ocpp1.6"
        assert result["command"]["payload"] == {
            "id_tag": "EV-USER-1234",
            "connector_id": 2,
            "duration_seconds": 900,
            "target_energy_kwh": 15.5,
        }
        assert body["failed"] == []
        print(f"start-session 202 in {elapsed * 1000:.1f} ms")

        start = await peer16.wait_for_call(identity, "StartTransaction", timeout=15)
        stop = await peer16.wait_for_call(identity, "StopTransaction", timeout=30)
        energy = stop["meterStop"] - start["meterStart"]
        print(f"energy delivered {energy} Wh for a 15500 Wh target")
        assert energy == pytest.approx(15_500, rel=0.02)
        authorize = peer16.calls(identity, "Authorize")
        assert [a["idTag"] for a in authorize] == ["EV-USER-1234"]
        meter_values = peer16.calls(identity, "MeterValues")
        assert meter_values, "no MeterValues during the session"
        socs = [
            float(sv["value"])
            for mv in meter_values
            for sv in mv["meterValue"][0]["sampledValue"]
            if sv["measurand"] == "SoC"
        ]
        assert socs and socs == sorted(socs) and socs[0] >= 20
        registers = [
            float(sv["value"])
            for mv in meter_values
            for sv in mv["meterValue"][0]["sampledValue"]
            if sv["measurand"] == "Energy.Active.Import.Register"
        ]
        assert registers == sorted(registers)
        command_id = result["command"]["id"]
        record = (await http.get(f"/ocpp/commands/{command_id}")).json()
        assert record["status"] == "succeeded"
        frames_before = (
            await http.get(f"/ocpp/chargers/{charger_id}/messages", params={"limit": 1000})
        ).json()
        assert len(frames_before["items"]) >= 10

    # Restart: everything is kept and the charger comes back on its own.
    boots_before = len(peer16.calls(identity, "BootNotification"))
    serve.stop()
    await peer16.wait_disconnected(identity, timeout=10)
    serve.start()
    await serve.wait_healthy()
    await wait_until(
        lambda: len(peer16.calls(identity, "BootNotification")) > boots_before, timeout=15
    )
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=10) as http:
        state = (await http.get(f"/ocpp/chargers/{charger_id}")).json()
        assert state["identity"] == identity
        # the meter register survived the restart
        assert state["connectors"][1]["meter_wh"] == pytest.approx(stop["meterStop"], abs=1)
        record = (await http.get(f"/ocpp/commands/{command_id}")).json()
        assert record["status"] == "succeeded"
        frames_after = (
            await http.get(f"/ocpp/chargers/{charger_id}/messages", params={"limit": 1000})
        ).json()
        ids_before = {f["id"] for f in frames_before["items"]}
        assert ids_before <= {f["id"] for f in frames_after["items"]}
    await peer16.sync()
    assert peer16.strict_failures == []


async def test_killed_during_a_session_closes_it_with_power_loss(
    serve: ServeProcess, peer16
) -> None:
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=10) as http:
        created = await http.post(
            "/ocpp/chargers",
            json={"identity": "CP-KILL-1", "csms_url": peer16.url, "model": "ac-7kw-1c"},
        )
        assert created.status_code == 201, created.text
        charger_id = created.json()["charger_id"]
        await wait_until(
            lambda: len(peer16.calls("CP-KILL-1", "StatusNotification")) >= 2, timeout=15
        )
        response = await http.post(
            "/ocpp/commands/start-session",
            json={
                "target": {"charger_id": charger_id},
                "event": {"id_tag": "NIGHT", "connector_id": 1},
            },
        )
        assert response.status_code == 202
        start = await peer16.wait_for_call("CP-KILL-1", "StartTransaction", timeout=15)
        await peer16.wait_for_call("CP-KILL-1", "MeterValues", timeout=15)
        await asyncio.sleep(1.0)  # let a state flush happen after the first samples
    serve.kill()
    serve.start()
    await serve.wait_healthy()
    stop = await peer16.wait_for_call("CP-KILL-1", "StopTransaction", timeout=20)
    assert stop["reason"] == "PowerLoss"
    assert stop["transactionId"] == 1 or stop["transactionId"] >= 1
    assert stop["idTag"] == "NIGHT"
    assert stop["meterStop"] > start["meterStart"]
    await peer16.sync()
    assert peer16.strict_failures == []


async def test_queue_survives_kill_9_while_the_csms_is_away(
    serve: ServeProcess, tmp_path: Path
) -> None:
    """The CSMS goes away mid-session, the station queues its meter values, then `voltlab serve`
    itself is killed -9; after both come back, the CSMS gets every queued message once, in
    order, then the session's PowerLoss stop."""
    from peers.ocpp_rpc_peer import OcppRpcPeer

    first = OcppRpcPeer(protocols=("ocpp1.6",), strict=True)
    await first.start()
    port = first.port
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=10) as http:
        created = await http.post(
            "/ocpp/chargers",
            json={"identity": "CP-Q-1", "csms_url": first.url, "model": "ac-7kw-1c"},
        )
        charger_id = created.json()["charger_id"]
        await wait_until(lambda: len(first.calls("CP-Q-1", "StatusNotification")) >= 2, timeout=15)
        await http.post(
            "/ocpp/commands/start-session",
            json={
                "target": {"charger_id": charger_id},
                "event": {"id_tag": "Q-TAG", "connector_id": 1},
            },
        )
        await wait_until(lambda: len(first.calls("CP-Q-1", "MeterValues")) >= 2, timeout=15)
        await first.sync()
        before = list(first.calls("CP-Q-1", "MeterValues"))
        await first.stop()
        await asyncio.sleep(3.0)  # ~5 samples queued (100x clock, 60 s interval)
    serve.kill()
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True, port=port) as second:
        serve.start()
        await serve.wait_healthy()
        stop = await second.wait_for_call("CP-Q-1", "StopTransaction", timeout=30)
        await second.sync()
        after = second.calls("CP-Q-1", "MeterValues")
        assert len(after) >= 3, "the queued meter values did not survive the kill"
        stamps = [mv["meterValue"][0]["timestamp"] for mv in before + after]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert stop["reason"] == "PowerLoss" and stop["transactionId"] == before[0]["transactionId"]
        frames = [f for f in second.frames("CP-Q-1", direction="in") if f[0] == 2]
        order = [f[2] for f in frames if f[2] in ("MeterValues", "StopTransaction")]
        assert order[-1] == "StopTransaction" and set(order[:-1]) == {"MeterValues"}
        assert second.strict_failures == []


async def test_a_first_start_that_loses_its_port_takes_another(tmp_path: Path) -> None:
    """The suite's servers start in parallel: a port free when chosen may be taken before the
    bind. The first start then moves to another free port instead of failing the test."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    server = ServeProcess(tmp_path, port)
    try:
        server.start()
        await server.wait_healthy()
        assert server.port != port
        async with httpx.AsyncClient() as http:
            assert (await http.get(server.base + "/health")).status_code == 200
        assert "address already in use" in server.read_log()
    finally:
        server.stop()
        taken.close()
