"""The Create CPO seed page's field rules through `voltlab serve`: a human `name_prefix` in any
script, negative seeds, a country outside the detailed tables (and outside the 76 accepted
before), `role` limited to CPO. Each CPO provisions to READY, its chargers boot on the built-in
CSMS under OCPP-safe identities, the rows hold what was asked, and an independent eMSP (PyPI
`extrawest-ocpi`) pulls valid OCPI Locations."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from peers.ocpi_emsp_peer import OcpiEmspPeer
from voltlab.cpo.countries import COUNTRIES
from voltlab.cpo.generator import generate_network, network_fingerprint
from voltlab.cpo.networks import NETWORK_EPOCH
from voltlab.cpo.templates import TEMPLATES

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
BASE = {"template": "small-urban-ac", "country_code": "FR", "party_id": "ABC", "name_prefix": "a"}
OVERRIDES = {"locations": 1, "chargers_per_location": 2}
LATITUDE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
LONGITUDE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")
IDENTITY = re.compile(r"^[A-Za-z0-9._~\-]{1,48}$")


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port())
    yield server
    server.stop()


def expected_fingerprint(country: str, party: str, prefix: str, seed: int) -> str:
    network = generate_network(
        TEMPLATES["small-urban-ac"],
        seed=seed,
        country_code=country,
        party_id=party,
        name_prefix=prefix,
        overrides=OVERRIDES,
        created_at=NETWORK_EPOCH,
    )
    return network_fingerprint(network)


async def booted_chargers(http: httpx.AsyncClient, cpo: dict[str, Any]) -> list[dict[str, Any]]:
    """The CPO's chargers once each is connected and Accepted by the built-in CSMS."""
    deadline = time.monotonic() + 30
    while True:
        chargers = []
        for location_id in cpo["location_ids"]:
            page = await http.get("/ocpp/chargers", params={"location_id": location_id})
            chargers += page.json()["items"]
        if chargers and all(
            c["connection"] == "connected" and c["registration"] == "Accepted" for c in chargers
        ):
            return chargers
        if time.monotonic() > deadline:
            raise AssertionError(f"chargers did not boot: {chargers}")
        await asyncio.sleep(0.2)


async def test_refusals_name_the_field(serve: ServeProcess) -> None:
    serve.start()
    await serve.wait_healthy()
    cases: list[tuple[dict[str, Any], list[str], str]] = [
        ({"name_prefix": "   "}, ["body", "name_prefix"], "visible character"),
        ({"name_prefix": "bell\u0007"}, ["body", "name_prefix"], "control characters"),
        ({"name_prefix": "a\u0085b"}, ["body", "name_prefix"], "control characters"),
        ({"name_prefix": "é" * 33}, ["body", "name_prefix"], "at most 32"),
        ({"seed": 2**63}, ["body", "seed"], "less than or equal"),
        ({"seed": -(2**63) - 1}, ["body", "seed"], "greater than or equal"),
        ({"seed": True}, ["body", "seed"], "not a boolean"),
        ({"role": "emsp"}, ["body", "role"], "takes the OCPI role CPO only"),
        ({"country_code": "XX"}, ["body", "country_code"], "XX"),
        ({"country_code": "ZZ"}, ["body", "country_code"], "ZZ"),
        ({"country_code": "UK"}, ["body", "country_code"], "UK"),
    ]
    async with httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=15) as http:
        for change, loc, words in cases:
            response = await http.post("/ocpi/cpos", json={**BASE, **change})
            assert response.status_code == 422, (change, response.text)
            errors = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
            assert tuple(loc) in errors, (change, errors)
            assert words in errors[tuple(loc)], (change, errors)
        listed = (await http.get("/ocpi/cpos")).json()["items"]
        assert listed == []  # nothing was created by a refused request
    with sqlite3.connect(serve.workdir / "voltlab.db") as db:
        assert db.execute("SELECT count(*) FROM cpos").fetchone() == (0,)


