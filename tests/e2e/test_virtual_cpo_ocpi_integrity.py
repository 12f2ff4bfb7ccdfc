"""OCPI data integrity of a virtual CPO, checked against the OCPI 2.2.1 SHALL rules with an
independent eMSP (PyPI `extrawest-ocpi`, its own venv and process) that also merges Session
PATCHes the way the sessions module says (charging_periods are added, other fields replaced):

- `authorization_reference` from START_SESSION and from real-time authorization is carried
  by the Session and the CDR (Session and CDR object tables);
- a Session PATCH carries only the new charging periods, so the merged Session ends with the
  CDR's periods and energy (sessions module, PATCH method);
- every timestamp comes from one clock (VOLTLAB_TIME_SCALE=100 here): no push is stamped
  before the session started or before the periods it carries, and `date_from` pulls find
  the active session and exactly the Locations whose EVSEs changed (locations module:
  an EVSE change updates the Location's last_updated).

Checks are collected and reported together, so one run names every broken rule."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from peers.ocpi_emsp_peer import OcpiEmspPeer

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

SESSIONS = "/ocpi/emsp/2.2.1/sessions/"
START_REFERENCE = "REF-START-0001"


@pytest.fixture
def serve(tmp_path: Path):
    # Simulated time runs 100x: station timestamps far ahead of the wall clock, so any OCPI
    # timestamp read from another clock shows.
    server = ServeProcess(tmp_path, free_port(), VOLTLAB_TIME_SCALE="100")
    yield server
    server.stop()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def energy(periods: list[dict[str, Any]]) -> float:
    return sum(d["volume"] for p in periods for d in p["dimensions"] if d["type"] == "ENERGY")


async def all_evses_available(emsp: OcpiEmspPeer, timeout: float = 30.0) -> dict[str, Any]:
    """The last locations page once every EVSE reports AVAILABLE (every charger booted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pages = await emsp.get("locations", follow=True)
        evses = [e for page in pages for loc in page["body"]["data"] for e in loc["evses"]]
        if evses and all(e["status"] == "AVAILABLE" for e in evses):
            return pages[-1]
        await asyncio.sleep(0.2)
    raise AssertionError("the EVSEs never all became AVAILABLE")


def session_pushes(emsp: OcpiEmspPeer, session_id: str) -> list[dict[str, Any]]:
    return [
        ev
        for ev in emsp.received(SESSIONS)
        if ev["path"].rstrip("/").endswith("/" + session_id) and ev["method"] in ("PUT", "PATCH")
    ]


def check_session_pushes(
    pushes: list[dict[str, Any]], start: datetime, failures: list[str], label: str
) -> None:
    """One clock: no push stamped before the session started or before a period it carries;
    2.2.1 PATCHes never re-send a period (they are added, not replaced)."""
    sent_starts: list[str] = []
    for push in pushes:
        body = push["body"]
        stamp = when(body["last_updated"])
        if stamp < start:
            failures.append(
                f"{label}: {push['method']} last_updated {body['last_updated']} is before "
                f"the session's start_date_time {start.isoformat()}"
            )
        for period in body.get("charging_periods") or []:
            if when(period["start_date_time"]) > stamp:
                failures.append(
                    f"{label}: {push['method']} stamped {body['last_updated']} carries a "
                    f"period starting {period['start_date_time']}"
                )
        periods = [p["start_date_time"] for p in body.get("charging_periods") or []]
        if push["method"] == "PUT":
            sent_starts = periods
            continue
        again = sorted(set(periods) & set(sent_starts))
        if again:
            failures.append(f"{label}: a PATCH re-sends {len(again)} earlier periods {again[:3]}")
        sent_starts += periods


def check_merge_steps(
    steps: list[dict[str, Any]], key: str, failures: list[str], label: str
) -> None:
    """After every push the merging eMSP's Session holds periods adding up to its kwh."""
    mine = [step for step in steps if step["key"] == key]
    for number, step in enumerate(mine, 1):
        if abs(step["period_kwh"] - (step["kwh"] or 0)) > 0.0005 * max(1, step["periods"]):
            failures.append(
                f"{label}: after push {number} ({step['method']}) the merged Session has "
                f"{step['periods']} periods holding {step['period_kwh']:.4f} kWh for a "
                f"session of {step['kwh']} kWh"
            )


def check_merged_against_cdr(
    merged: dict[str, Any], cdr: dict[str, Any], failures: list[str], label: str
) -> None:
    merged_starts = [p["start_date_time"] for p in merged.get("charging_periods") or []]
    cdr_starts = [p["start_date_time"] for p in cdr["charging_periods"]]
    if merged_starts != cdr_starts:
        failures.append(
            f"{label}: the merged Session has {len(merged_starts)} periods, the CDR "
            f"{len(cdr_starts)} (merged {merged_starts[:4]}..., CDR {cdr_starts[:4]}...)"
        )
    merged_kwh = energy(merged.get("charging_periods") or [])
    print(
        f"{label}: merged Session {len(merged_starts)} periods {merged_kwh:.4f} kWh "
        f"(kwh field {merged.get('kwh')}), CDR {len(cdr_starts)} periods "
        f"{energy(cdr['charging_periods']):.4f} kWh, total_energy {cdr['total_energy']}"
    )
    if abs(merged_kwh - cdr["total_energy"]) > 0.0005 * max(1, len(cdr_starts)):
        failures.append(
            f"{label}: merged Session periods hold {merged_kwh:.4f} kWh, "
            f"the CDR's total_energy is {cdr['total_energy']}"
        )
    if abs(energy(cdr["charging_periods"]) - cdr["total_energy"]) > 0.0005 * max(
        1, len(cdr_starts)
    ):
        failures.append(
            f"{label}: CDR periods hold {energy(cdr['charging_periods']):.4f} kWh, "
            f"total_energy {cdr['total_energy']}"
        )
    if merged.get("kwh") != pytest.approx(cdr["total_energy"], abs=0.0005):
        failures.append(f"{label}: merged kwh {merged.get('kwh')} vs CDR {cdr['total_energy']}")


async def test_session_and_cdr_integrity_against_a_merging_emsp(serve: ServeProcess) -> None:
    serve.start()
    await serve.wait_healthy()
    failures: list[str] = []
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
                    "party_id": "INT",
                    "name_prefix": "integ",
                    "seed": 11,
                    "overrides": {"locations": 2, "chargers_per_location": 1},
                },
            )
        ).json()
        await emsp.register(created["ocpi_peer_url"], created["token_a"])
        assert (await wait_ready(http, created["status_url"]))["status"] == "READY"

        # -- Locations: booted chargers changed their EVSEs; the Location follows (4) -------
        last_page = await all_evses_available(emsp)
        locations = [
            loc for page in await emsp.get("locations", follow=True) for loc in page["body"]["data"]
        ]
        assert len(locations) == 2
        for loc in locations:
            newest_evse = max(when(e["last_updated"]) for e in loc["evses"])
            if when(loc["last_updated"]) < newest_evse:
                failures.append(
                    f"location {loc['id']} last_updated {loc['last_updated']} is older than "
                    f"its EVSE's {newest_evse.isoformat()}"
                )
        # The sync point an eMSP keeps: the timestamp of its last pull.
        synced_at = last_page["body"]["timestamp"]
        await asyncio.sleep(0.3)  # 30 simulated seconds

        # -- A session started by START_SESSION with an authorization_reference (1, 2, 3) ---
        used, idle = locations[0], locations[1]
        evse = used["evses"][0]
        token = {
            "country_code": "NL",
            "party_id": "EXP",
            "uid": "EXP-INT-1",
            "type": "RFID",
            "contract_id": "NL-EXP-C00000011-X",
            "issuer": "Expo eMSP",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        }
        start = await emsp.command(
            "START_SESSION",
            {
                "token": token,
                "location_id": used["id"],
                "evse_uid": evse["uid"],
                "authorization_reference": START_REFERENCE,
            },
            command_id="int-start",
        )
        assert start["body"]["data"]["result"] == "ACCEPTED", start
        put = await emsp.wait_for_received(SESSIONS, "PUT", timeout=20)
        session_id = put["body"]["id"]
        session_start = when(put["body"]["start_date_time"])
        if put["body"].get("authorization_reference") != START_REFERENCE:
            failures.append(
                f"START_SESSION: Session PUT authorization_reference is "
                f"{put['body'].get('authorization_reference')!r}, not {START_REFERENCE!r}"
            )
        for _ in range(3):
            since = len(emsp.events)
            await emsp.wait_for(
                lambda e: (
                    e.get("event") == "received"
                    and e.get("method") == "PATCH"
                    and e.get("path", "").startswith(SESSIONS)
                ),
                timeout=20,
                since=since,
            )

        # date_from pulls during the session, from the one clock.
        pulled = [
            s
            for page in await emsp.get(
                "sessions", params={"date_from": put["body"]["start_date_time"]}, follow=True
            )
            for s in page["body"]["data"]
        ]
        if session_id not in [s["id"] for s in pulled]:
            failures.append(
                f"GET sessions?date_from={put['body']['start_date_time']} (the session's own "
                f"start) misses the active session: got {[s['id'] for s in pulled]}"
            )
        elif (
            next(s for s in pulled if s["id"] == session_id).get("authorization_reference")
            != START_REFERENCE
        ):
            failures.append("GET sessions: the pulled Session lacks the authorization_reference")
        changed = [
            loc
            for page in await emsp.get("locations", params={"date_from": synced_at}, follow=True)
            for loc in page["body"]["data"]
        ]
        changed_ids = sorted(loc["id"] for loc in changed)
        print(f"locations changed since {synced_at}: {changed_ids}")
        if changed_ids != [used["id"]]:
            failures.append(
                f"GET locations?date_from={synced_at} (last pull's timestamp) returns "
                f"{changed_ids}; only {used['id']} changed (idle: {idle['id']})"
            )

        stop = await emsp.command("STOP_SESSION", {"session_id": session_id}, command_id="int-stop")
        assert stop["body"]["data"]["result"] == "ACCEPTED", stop
        cdr_post = await emsp.wait_for_received("/ocpi/emsp/2.2.1/cdrs", "POST", timeout=20)
        assert cdr_post["ocpi_status"] == 1000, cdr_post
        cdr = cdr_post["body"]
        if cdr.get("authorization_reference") != START_REFERENCE:
            failures.append(
                f"START_SESSION: CDR authorization_reference is "
                f"{cdr.get('authorization_reference')!r}, not {START_REFERENCE!r}"
            )
        await asyncio.sleep(0.5)  # the last session push after the CDR, if any
        await emsp.sync()
        pushes = session_pushes(emsp, session_id)
        print(
            f"START_SESSION session: {len(pushes)} pushes "
            f"({sum(p['method'] == 'PATCH' for p in pushes)} PATCH)"
        )
        assert all(p["status"] == 200 and p["ocpi_status"] == 1000 for p in pushes), pushes
        check_session_pushes(pushes, session_start, failures, "START_SESSION")
        state = await emsp.state()
        key = f"fr/int/{session_id.lower()}"
        check_merge_steps(state["merge_steps"], key, failures, "START_SESSION")
        check_merged_against_cdr(state["merged_sessions"][key], cdr, failures, "START_SESSION")
        # The pull has the complete Session too: every period the CDR has.
        full = [
            s
            for page in await emsp.get("sessions", follow=True)
            for s in page["body"]["data"]
            if s["id"] == session_id
        ]
        assert len(full) == 1
        if [p["start_date_time"] for p in full[0]["charging_periods"]] != [
            p["start_date_time"] for p in cdr["charging_periods"]
        ]:
            failures.append("GET sessions: the pulled Session's periods differ from the CDR's")

        # -- A session authorized in real time: the eMSP's reference is carried (1) --------
        rt_token = dict(token, uid="EXP-RT-1", contract_id="NL-EXP-C00000012-X")
        rt_token["whitelist"] = "NEVER"  # the CPO must ask the eMSP every time
        pushed = await emsp.push_token(rt_token)
        assert pushed["status"] in (200, 201), pushed
        cpo = (await http.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
        idle_chargers = [
            c
            for location_id in cpo["location_ids"]
            for c in (await http.get("/ocpp/chargers", params={"location_id": location_id})).json()[
                "items"
            ]
            if idle["evses"][0]["uid"].startswith(c["identity"].split("-", 1)[1])
        ]
        assert len(idle_chargers) == 1, idle_chargers
        answer = await http.post(
            "/ocpp/commands/start-session",
            json={
                "target": {"charger_id": idle_chargers[0]["charger_id"]},
                "event": {"id_tag": "EXP-RT-1", "connector_id": 1, "duration_seconds": 900},
            },
        )
        assert answer.status_code == 202, answer.text
        command_id = answer.json()["results"][0]["command"]["id"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = (await http.get(f"/ocpp/commands/{command_id}")).json()
            if record["status"] not in ("queued", "running"):
                break
            await asyncio.sleep(0.1)
        assert record["status"] == "succeeded", record
        since = len(emsp.events)
        rt_put = await emsp.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("method") == "PUT"
                and e.get("path", "").startswith(SESSIONS)
                and e["body"].get("id") != session_id
            ),
            timeout=30,
        )
        authorizations = [
            ev
            for ev in emsp.received("/ocpi/emsp/2.2.1/tokens/EXP-RT-1/authorize", "POST")
            if ev["seq"] < rt_put["seq"]
        ]
        assert authorizations, "the CPO never asked the eMSP to authorize EXP-RT-1"
        reference = authorizations[-1]["response"]["data"]["authorization_reference"]
        if rt_put["body"].get("authorization_reference") != reference:
            failures.append(
                f"real-time authorization: Session PUT authorization_reference is "
                f"{rt_put['body'].get('authorization_reference')!r}, the eMSP answered "
                f"{reference!r}"
            )
        rt_cdr = await emsp.wait_for_received(
            "/ocpi/emsp/2.2.1/cdrs", "POST", timeout=40, since=since
        )
        if rt_cdr["body"].get("authorization_reference") != reference:
            failures.append(
                f"real-time authorization: CDR authorization_reference is "
                f"{rt_cdr['body'].get('authorization_reference')!r}, not {reference!r}"
            )
        await asyncio.sleep(0.5)
        await emsp.sync()
        rt_id = rt_put["body"]["id"]
        check_session_pushes(
            session_pushes(emsp, rt_id), when(rt_put["body"]["start_date_time"]), failures, "RT"
        )
        state = await emsp.state()
        key = f"fr/int/{rt_id.lower()}"
        check_merge_steps(state["merge_steps"], key, failures, "RT")
        check_merged_against_cdr(state["merged_sessions"][key], rt_cdr["body"], failures, "RT")

    for failure in failures:
        print("FAIL:", failure)
    assert not failures, "\n".join(failures)
