"""Virtual CPO lifecycle through `voltlab serve`: every error code of the seed, determinism of
the generated network, kill -9 during provisioning, and TTL expiry."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from .serve_support import API_KEY, ServeProcess, free_port

BASE = {
    "template": "small-urban-ac",
    "country_code": "FR",
    "party_id": "ABC",
    "name_prefix": "alice",
    "overrides": {"locations": 1, "chargers_per_location": 2},
}


def make_key(workdir: Path, org: str, role: str) -> str:
    env = dict(os.environ, VOLTLAB_DATABASE_URL=f"sqlite:///{workdir / 'voltlab.db'}")
    out = subprocess.run(
        [sys.executable, "-m", "voltlab", "keys", "create", "--org", org, "--role", role],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


async def wait_status(http: httpx.AsyncClient, cpo_id: str, wanted: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = (await http.get(f"/ocpi/cpos/{cpo_id}/status")).json()
        if status["status"] == wanted:
            return status
        if status["status"] == "FAILED" and wanted != "FAILED":
            raise AssertionError(f"{cpo_id} FAILED: {status}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{cpo_id} not {wanted} after {timeout} s: {status}")
        await asyncio.sleep(0.25)


def ocpi_objects(workdir: Path, cpo_id: str, *, live: bool = True) -> list[str]:
    """The CPO's stored Locations and Tariffs; `live=False` leaves out what the running
    chargers changed since generation (EVSE status and the last_updated it bumps)."""
    with sqlite3.connect(workdir / "voltlab.db") as db:
        rows = db.execute(
            "SELECT kind, object_id, body FROM ocpi_objects WHERE cpo_id = ? AND kind IN "
            "('location', 'tariff') ORDER BY kind, object_id",
            (cpo_id,),
        ).fetchall()
    out = []
    for kind, oid, body in rows:
        obj = json.loads(body)
        if not live and kind == "location":
            obj.pop("last_updated")
            for evse in obj["evses"]:
                evse.pop("status")
                evse.pop("last_updated")
        out.append(f"{kind}:{oid}:{json.dumps(obj, sort_keys=True)}")
    return out


# versions_status is a bare OCPI request without X-Request-ID/X-Correlation-ID: the servers
# rightly record ocpi-request-ids-missing for it (any other finding fails the test).
PROBE_BREAKS = ("ocpi-request-ids-missing",)


def versions_status(url: str, token_a: str) -> int:
    import base64

    header = "Token " + base64.b64encode(token_a.encode()).decode()
    return httpx.get(url, headers={"Authorization": header}, timeout=10).status_code


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(
        tmp_path, free_port(), emsp_breaks=PROBE_BREAKS, VOLTLAB_MAX_CPOS_PER_ORG="3"
    )
    yield server
    server.stop()


# A TTL counts real seconds; the server's minimum (60) is lowered so the expiry test waits
# seconds, not a minute. Long enough that the kill -9 and restart come well before it.
SHORT_TTL = 20
# Reaper pass (1 s), destroy workflow and a loaded machine, on top of the TTL.
TTL_GRACE = 12


@pytest.fixture
def serve_short_ttl(tmp_path: Path):
    server = ServeProcess(
        tmp_path,
        free_port(),
        emsp_breaks=PROBE_BREAKS,
        VOLTLAB_MAX_CPOS_PER_ORG="3",
        VOLTLAB_MIN_CPO_TTL_SECONDS=str(SHORT_TTL),
    )
    yield server
    server.stop()


def wall(stamp: str) -> float:
    """POSIX seconds of a status timestamp (the server's wall clock, same machine)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def test_error_codes_determinism_and_tenancy(serve: ServeProcess) -> None:
    serve.start()
    await serve.wait_healthy()
    viewer = make_key(serve.workdir, "default", "viewer")
    rival = make_key(serve.workdir, "rival", "admin")
    admin_h = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=serve.base, timeout=15) as http:
        # 401: no key, unknown key
        assert (await http.post("/ocpi/cpos", json=BASE)).status_code == 401
        bad = {"Authorization": "Bearer vl_nope"}
        assert (await http.post("/ocpi/cpos", json=BASE, headers=bad)).status_code == 401
        # 403: a viewer may read, not create
        viewer_h = {"Authorization": f"Bearer {viewer}"}
        assert (await http.get("/ocpi/cpos", headers=viewer_h)).status_code == 200
        assert (await http.post("/ocpi/cpos", json=BASE, headers=viewer_h)).status_code == 403
        # 422 naming the field
        cases = [
            ({"country_code": "FRA"}, ["body", "country_code"]),
            ({"party_id": "AB"}, ["body", "party_id"]),
            ({"name_prefix": "x" * 33}, ["body", "name_prefix"]),
            ({"name_prefix": ""}, ["body", "name_prefix"]),
            ({"ttl_seconds": 59}, ["body", "ttl_seconds"]),
            ({"ttl_seconds": 604_801}, ["body", "ttl_seconds"]),
            ({"ocpi_version": "3.0"}, ["body", "ocpi_version"]),
            ({"role": "emsp"}, ["body", "role"]),
            ({"template": "no-such-template"}, ["body", "template"]),
            ({"country_code": "ZZ"}, ["body", "country_code"]),
            ({"overrides": {"locations": 999}}, ["body", "overrides", "locations"]),
            (
                {"overrides": {"chargers_per_location": 0}},
                ["body", "overrides", "chargers_per_location"],
            ),
            ({"overrides": {"evses": 3}}, ["body", "overrides"]),
        ]
        for change, loc in cases:
            response = await http.post("/ocpi/cpos", json={**BASE, **change}, headers=admin_h)
            assert response.status_code == 422, (change, response.text)
            locs = [d["loc"] for d in response.json()["detail"]]
            assert loc in locs, (change, locs)
        missing = await http.post(
            "/ocpi/cpos", json={"template": "small-urban-ac"}, headers=admin_h
        )
        assert missing.status_code == 422
        assert {tuple(d["loc"]) for d in missing.json()["detail"]} >= {
            ("body", "country_code"),
            ("body", "party_id"),
            ("body", "name_prefix"),
        }

        # Same inputs in two orgs -> byte-identical locations and tariffs.
        rival_h = {"Authorization": f"Bearer {rival}"}
        same = {**BASE, "seed": 7}
        first = (await http.post("/ocpi/cpos", json=same, headers=admin_h)).json()
        second = (await http.post("/ocpi/cpos", json=same, headers=rival_h)).json()
        async with (
            httpx.AsyncClient(base_url=serve.base, headers=admin_h, timeout=15) as a_http,
            httpx.AsyncClient(base_url=serve.base, headers=rival_h, timeout=15) as r_http,
        ):
            await wait_status(a_http, first["cpo_id"], "READY", 60)
            await wait_status(r_http, second["cpo_id"], "READY", 60)
            objects_a = ocpi_objects(serve.workdir, first["cpo_id"], live=False)
            objects_b = ocpi_objects(serve.workdir, second["cpo_id"], live=False)
            assert len(objects_a) >= 2 and objects_a == objects_b
            # As generated (last_updated included) the two networks are byte-identical.
            fingerprint_a = (await a_http.get(f"/ocpi/cpos/{first['cpo_id']}")).json()
            fingerprint_b = (await r_http.get(f"/ocpi/cpos/{second['cpo_id']}")).json()
            assert fingerprint_a["network_fingerprint"] == fingerprint_b["network_fingerprint"]
            assert len(fingerprint_a["network_fingerprint"]) == 64
            # seed null: a different network each call
            random_one = (
                await a_http.post("/ocpi/cpos", json={**BASE, "party_id": "RND", "seed": None})
            ).json()
            assert random_one["party"]["party_id"] == "RND"
            # party collision in the same org: mangled, and the response says so
            clash = (await a_http.post("/ocpi/cpos", json=same)).json()
            assert clash["party"]["party_id"] != "ABC" and clash["party"]["party_id"].startswith(
                "AB"
            )
            await wait_status(a_http, random_one["cpo_id"], "READY", 60)
            await wait_status(a_http, clash["cpo_id"], "READY", 60)
            assert ocpi_objects(serve.workdir, random_one["cpo_id"], live=False) != objects_a
            random_body = (await a_http.get(f"/ocpi/cpos/{random_one['cpo_id']}")).json()
            assert random_body["network_fingerprint"] != fingerprint_a["network_fingerprint"]
            # 503 at the org's CPO limit (3 live)
            over = await a_http.post("/ocpi/cpos", json={**BASE, "party_id": "LIM"})
            assert over.status_code == 503, over.text
            # 404: another org's CPO, on every route that takes its id
            cpo_id = first["cpo_id"]
            for method, path in [
                ("GET", f"/ocpi/cpos/{cpo_id}"),
                ("GET", f"/ocpi/cpos/{cpo_id}/status"),
                ("GET", f"/ocpi/cpos/{cpo_id}/report"),
                ("DELETE", f"/ocpi/cpos/{cpo_id}"),
            ]:
                assert (await r_http.request(method, path)).status_code == 404, path
            listed = (await r_http.get("/ocpi/cpos")).json()["items"]
            assert [c["cpo_id"] for c in listed] == [second["cpo_id"]]
            # DELETE -> 202 -> DESTROYED, chargers gone, Token A refused
            deleted = await a_http.delete(f"/ocpi/cpos/{cpo_id}")
            assert deleted.status_code == 202
            await wait_status(a_http, cpo_id, "DESTROYED", 30)
            gone = (await a_http.get(f"/ocpi/cpos/{cpo_id}")).json()
            assert gone["charger_ids"] == [] and gone["location_ids"] == []
            assert versions_status(first["ocpi_peer_url"], first["token_a"]) == 401
            assert versions_status(second["ocpi_peer_url"], second["token_a"]) == 200


