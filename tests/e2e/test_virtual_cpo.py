"""A virtual CPO end to end, against an independent eMSP (PyPI `extrawest-ocpi`, in its own
venv and process): the seed's Create CPO example, the OCPI 2.2.1 handshake, paged locations,
START_SESSION -> a charger really charges -> Session pushes -> STOP_SESSION -> a priced CDR."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from peers.ocpi_emsp_peer import OcpiEmspPeer
from support import wait_until

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

SEED_FIELDS = {
    "cpo_id",
    "party",
    "name_prefix",
    "template",
    "template_version",
    "token_a",
    "ocpi_peer_url",
    "status_url",
    "destroy_url",
    "roam_helper",
    "workflow_run_id",
    "status",
    "expires_at",
}
SEED_PAYLOAD = {
    "template": "small-urban-ac",
    "country_code": "FR",
    "party_id": "ABC",
    "name_prefix": "alice",
    "role": "cpo",
    "ocpi_version": "2.2.1",
    "seed": 42,
    "ttl_seconds": 7200,
    "overrides": {"chargers_per_location": 3, "locations": 2},
}


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port())
    yield server
    server.stop()


def charger_frames(frames: list[dict], action: str) -> list[dict]:
    return [
        f["frame"][3]
        for f in frames
        if f["direction"] == "out" and f["frame"][0] == 2 and f["frame"][2] == action
    ]


async def test_seed_cpo_handshake_session_and_cdr(serve: ServeProcess) -> None:
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    async with (
        httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http,
        OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp,
    ):
        # The seed's Python example, host replaced: 202 with every documented field, fast.
        t0 = time.perf_counter()
        response = await http.post("/ocpi/cpos", json=SEED_PAYLOAD)
        elapsed = time.perf_counter() - t0
        assert response.status_code == 202, response.text
        created = response.json()
        print(f"POST /ocpi/cpos answered 202 in {elapsed * 1000:.1f} ms")
        assert elapsed < 1.0
        assert set(created) == SEED_FIELDS
        assert created["party"] == {"country_code": "FR", "party_id": "ABC", "role": "CPO"}
        assert created["status"] == "PENDING" and created["token_a"]
        assert created["roam_helper"]["credentials_payload"] == {
            "token": created["token_a"],
            "url": created["ocpi_peer_url"],
        }
        cpo_id = created["cpo_id"]

        # Token A works at once, while provisioning runs: the handshake A -> B -> C.
        registration = await emsp.register(created["ocpi_peer_url"], created["token_a"])
        assert registration["token_c"] and registration["token_c"] != created["token_a"]
        await emsp.sync()
        callbacks = emsp.received("/ocpi/versions") + emsp.received("/ocpi/2.2.1")
        assert callbacks, "the CPO never called back the eMSP's versions/details"
        assert all(ev["auth"]["matches"] == "token_b" for ev in callbacks)
        status, _ = await emsp.raw("GET", created["ocpi_peer_url"], created["token_a"])
        assert status == 401

        status = await wait_ready(http, created["status_url"])
        assert status["status"] == "READY", status
        assert [s["state"] for s in status["steps"]] == ["done"] * len(status["steps"])
        cpo = (await http.get(f"/ocpi/cpos/{cpo_id}")).json()
        assert "token_a" not in cpo
        assert cpo["ocpi_peer"]["registered"] is True
        chargers = []
        for location_id in cpo["location_ids"]:
            page = (await http.get("/ocpp/chargers", params={"location_id": location_id})).json()
            chargers += page["items"]
        assert len(chargers) == 6
        assert all(c["identity"].startswith("alice") for c in chargers)

        # Locations with limit=2, following Link to the end: counts match the template
        # (2 locations); limit=1 makes the CPO page and the peer follow rel="next".
        pages = await emsp.get("locations", params={"limit": 2}, follow=True)
        locations = [loc for page in pages for loc in page["body"]["data"]]
        assert len(locations) == 2 and pages[0]["headers"]["x-total-count"] == "2"
        paged = await emsp.get("locations", params={"limit": 1}, follow=True)
        assert (
            len(paged) == 2 and "link" in paged[0]["headers"] and "link" not in paged[1]["headers"]
        )
        assert [loc["id"] for page in paged for loc in page["body"]["data"]] == [
            loc["id"] for loc in locations
        ]
        assert all(
            page["validation"] in ([], None, [[]], [[], []]) or not any(page["validation"])
            for page in pages
        )
        evses = [evse for loc in locations for evse in loc["evses"]]
        assert len(evses) == sum(len(c["connectors"]) for c in chargers)
        tariffs = [
            t for page in await emsp.get("tariffs", follow=True) for t in page["body"]["data"]
        ]

        # START_SESSION on the first EVSE: ACCEPTED at once, CommandResult ACCEPTED after the
        # charger answered RemoteStartTransaction, then Session pushes the eMSP accepts.
        location = locations[0]
        evse = location["evses"][0]
        token = {
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
        start = await emsp.command(
            "START_SESSION",
            {"token": token, "location_id": location["id"], "evse_uid": evse["uid"]},
            command_id="start-1",
        )
        assert start["status"] == 200 and start["body"]["data"]["result"] == "ACCEPTED", start
        result = await emsp.wait_for_command_result("start-1", timeout=20)
        assert result["body"]["result"] == "ACCEPTED", result
        assert result["status"] < 300
        put = await emsp.wait_for_received("/ocpi/emsp/2.2.1/sessions", "PUT", timeout=20)
        assert put["status"] == 200 and put["ocpi_status"] == 1000, put
        session_id = put["body"]["id"]
        await emsp.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("method") == "PATCH"
                and "/sessions/" in e.get("path", "")
            ),
            timeout=20,
        )
        await asyncio.sleep(2.0)  # a few more meter samples (simulated minutes)

        stop = await emsp.command("STOP_SESSION", {"session_id": session_id}, command_id="stop-1")
        assert stop["body"]["data"]["result"] == "ACCEPTED", stop
        stop_result = await emsp.wait_for_command_result("stop-1", timeout=20)
        assert stop_result["body"]["result"] == "ACCEPTED"
        cdr_post = await emsp.wait_for_received("/ocpi/emsp/2.2.1/cdrs", "POST", timeout=20)
        assert cdr_post["status"] in (200, 201) and cdr_post["ocpi_status"] == 1000, cdr_post
        cdr = cdr_post["body"]

        # Energy: the charger's own meter delta, from its OCPP frame log.
        charger = next(
            c for c in chargers if c["identity"].endswith(evse["uid"].rsplit("-", 1)[0][5:])
        )
        frames = (
            await http.get(
                f"/ocpp/chargers/{charger['charger_id']}/messages", params={"limit": 1000}
            )
        ).json()["items"]
        starts = charger_frames(frames, "StartTransaction")
        stops = charger_frames(frames, "StopTransaction")
        assert len(starts) == 1 and len(stops) == 1
        meter_delta_kwh = (stops[0]["meterStop"] - starts[0]["meterStart"]) / 1000
        print(f"CDR energy {cdr['total_energy']} kWh, charger meter delta {meter_delta_kwh} kWh")
        assert cdr["total_energy"] == pytest.approx(meter_delta_kwh, abs=0.001)
        assert meter_delta_kwh > 0.2

        # Cost: the tariff applied by hand. SUA-STD-V1: 0.35 flat + 0.39/kWh by day
        # (0.29/kWh 22:00-06:00 Europe/Paris), step 1 Wh, VAT 20 %; no idle time here.
        tariff = next(t for t in tariffs if t["id"] == evse["connectors"][0]["tariff_ids"][0])
        assert tariff["id"] == "SUA-STD-V1"
        started = datetime.fromisoformat(cdr["start_date_time"].replace("Z", "+00:00"))
        local_hour = started.astimezone(ZoneInfo("Europe/Paris")).hour
        rate = 0.29 if (local_hour >= 22 or local_hour < 6) else 0.39
        wh = round(meter_delta_kwh * 1000)
        excl = round(0.35 + wh / 1000 * rate, 2)
        incl = round(0.35 * 1.2 + wh / 1000 * rate * 1.2, 2)
        print(f"CDR cost {cdr['total_cost']} vs by hand excl {excl} incl {incl}")
        assert cdr["total_cost"]["excl_vat"] == pytest.approx(excl, abs=0.011)
        assert cdr["total_cost"]["incl_vat"] == pytest.approx(incl, abs=0.011)

        # The report adds it up.
        report = (await http.get(f"/ocpi/cpos/{cpo_id}/report")).json()
        assert report["sessions"]["total"] == 1 and report["cdrs"]["total"] == 1
        assert report["energy_kwh"] == pytest.approx(cdr["total_energy"], abs=0.001)
        assert report["network"]["chargers"] == 6
        assert report["ocpi_peer"]["registered"] is True
        await wait_until(lambda: True)


async def test_dc_hub_cpo_on_ocpp201_chargers(serve: ServeProcess) -> None:
    """highway-dc-hub chargers speak OCPP 2.0.1 to the built-in CSMS; the eMSP sees the same
    OCPI: a session started by command, pushed, stopped, and a CDR whose energy is the
    charger's own meter delta (from its TransactionEvents)."""
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http,
        OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp,
    ):
        created = (
            await http.post(
                "/ocpi/cpos",
                json={
                    "template": "highway-dc-hub",
                    "country_code": "DE",
                    "party_id": "HWY",
                    "name_prefix": "hub",
                    "seed": 5,
                    "overrides": {"locations": 1, "chargers_per_location": 2},
                },
            )
        ).json()
        await emsp.register(created["ocpi_peer_url"], created["token_a"])
        status = await wait_ready(http, created["status_url"])
        assert status["status"] == "READY", status
        cpo = (await http.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
        chargers = (
            await http.get("/ocpp/chargers", params={"location_id": cpo["location_ids"][0]})
        ).json()["items"]
        assert {c["ocpp_version"] for c in chargers} == {"ocpp2.0.1"}
        location = (await emsp.get("locations"))[0]["body"]["data"][0]
        evse = location["evses"][0]
        token = {
            "country_code": "NL",
            "party_id": "EXP",
            "uid": "EXP-DC-1",
            "type": "RFID",
            "contract_id": "NL-EXP-C00000002-X",
            "issuer": "Expo eMSP",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        }
        start = await emsp.command(
            "START_SESSION",
            {"token": token, "location_id": location["id"], "evse_uid": evse["uid"]},
            command_id="dc-start",
        )
        assert start["body"]["data"]["result"] == "ACCEPTED", start
        assert (await emsp.wait_for_command_result("dc-start", timeout=20))["body"][
            "result"
        ] == "ACCEPTED"
        put = await emsp.wait_for_received("/ocpi/emsp/2.2.1/sessions", "PUT", timeout=20)
        assert put["ocpi_status"] == 1000, put
        await asyncio.sleep(2.0)
        stop = await emsp.command(
            "STOP_SESSION", {"session_id": put["body"]["id"]}, command_id="dc-stop"
        )
        assert stop["body"]["data"]["result"] == "ACCEPTED", stop
        cdr_post = await emsp.wait_for_received("/ocpi/emsp/2.2.1/cdrs", "POST", timeout=20)
        assert cdr_post["ocpi_status"] == 1000, cdr_post
        cdr = cdr_post["body"]
        # identity "hub-DEHWY-L01-C01" owns EVSE "DEHWY-L01-C01-1"
        charger = next(
            c for c in chargers if evse["uid"].startswith(c["identity"].split("-", 1)[1])
        )
        frames = (
            await http.get(
                f"/ocpp/chargers/{charger['charger_id']}/messages", params={"limit": 1000}
            )
        ).json()["items"]
        events = [
            f["frame"][3]
            for f in frames
            if f["direction"] == "out"
            and f["frame"][0] == 2
            and f["frame"][2] == "TransactionEvent"
        ]
        started = next(e for e in events if e["eventType"] == "Started")
        ended = next(e for e in events if e["eventType"] == "Ended")

        def register(event: dict) -> float:
            return next(
                float(sv["value"])
                for mv in event["meterValue"]
                for sv in mv["sampledValue"]
                if sv["measurand"] == "Energy.Active.Import.Register"
            )

        delta_kwh = (register(ended) - register(started)) / 1000
        print(f"2.0.1 CPO: CDR {cdr['total_energy']} kWh, meter delta {delta_kwh:.4f} kWh")
        assert delta_kwh > 0.5
        assert cdr["total_energy"] == pytest.approx(delta_kwh, abs=0.002)
        assert cdr["total_cost"]["excl_vat"] > 0


async def test_emsp_charging_profile_limits_the_charger(serve: ServeProcess) -> None:
    """OCPI chargingprofiles: the eMSP's 3.7 kW limit on a session becomes an OCPP TxProfile;
    the charger's power follows it and the Session pushes show it."""
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http,
        OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp,
    ):
        created = (
            await http.post(
                "/ocpi/cpos",
                json={
                    "template": "small-urban-ac",
                    "country_code": "FR",
                    "party_id": "LIM",
                    "name_prefix": "lim",
                    "seed": 8,
                    "overrides": {"locations": 1, "chargers_per_location": 1},
                },
            )
        ).json()
        registration = await emsp.register(created["ocpi_peer_url"], created["token_a"])
        assert (await wait_ready(http, created["status_url"]))["status"] == "READY"
        location = (await emsp.get("locations"))[0]["body"]["data"][0]
        evse = location["evses"][0]  # small-urban-ac: AC EVSEs
        token = {
            "country_code": "NL",
            "party_id": "EXP",
            "uid": "EXP-LIM-1",
            "type": "RFID",
            "contract_id": "NL-EXP-C00000003-X",
            "issuer": "Expo eMSP",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        }
        await emsp.command(
            "START_SESSION",
            {"token": token, "location_id": location["id"], "evse_uid": evse["uid"]},
            command_id="lim-start",
        )
        assert (await emsp.wait_for_command_result("lim-start", timeout=20))["body"][
            "result"
        ] == "ACCEPTED"
        put = await emsp.wait_for_received("/ocpi/emsp/2.2.1/sessions", "PUT", timeout=20)
        session_id = put["body"]["id"]
        endpoint = next(
            e["url"] for e in registration["endpoints"] if e["identifier"] == "chargingprofiles"
        )
        status, body = await emsp.raw(
            "PUT",
            f"{endpoint}/{session_id}",
            registration["token_c"],
            {
                "charging_profile": {
                    "charging_rate_unit": "W",
                    "charging_profile_period": [{"start_period": 0, "limit": 3700}],
                },
                "response_url": emsp.response_url_for("cp-1"),
            },
        )
        assert status == 200 and body["data"]["result"] == "ACCEPTED", body
        result = await emsp.wait_for_command_result("cp-1", timeout=20)
        assert result["body"]["result"] == "ACCEPTED", result
        cpo = (await http.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
        charger_id = cpo["charger_ids"][0]

        async def connector_power() -> float:
            state = (await http.get(f"/ocpp/chargers/{charger_id}")).json()
            return max(c["power_w"] for c in state["connectors"])

        deadline = time.monotonic() + 10
        while await connector_power() > 3700.5 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert 0 < await connector_power() <= 3700.5
        # the next Session PATCH carries the limited power
        since = len(emsp.events)
        patch = await emsp.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("method") == "PATCH"
                and "/sessions/" in e.get("path", "")
            ),
            timeout=20,
            since=since,
        )
        periods = patch["body"]["charging_periods"]
        powers = [d["volume"] for d in periods[-1]["dimensions"] if d["type"] == "MAX_POWER"]
        assert powers and powers[0] <= 3.7
