"""The hijack of issue 10, replayed against a running virtual CPO (`voltlab serve`, an
independent eMSP in its own process, the CPO's real charger on the built-in CSMS).

The attacker is a plain `websockets` client on the CSMS endpoint. Without credentials, with a
wrong password, or for an identity that does not exist, it gets one and the same HTTP 401;
with the right password (read from the database: the test plays an attacker who stole it)
it is refused with 409 while the real station stays connected and keeps working. Once the
real station is offline the attacker gets in and sends StopTransaction with a meterStop of
500 000 000 Wh (and a timestamp a year ahead): the CDR the eMSP receives, and the one the CPO
serves, carry the energy the real station metered, not the forged one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from peers.ocpi_emsp_peer import OcpiEmspPeer
from voltlab.fleet.driver.security import basic_auth_header

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

FORGED_METER_STOP_WH = 500_000_000
TOKEN = {
    "country_code": "NL",
    "party_id": "EXP",
    "uid": "EXP-HIJACK-1",
    "type": "RFID",
    "contract_id": "NL-EXP-C00000009-X",
    "issuer": "Expo eMSP",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-01-01T00:00:00Z",
}


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port())
    yield server
    server.stop()


async def refused(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict]:
    """Status, body and headers of a handshake the CSMS refuses (fails if it accepts)."""
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            url, subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=5
        ):  # type: ignore[list-item]
            pass
    response = caught.value.response
    return response.status_code, response.body, dict(response.headers)


def charger_calls(frames: list[dict], action: str) -> list[list]:
    return [
        f["frame"]
        for f in frames
        if f["direction"] == "out" and f["frame"][0] == 2 and f["frame"][2] == action
    ]


def answer_to(frames: list[dict], message_id: str) -> dict:
    return next(
        f["frame"][2]
        for f in frames
        if f["direction"] == "in" and f["frame"][0] == 3 and f["frame"][1] == message_id
    )


async def frame_log(http: httpx.AsyncClient, charger_id: str) -> list[dict]:
    response = await http.get(f"/ocpp/chargers/{charger_id}/messages", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))  # oldest first


async def call(ws: ClientConnection, message_id: str, action: str, payload: dict) -> list:
    await ws.send(json.dumps([2, message_id, action, payload]))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame[0] in (3, 4) and frame[1] == message_id:
            return frame


async def test_hijack_is_refused_and_a_forged_meter_stop_is_not_billed(
    serve: ServeProcess, tmp_path: Path
) -> None:
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
                    "party_id": "HIJ",
                    "name_prefix": "hij",
                    "seed": 3,
                    "overrides": {"locations": 1, "chargers_per_location": 1},
                },
            )
        ).json()
        cpo_id = created["cpo_id"]
        await emsp.register(created["ocpi_peer_url"], created["token_a"])
        assert (await wait_ready(http, created["status_url"]))["status"] == "READY"
        cpo = (await http.get(f"/ocpi/cpos/{cpo_id}")).json()
        charger_id = cpo["charger_ids"][0]
        charger = (await http.get(f"/ocpp/chargers/{charger_id}")).json()
        identity = charger["identity"]
        assert charger["security"]["profile"] == 1 and charger["security"]["password_set"]
        assert "password" not in json.dumps(charger["security"]).replace("password_set", "")
        assert charger["connection"] == "connected" and charger["registration"] == "Accepted"

        # The stored secrets: plaintext for the station, only a sha256 for the CSMS.
        with sqlite3.connect(tmp_path / "voltlab.db") as db:
            (security,) = db.execute(
                "SELECT security FROM chargers WHERE id = ?", (charger_id,)
            ).fetchone()
            credentials = db.execute(
                "SELECT identity, password_hash FROM csms_station_credentials WHERE cpo_id = ?",
                (cpo_id,),
            ).fetchall()
        password = json.loads(security)["password"]
        assert 16 <= len(password) <= 40  # OCPP BasicAuthPassword / AuthorizationKey
        assert credentials == [(identity, hashlib.sha256(password.encode()).hexdigest())]

        csms = serve.base.replace("http://", "ws://") + "/csms"
        url = f"{csms}/{cpo_id}/{identity}"
        # (a) no credentials, (b) a wrong password, (c) an unknown identity or CPO: one answer.
        no_credentials = await refused(url)
        wrong_password = await refused(url, basic_auth_header(identity, password[:-1] + "x"))
        stranger = identity[:-1] + ("9" if identity[-1] != "9" else "8")
        unknown_identity = await refused(
            f"{csms}/{cpo_id}/{stranger}", basic_auth_header(stranger, password)
        )
        unknown_cpo = await refused(
            f"{csms}/cpo-0000000000/{identity}", basic_auth_header(identity, password)
        )
        other_user = await refused(url, basic_auth_header(stranger, password))
        answers = [no_credentials, wrong_password, unknown_identity, unknown_cpo, other_user]
        for status, body, response_headers in answers:
            assert status == 401
            assert body == no_credentials[1]
            assert response_headers["www-authenticate"].startswith("Basic ")
        print(f"401 body for every refusal: {no_credentials[1]!r}")

        # (d) The right credentials while the real station is connected: refused.
        status, body, _ = await refused(url, basic_auth_header(identity, password))
        assert status == 409, body
        print(f"authenticated duplicate: HTTP {status} {body!r}")

        # The real station stayed connected: an eMSP session starts on it (a CSMS -> station
        # call and the station's StartTransaction), and it never reconnected.
        location = (await emsp.get("locations"))[0]["body"]["data"][0]
        evse = location["evses"][0]
        start = await emsp.command(
            "START_SESSION",
            {"token": TOKEN, "location_id": location["id"], "evse_uid": evse["uid"]},
            command_id="hijack-start",
        )
        assert start["body"]["data"]["result"] == "ACCEPTED", start
        result = await emsp.wait_for_command_result("hijack-start", timeout=20)
        assert result["body"]["result"] == "ACCEPTED", result
        put = await emsp.wait_for_received("/ocpi/emsp/2.2.1/sessions", "PUT", timeout=20)
        session_id = put["body"]["id"]
        await emsp.wait_for(
            lambda e: (
                e.get("event") == "received"
                and e.get("method") == "PATCH"
                and session_id in e.get("path", "")
            ),
            timeout=20,
        )
        frames = await frame_log(http, charger_id)
        assert len(charger_calls(frames, "BootNotification")) == 1  # no reconnect
        assert (await http.get(f"/ocpp/chargers/{charger_id}")).json()["connection"] == (
            "connected"
        )

        # (e) The real station goes offline mid-session; the thief connects in its place and
        # forges the stop: 500 000 kWh, stamped a year ahead to stretch the time allowed.
        assert (await http.post(f"/ocpp/chargers/{charger_id}/stop")).status_code == 200
        frames = await frame_log(http, charger_id)
        started = charger_calls(frames, "StartTransaction")
        assert len(started) == 1
        transaction_id = answer_to(frames, started[0][1])["transactionId"]
        meter_start = started[0][3]["meterStart"]
        metered = [
            float(sv["value"])
            for frame in charger_calls(frames, "MeterValues")
            if frame[3].get("transactionId") == transaction_id
            for mv in frame[3]["meterValue"]
            for sv in mv["sampledValue"]
            if sv.get("measurand", "Energy.Active.Import.Register")
            == "Energy.Active.Import.Register"
        ]
        assert metered, "the real station sent no meter values"
        real_kwh = (max(metered) - meter_start) / 1000
        auth = basic_auth_header(identity, password)
        deadline = time.monotonic() + 15
        while True:  # the CSMS notices the real station's close within moments
            try:
                intruder = await connect(
                    url,
                    subprotocols=["ocpp1.6"],
                    additional_headers=auth,
                    open_timeout=5,  # type: ignore[list-item]
                )
                break
            except InvalidStatus as exc:
                assert exc.response.status_code == 409 and time.monotonic() < deadline
                await asyncio.sleep(0.2)
        async with intruder:
            boot = await call(
                intruder,
                "b1",
                "BootNotification",
                {"chargePointVendor": "Evil", "chargePointModel": "Twin"},
            )
            assert boot[0] == 3
            forged_at = datetime.now(UTC) + timedelta(days=365)
            answer = await call(
                intruder,
                "s1",
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": FORGED_METER_STOP_WH,
                    "timestamp": forged_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "reason": "Local",
                },
            )
            assert answer[0] == 3  # StopTransaction.conf cannot refuse: answered normally
        cdr_post = await emsp.wait_for_received("/ocpi/emsp/2.2.1/cdrs", "POST", timeout=20)
        cdr = cdr_post["body"]
        print(
            f"CDR after a forged meterStop of {FORGED_METER_STOP_WH} Wh: "
            f"{cdr['total_energy']} kWh, {cdr['total_cost']}; real meter {real_kwh:.4f} kWh"
        )
        assert cdr["session_id"] == session_id
        assert cdr["total_energy"] == pytest.approx(real_kwh, abs=0.001)
        assert cdr["total_energy"] < 100
        # The forged stop time is not billed either: the session ends on the stations' clock,
        # not a year ahead (no year of parking or time cost).
        ended = datetime.fromisoformat(cdr["end_date_time"].replace("Z", "+00:00"))
        assert ended < forged_at - timedelta(days=300)
        assert cdr["total_time"] < 24
        assert cdr["total_cost"]["incl_vat"] < 10
        served = [c for page in await emsp.get("cdrs", follow=True) for c in page["body"]["data"]]
        assert [c["total_energy"] for c in served] == [cdr["total_energy"]]
        assert all(c["total_energy"] < 100 for c in served)
        assert "StopTransaction reading rejected" in serve.read_log()


async def test_chargers_of_a_cpo_from_before_station_auth_get_credentials_at_start(
    serve: ServeProcess, tmp_path: Path
) -> None:
    """A database written before station authentication: CPO chargers without `security`
    and no credential rows. At the next start the server issues each one its credential
    before the CSMS accepts connections, and the chargers boot with it."""
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http:
        created = (
            await http.post(
                "/ocpi/cpos",
                json={
                    "template": "small-urban-ac",
                    "country_code": "FR",
                    "party_id": "OLD",
                    "name_prefix": "old",
                    "seed": 4,
                    "overrides": {"locations": 1, "chargers_per_location": 2},
                },
            )
        ).json()
        assert (await wait_ready(http, created["status_url"]))["status"] == "READY"
    serve.stop()
    db_path = tmp_path / "voltlab.db"
    with sqlite3.connect(db_path) as db:  # what an older voltlab left behind
        db.execute("DELETE FROM csms_station_credentials")
        db.execute("UPDATE chargers SET security = NULL")
    serve.start()
    await serve.wait_healthy()
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http:
        cpo = (await http.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
        assert len(cpo["charger_ids"]) == 2

        async def booted() -> list[dict]:
            return [
                (await http.get(f"/ocpp/chargers/{charger_id}")).json()
                for charger_id in cpo["charger_ids"]
            ]

        deadline = time.monotonic() + 30
        chargers = await booted()
        while not all(c["registration"] == "Accepted" for c in chargers):
            assert time.monotonic() < deadline, chargers
            await asyncio.sleep(0.3)
            chargers = await booted()
        assert all(c["security"]["profile"] == 1 for c in chargers)
    with sqlite3.connect(db_path) as db:
        rows = dict(
            db.execute("SELECT identity, password_hash FROM csms_station_credentials").fetchall()
        )
        securities = {
            identity: json.loads(security)
            for identity, security in db.execute("SELECT identity, security FROM chargers")
        }
    assert set(rows) == {c["identity"] for c in chargers}
    for identity, password_hash in rows.items():
        password = securities[identity]["password"]
        assert hashlib.sha256(password.encode()).hexdigest() == password_hash
