"""A virtual CPO speaking OCPI 2.1.1, end to end against an independent eMSP: extrawest-ocpi's
own 2.1.1 routers and pydantic models (tests/peers/ocpi_emsp/emsp_211.py, in its own venv and
process). The 2.1.1 handshake with Token A, paged pulls, START_SESSION -> a charger really
charges -> Session PUT/PATCHes -> STOP_SESSION -> a priced CDR; every push is parsed by
py_ocpi's 2.1.1 model and answered HTTP 200 / OCPI 1000, and its body is checked against the
2.1.1 object tables (field names, embedded location, auth_id, energy and cost)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from peers.ocpi_emsp211_peer import OcpiEmsp211Peer

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

EMSP = "/ocpi/emsp/2.1.1"
# A 2.1.1 Token (mod_tokens.md 3.2): auth_id is the contract id Sessions and CDRs refer to.
TOKEN_211 = {
    "uid": "EXP211-RFID-1",
    "type": "RFID",
    "auth_id": "NL-EXP-C00000211-X",
    "issuer": "Expo eMSP",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-01-01T00:00:00Z",
}
# 2.2.1 names a 2.1.1 object must not carry
NOT_211_SESSION = {"start_date_time", "end_date_time", "cdr_token", "location_id", "evse_uid"}
NOT_211_CDR = {"end_date_time", "cdr_token", "cdr_location", "session_id", "country_code"}


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port(), VOLTLAB_TIME_SCALE="200")
    yield server
    server.stop()


def ok(event: dict) -> bool:
    """py_ocpi parsed the body with its 2.1.1 model and answered HTTP 200 / OCPI 1000."""
    return event["status"] == 200 and event["ocpi_status"] == 1000


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def energy(periods: list[dict]) -> float:
    return sum(d["volume"] for p in periods for d in p["dimensions"] if d["type"] == "ENERGY")


def assert_embeds_one_connector(obj: dict, location_id: str, evse_uid: str) -> None:
    """2.1.1 Sessions and CDRs embed the Location with only the relevant EVSE and connector."""
    location = obj["location"]
    assert location["id"] == location_id
    assert [evse["uid"] for evse in location["evses"]] == [evse_uid]
    assert len(location["evses"][0]["connectors"]) == 1


async def test_ocpi211_cpo_against_extrawest_211_emsp(serve: ServeProcess) -> None:
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http,
        OcpiEmsp211Peer(country_code="NL", party_id="EXP") as emsp,
    ):
        response = await http.post(
            "/ocpi/cpos",
            json={
                "template": "small-urban-ac",
                "country_code": "FR",
                "party_id": "OLD",
                "name_prefix": "old",
                "ocpi_version": "2.1.1",
                "seed": 11,
                "overrides": {"locations": 2, "chargers_per_location": 1},
            },
        )
        assert response.status_code == 202, response.text
        created = response.json()
        assert created["ocpi_peer_url"].endswith("/ocpi/2.1.1/versions")

        # The 2.1.1 handshake: versions, details, POST credentials (flat 2.1.1 Credentials)
        # with Token A; py_ocpi's models accept every answer (strict), Token C comes back.
        registration = await emsp.register(created["ocpi_peer_url"], created["token_a"])
        assert registration["validation"] == []
        assert registration["token_c"] not in (None, "", created["token_a"])
        assert registration["party"]["country_code"] == "FR"
        assert registration["party"]["party_id"] == "OLD"
        modules = {e["identifier"] for e in registration["endpoints"]}
        assert {"credentials", "locations", "tariffs", "sessions", "cdrs", "commands"} <= modules
        # The CPO called our versions and details back with token B, unencoded as 2.1.1 sends.
        await emsp.sync()
        callbacks = emsp.received("/ocpi/versions") + emsp.received("/ocpi/2.1.1/details")
        assert len(callbacks) == 2 and all(ok(ev) for ev in callbacks), callbacks
        assert all(ev["auth"]["matches"] == "token_b" for ev in callbacks)
        # Token A is spent; Token C works.
        status, _ = await emsp.raw("GET", created["ocpi_peer_url"], created["token_a"])
        assert status == 401
        status, body = await emsp.raw("GET", created["ocpi_peer_url"], registration["token_c"])
        assert status == 200 and body["status_code"] == 1000

        ready = await wait_ready(http, created["status_url"])
        assert ready["status"] == "READY", ready
        cpo = (await http.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
        assert cpo["ocpi_peer"]["registered"] is True

        # Paged pulls, one object per page, following Link rel="next"; py_ocpi's 2.1.1
        # Location and Tariff models accept every object.
        pages = await emsp.get("locations", params={"limit": 1}, follow=True)
        assert len(pages) == 2 and pages[0]["headers"]["x-total-count"] == "2"
        assert "link" in pages[0]["headers"] and "link" not in pages[1]["headers"]
        assert all(p["status"] == 200 and p["validation"] == [] for p in pages), pages
        locations = [loc for page in pages for loc in page["body"]["data"]]
        assert len({loc["id"] for loc in locations}) == 2
        tariff_pages = await emsp.get("tariffs", params={"limit": 1}, follow=True)
        tariffs = [t for page in tariff_pages for t in page["body"]["data"]]
        assert all(p["status"] == 200 and p["validation"] == [] for p in tariff_pages)
        assert len(tariffs) == int(tariff_pages[0]["headers"]["x-total-count"]) >= 1
        assert len(tariff_pages) == len(tariffs)
        await emsp.sync()
        pulled_at = len(emsp.events)  # from here on the eMSP holds every location

        # START_SESSION (2.1.1 StartSession with a 2.1.1 Token): CommandResponse ACCEPTED at
        # once, then the CommandResponse (2.1.1 has no CommandResult) POSTed to response_url.
        location = locations[0]
        evse = location["evses"][0]
        connector = evse["connectors"][0]
        start = await emsp.command(
            "START_SESSION",
            {"token": TOKEN_211, "location_id": location["id"], "evse_uid": evse["uid"]},
            command_id="start-211",
        )
        assert start["status"] == 200 and start["validation"] == [], start
        assert start["body"]["data"] == {"result": "ACCEPTED"}
        result = await emsp.wait_for_command_result("start-211", timeout=20)
        assert ok(result) and result["body"] == {"result": "ACCEPTED"}, result

        put = await emsp.wait_for_received(f"{EMSP}/sessions", "PUT", timeout=20)
        assert ok(put), put
        session = put["body"]
        session_id = session["id"]
        assert put["path"] == f"{EMSP}/sessions/FR/OLD/{session_id}"
        assert session["status"] == "ACTIVE" and "start_datetime" in session
        assert not NOT_211_SESSION & set(session), session.keys()
        assert session["auth_id"] == TOKEN_211["auth_id"]
        assert session["auth_method"] == "AUTH_REQUEST"  # 2.1.1 has no COMMAND
        assert_embeds_one_connector(session, location["id"], evse["uid"])
        assert session["location"]["evses"][0]["connectors"][0]["id"] == connector["id"]

        # Meter samples become PATCHes. A 2.1.1 PATCH replaces the fields it carries
        # (transport_and_format.md "PATCH"; 2.1.1 has no 2.2.1-style "periods are added" rule).
        # py_ocpi applies it so and answers with the Session it now holds: after every push
        # that Session's periods must add up to its kWh.
        def session_patches() -> list[dict]:
            return emsp.received(f"{EMSP}/sessions/", "PATCH")

        deadline = time.monotonic() + 20
        while len(session_patches()) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert len(session_patches()) >= 3, emsp.received(f"{EMSP}/sessions/")

        stop = await emsp.command("STOP_SESSION", {"session_id": session_id}, command_id="stop-211")
        assert stop["status"] == 200 and stop["body"]["data"] == {"result": "ACCEPTED"}, stop
        stop_result = await emsp.wait_for_command_result("stop-211", timeout=20)
        assert ok(stop_result) and stop_result["body"] == {"result": "ACCEPTED"}
        cdr_post = await emsp.wait_for_received(f"{EMSP}/cdrs", "POST", timeout=20)
        assert ok(cdr_post), cdr_post
        cdr = cdr_post["body"]
        # The session's COMPLETED push (PUT or PATCH) travels apart from the CDR's.
        await emsp.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("path", "").startswith(f"{EMSP}/sessions/")
                and (e.get("body") or {}).get("status") == "COMPLETED"
            ),
            timeout=20,
        )
        await emsp.sync()

        pushes = emsp.received(f"{EMSP}/sessions/")
        held = []  # the Session the eMSP holds after each push
        for push in pushes:
            assert ok(push), push
            assert push["path"] == f"{EMSP}/sessions/FR/OLD/{session_id}"
            assert not NOT_211_SESSION & set(push["body"]), push["body"]
            view = push["response"]["data"][0]
            assert view["id"] == session_id
            assert energy(view["charging_periods"]) == pytest.approx(view["kwh"], abs=0.002)
            held.append(view)
        assert [v["kwh"] for v in held] == sorted(v["kwh"] for v in held)
        final = held[-1]
        assert final["status"] == "COMPLETED", pushes[-1]
        assert ts(final["end_datetime"]) >= ts(final["start_datetime"])

        # The CDR: 2.1.1 names, the Token's auth_id, the location embedded, energy = the
        # charger's own meter delta = the final Session's kWh, cost a plain number (excl. VAT).
        assert not NOT_211_CDR & set(cdr), cdr.keys()
        assert cdr["auth_id"] == TOKEN_211["auth_id"]
        assert_embeds_one_connector(cdr, location["id"], evse["uid"])
        assert ts(cdr["stop_date_time"]) >= ts(cdr["start_date_time"])
        assert ts(cdr["start_date_time"]) == ts(session["start_datetime"])
        assert cdr["total_energy"] == pytest.approx(final["kwh"], abs=0.0005)
        assert energy(cdr["charging_periods"]) == pytest.approx(cdr["total_energy"], abs=0.002)
        assert isinstance(cdr["total_cost"], float | int) and cdr["total_cost"] > 0
        assert cdr["total_cost"] == pytest.approx(final["total_cost"], abs=0.0001)
        assert cdr["total_time"] > 0
        assert [t["id"] for t in cdr["tariffs"]] == [connector["tariff_id"]]

        frames = []
        for charger_id in cpo["charger_ids"]:
            items = (
                await http.get(f"/ocpp/chargers/{charger_id}/messages", params={"limit": 1000})
            ).json()["items"]
            if any(f["frame"][0] == 2 and f["frame"][2] == "StartTransaction" for f in items):
                frames = items
        calls = {
            action: [
                f["frame"][3]
                for f in frames
                if f["direction"] == "out" and f["frame"][0] == 2 and f["frame"][2] == action
            ]
            for action in ("StartTransaction", "StopTransaction")
        }
        assert len(calls["StartTransaction"]) == 1 and len(calls["StopTransaction"]) == 1
        delta_kwh = (
            calls["StopTransaction"][0]["meterStop"] - calls["StartTransaction"][0]["meterStart"]
        ) / 1000
        print(
            f"2.1.1 CDR {cdr['total_energy']} kWh (meter delta {delta_kwh} kWh), "
            f"total_cost {cdr['total_cost']}, {len(pushes)} session pushes"
        )
        assert delta_kwh > 0.1
        assert cdr["total_energy"] == pytest.approx(delta_kwh, abs=0.001)

        # SUA-STD-V1 by hand (excl. VAT, as 2.1.1 total_cost is): 0.35 flat + 0.39/kWh by day,
        # 0.29/kWh 22:00-06:00 Europe/Paris, step 1 Wh. A session across the switch lies between.
        assert connector["tariff_id"] == "SUA-STD-V1"
        paris = ZoneInfo("Europe/Paris")
        rates = {
            0.29 if (hour >= 22 or hour < 6) else 0.39
            for hour in (
                ts(cdr[key]).astimezone(paris).hour for key in ("start_date_time", "stop_date_time")
            )
        }
        wh = round(delta_kwh * 1000)
        low, high = (round(0.35 + wh / 1000 * rate, 2) for rate in (min(rates), max(rates)))
        assert low - 0.011 <= cdr["total_cost"] <= high + 0.011, (cdr["total_cost"], rates)

        # Every push py_ocpi received parsed (no 422). Location PATCHes after our pull find
        # the pulled locations: 200 / OCPI 1000, and the charging EVSE's status arrived.
        assert [ev for ev in emsp.received(EMSP) if ev["status"] == 422] == []
        # ... and carried only fields the 2.1.1 objects define (py_ocpi ignores the others).
        extra = [(ev["method"], ev["path"], ev["unknown_fields"]) for ev in emsp.received(EMSP)]
        assert [e for e in extra if e[2]] == []
        after_pull = [
            ev for ev in emsp.events[pulled_at:] if ev.get("path", "").startswith(f"{EMSP}/loc")
        ]
        assert after_pull and all(ok(ev) for ev in after_pull), after_pull
        assert any(
            ev["method"] == "PATCH" and ev["body"].get("status") == "CHARGING"
            for ev in after_pull
            if ev["path"].endswith(f"/{location['id']}/{evse['uid']}")
        ), after_pull
        for ev in emsp.received(f"{EMSP}/sessions/") + emsp.received(f"{EMSP}/cdrs"):
            assert ok(ev) and ev["auth"]["matches"] == "token_b", ev

        state = await emsp.state()
        stored = state["sessions"][f"fr/old/{session_id.lower()}"]
        assert stored["status"] == "COMPLETED" and stored["kwh"] == cdr["total_energy"]
        assert len(state["cdrs"]) == 1

        # Pulled as well (the CPO's GET, its 2.1.1 presentation of the stored objects): py_ocpi's
        # 2.1.1 models accept them and they say what the pushes said.
        since = {"date_from": "2000-01-01T00:00:00Z"}
        pulled_sessions = await emsp.get("sessions", params=since, follow=True)
        pulled_cdrs = await emsp.get("cdrs", params=since, follow=True)
        for pages_ in (pulled_sessions, pulled_cdrs):
            assert all(p["status"] == 200 and p["validation"] == [] for p in pages_), pages_
        [got_session] = [s for p in pulled_sessions for s in p["body"]["data"]]
        [got_cdr] = [c for p in pulled_cdrs for c in p["body"]["data"]]
        assert got_session["id"] == session_id and got_session["status"] == "COMPLETED"
        assert got_session["auth_id"] == got_cdr["auth_id"] == TOKEN_211["auth_id"]
        assert not NOT_211_SESSION & set(got_session) and not NOT_211_CDR & set(got_cdr)
        assert_embeds_one_connector(got_session, location["id"], evse["uid"])
        assert_embeds_one_connector(got_cdr, location["id"], evse["uid"])
        for key in ("id", "total_energy", "total_cost", "start_date_time", "stop_date_time"):
            assert got_cdr[key] == cdr[key], key

        # The CPO goes away while its eMSP still answers (so its last pushes land at once).
        await asyncio.to_thread(serve.stop)