async def test_kill_during_provisioning_and_ttl_expiry(serve_short_ttl: ServeProcess) -> None:
    serve = serve_short_ttl
    serve.start()
    await serve.wait_healthy()
    admin_h = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=serve.base, headers=admin_h, timeout=15) as http:
        too_short = {**BASE, "party_id": "TTL", "ttl_seconds": SHORT_TTL - 1}
        assert (await http.post("/ocpi/cpos", json=too_short)).status_code == 422
        short = (
            await http.post(
                "/ocpi/cpos", json={**BASE, "party_id": "TTL", "ttl_seconds": SHORT_TTL}
            )
        ).json()
        created_at = time.monotonic()
        big = (
            await http.post(
                "/ocpi/cpos",
                json={
                    "template": "mixed-city",
                    "country_code": "DE",
                    "party_id": "BIG",
                    "name_prefix": "bob",
                    "seed": 3,
                    "ttl_seconds": None,
                    "overrides": {"locations": 10, "chargers_per_location": 10},
                },
            )
        ).json()
        assert big["expires_at"] is None
        # Kill -9 as soon as provisioning is under way.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            steps = (await http.get(f"/ocpi/cpos/{big['cpo_id']}/status")).json()["steps"]
            if any(
                s["state"] in ("running", "done") and s["name"] != "generate_network" for s in steps
            ):
                break
            await asyncio.sleep(0.01)
    states_at_kill = {s["name"]: s["state"] for s in steps}
    print("killed with steps", states_at_kill)
    killed_at = time.time()
    serve.kill()
    # The short CPO's TTL runs out after the restart: the new process's reaper must find it.
    assert killed_at < wall(short["expires_at"]), "killed after the TTL already ran out"
    serve.start()
    await serve.wait_healthy()
    async with httpx.AsyncClient(base_url=serve.base, headers=admin_h, timeout=15) as http:
        status = await wait_status(http, big["cpo_id"], "READY", 120)
        print("after restart", [(s["name"], s["attempts"]) for s in status["steps"]])
        cpo = (await http.get(f"/ocpi/cpos/{big['cpo_id']}")).json()
        assert len(cpo["location_ids"]) == 10
        assert len(cpo["charger_ids"]) == 100 == len(set(cpo["charger_ids"]))
        identities = []
        for location_id in cpo["location_ids"]:
            page = (
                await http.get("/ocpp/chargers", params={"location_id": location_id, "limit": 500})
            ).json()
            identities += [c["identity"] for c in page["items"]]
        assert len(identities) == 100 == len(set(identities))
        report = (await http.get(f"/ocpi/cpos/{big['cpo_id']}/report")).json()
        assert report["network"]["chargers_connected"] == 100
        # The short-lived CPO is destroyed once its TTL has run out, within TTL_GRACE seconds
        # of it, and its token is refused. The server's own stamps carry the timing (the
        # polling bound here only keeps the test finite: a slow poll must not blur them).
        status = await wait_status(http, short["cpo_id"], "DESTROYED", 60)
        created, expires = wall(status["created_at"]), wall(status["expires_at"])
        destroyed = wall(status["destroyed_at"])
        assert expires - created == SHORT_TTL, status
        assert expires <= destroyed <= expires + TTL_GRACE, status
        print(
            f"TTL {SHORT_TTL} CPO DESTROYED {destroyed - created:.1f} s after creation "
            f"(seen {time.monotonic() - created_at:.1f} s)"
        )
        assert versions_status(short["ocpi_peer_url"], short["token_a"]) == 401