async def test_human_labels_negative_seeds_and_any_country_provision(serve: ServeProcess) -> None:
    serve.start()
    await serve.wait_healthy()
    zoe = {
        "template": "small-urban-ac",
        "country_code": "mn",  # Mongolia: none of the 76 countries accepted before
        "party_id": "ZOE",
        "name_prefix": "Zoë/Ünïcode #1",
        "role": "CPO",
        "seed": -1,
        "overrides": OVERRIDES,
    }
    alice = {**zoe, "country_code": "IS", "party_id": "ALF", "name_prefix": "Alice Fleet"}
    alice["seed"], alice["role"] = 1, "cpo"
    async with (
        httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=15) as http,
        OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp,
    ):
        created = {}
        for name, body in (("zoe", zoe), ("alice", alice)):
            response = await http.post("/ocpi/cpos", json=body)
            assert response.status_code == 202, response.text
            created[name] = response.json()
        assert created["zoe"]["name_prefix"] == "Zoë/Ünïcode #1"
        assert created["zoe"]["party"] == {"country_code": "MN", "party_id": "ZOE", "role": "CPO"}
        assert created["alice"]["party"]["role"] == "CPO"

        # Token A works at once: the eMSP registers while the network is provisioned.
        await emsp.register(created["zoe"]["ocpi_peer_url"], created["zoe"]["token_a"])

        prefixes = {"zoe": "Zoe-Unicode-1", "alice": "Alice-Fleet"}
        suffixes = {"zoe": "-MNZOE-L01-C0", "alice": "-ISALF-L01-C0"}
        for name, body in (("zoe", zoe), ("alice", alice)):
            status = await wait_ready(http, created[name]["status_url"])
            assert status["status"] == "READY", status
            cpo = (await http.get(f"/ocpi/cpos/{created[name]['cpo_id']}")).json()
            # Same seed and inputs, same network: the API's fingerprint is the generator's.
            fingerprint = expected_fingerprint(
                body["country_code"].upper(), body["party_id"], body["name_prefix"], body["seed"]
            )
            assert cpo["network_fingerprint"] == fingerprint
            chargers = await booted_chargers(http, cpo)
            identities = sorted(c["identity"] for c in chargers)
            stem = prefixes[name] + suffixes[name]
            assert identities == [stem + "1", stem + "2"]
            assert all(IDENTITY.match(i) and len(i) <= 48 for i in identities)
            location = (await http.get(f"/ocpp/locations/{cpo['location_ids'][0]}")).json()
            assert location["identity_prefix"] == prefixes[name]

        # -1 is not 1: the same inputs with seed 1 would give another network.
        zoe_cpo = (await http.get(f"/ocpi/cpos/{created['zoe']['cpo_id']}")).json()
        assert zoe_cpo["network_fingerprint"] != expected_fingerprint(
            "MN", "ZOE", "Zoë/Ünïcode #1", 1
        )
        with sqlite3.connect(serve.workdir / "voltlab.db") as db:
            rows = db.execute(
                "SELECT name_prefix, seed, country_code, role FROM cpos ORDER BY party_id"
            ).fetchall()
        assert rows == [("Alice Fleet", 1, "IS", "CPO"), ("Zoë/Ünïcode #1", -1, "MN", "CPO")]

        # The eMSP's view: valid OCPI 2.2.1 Locations in Mongolia.
        pages = await emsp.get("locations", follow=True)
        locations = [loc for page in pages for loc in page["body"]["data"]]
        assert len(locations) == 1
        facts = COUNTRIES["MN"]
        for loc in locations:
            assert (loc["country_code"], loc["party_id"], loc["country"]) == ("MN", "ZOE", "MNG")
            assert loc["time_zone"] == "Asia/Ulaanbaatar" and ZoneInfo(loc["time_zone"])
            assert loc["city"] == facts.capital
            assert loc["operator"]["name"].startswith("Zoë/Ünïcode #1 ")
            for point in [loc["coordinates"], *(e["coordinates"] for e in loc["evses"])]:
                assert LATITUDE.match(point["latitude"]) and LONGITUDE.match(point["longitude"])
                # Around Ulaanbaatar (the default 8 km / 30 km of a country this large).
                assert abs(float(point["latitude"]) - facts.latitude) < 0.3
                assert abs(float(point["longitude"]) - facts.longitude) < 0.45
            assert loc["evses"] and all(e["evse_id"].startswith("MN*ZOE*E") for e in loc["evses"])
        tariffs = await emsp.get("tariffs", follow=True)
        currencies = {t["currency"] for page in tariffs for t in page["body"]["data"]}
        assert currencies == {"MNT"}
