"""`GET /metrics` and the JSON log of a live `voltlab serve`, on the wire: a fleet booting
against the strict ocpp-rpc CSMS, commands, a virtual CPO with an independent eMSP
(extrawest-ocpi), the keyless metrics listener, and `--log-format json` read line by line."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from peers.ocpi_emsp_peer import OcpiEmspPeer
from peers.ocpp_rpc_peer import OcppRpcPeer

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

ADMIN = {"Authorization": f"Bearer {API_KEY}"}
STATIONS = 30
DEADLINE = 60.0  # seconds any wait of these tests may take


class Scrape:
    """One parsed scrape: the samples, summed over the labels not asked for."""

    def __init__(self, text: str) -> None:
        self.samples = [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        return sum(
            value
            for sample_name, sample_labels, value in self.samples
            if sample_name == name and labels.items() <= sample_labels.items()
        )

    def names(self) -> set[str]:
        return {name for name, _, _ in self.samples}


async def scrape(http: httpx.AsyncClient, url: str, **headers: str) -> Scrape:
    response = await http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(response.text)


async def scrape_until(
    http: httpx.AsyncClient, url: str, done, what: str, headers: dict[str, str] | None = None
) -> list[Scrape]:
    """Scrape every 0.1 s until `done(scrape)` (bounded); returns every scrape taken."""
    scrapes: list[Scrape] = []
    deadline = time.monotonic() + DEADLINE
    while True:
        scrapes.append(await scrape(http, url, **(headers or {})))
        if done(scrapes[-1]):
            return scrapes
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {DEADLINE:g} s")
        await asyncio.sleep(0.1)


def create_key(workdir: Path, role: str) -> str:
    """`voltlab keys create` against the running server's database."""
    env = dict(os.environ, VOLTLAB_DATABASE_URL=f"sqlite:///{workdir / 'voltlab.db'}")
    done = subprocess.run(
        [sys.executable, "-m", "voltlab", "keys", "create", "--org", "default", "--role", role],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def command(http: httpx.AsyncClient, slug: str, charger_id: str, event: dict) -> dict:
    response = await http.post(
        f"/ocpp/commands/{slug}", json={"target": {"charger_id": charger_id}, "event": event}
    )
    assert response.status_code == 202, response.text
    command_id = response.json()["results"][0]["command"]["id"]
    deadline = time.monotonic() + DEADLINE
    while True:
        record = (await http.get(f"/ocpp/commands/{command_id}")).json()
        if record["status"] in ("succeeded", "failed", "timed_out"):
            return record
        assert time.monotonic() < deadline, record
        await asyncio.sleep(0.05)


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port())
    yield server
    server.stop()


async def test_metrics_follow_a_fleet_boot_and_its_commands(serve: ServeProcess) -> None:
    listen_port = free_port()
    serve.extra_args = ("--metrics-listen", f"127.0.0.1:{listen_port}")
    serve.start()
    await serve.wait_healthy()
    keyless = f"http://127.0.0.1:{listen_port}/metrics"
    async with (
        OcppRpcPeer(protocols=("ocpp1.6",), strict=True, quiet=True) as peer,
        httpx.AsyncClient(base_url=serve.base, headers=ADMIN, timeout=30) as http,
    ):
        before = await scrape(http, keyless)
        assert before.value("voltlab_stations") == 0
        assert before.value("voltlab_ocpp_frames_total") == 0

        response = await http.post(
            "/ocpp/locations",
            json={
                "name": "metrics",
                "csms_url": peer.url,
                "ocpp_version": "ocpp1.6",
                "chargers": STATIONS,
                "model": "ac-7kw-1c",
                "identity_prefix": "MET-",
                "auto_start": True,
            },
        )
        assert response.status_code == 201, response.text
        chargers = response.json()["chargers"]

        def booted(s: Scrape) -> bool:
            # Each station: BootNotification, then StatusNotification of connectors 0 and 1.
            answered = s.value("voltlab_ocpp_frames_total", direction="in", kind="result")
            return (
                s.value("voltlab_stations", connection="connected", registration="Accepted")
                == STATIONS
                and answered == STATIONS * 3
            )

        series = await scrape_until(http, keyless, booted, "every station booted")
        connected = [s.value("voltlab_stations", connection="connected") for s in series]
        print(f"connected stations scraped during the boot: {connected}")
        assert connected == sorted(connected), "the connected count went down during a boot"
        after = series[-1]
        frames = "voltlab_ocpp_frames_total"
        v16 = {"ocpp_version": "ocpp1.6"}
        assert after.value(frames, direction="out", kind="call", action="BootNotification") == (
            STATIONS
        )
        assert after.value(frames, direction="in", kind="result", action="BootNotification") == (
            STATIONS
        )
        assert after.value(frames, direction="out", **v16) == STATIONS * 3
        assert after.value(frames, direction="in", kind="call") == 0  # the CSMS asked nothing
        # What the CSMS counted (a quiet peer counts without keeping the frames).
        seen = (await peer.counts())["calls"]
        for action in ("BootNotification", "StatusNotification"):
            assert seen[action] == after.value(frames, direction="out", kind="call", action=action)
        response_count = "voltlab_csms_response_seconds_count"
        assert after.value(response_count, action="BootNotification", **v16) == STATIONS
        assert after.value(response_count) == STATIONS * 3
        assert after.value("voltlab_csms_response_seconds_bucket", le="+Inf") == STATIONS * 3
        assert after.value("voltlab_connectors", status="Available") == STATIONS
        assert after.value("voltlab_connectors") == STATIONS

        # The frames reach the store in batches: the flushes are timed and the frames counted.
        stored = await scrape_until(
            http,
            keyless,
            lambda s: s.value("voltlab_db_frames_written_total") >= STATIONS * 6,
            "the boot's frames stored",
        )
        assert stored[-1].value("voltlab_db_flush_seconds_count") > 0
        assert stored[-1].value("voltlab_db_flush_failures_total") == 0

        # Commands by outcome, and what they change.
        first, second = chargers[0]["charger_id"], chargers[1]["charger_id"]
        record = await command(http, "plug-connector", first, {"connector_id": 1})
        assert record["status"] == "succeeded", record
        record = await command(
            http, "stop-transaction", second, {"connector_id": 1, "reason": "Local"}
        )
        assert record["status"] == "failed", record
        now = await scrape(http, "/metrics", **ADMIN)  # the API's own, with the admin key
        commands = "voltlab_commands_total"
        assert now.value(commands, command="plug_connector", outcome="succeeded") == 1
        assert now.value(commands, command="stop_transaction", outcome="failed") == 1
        assert now.value(commands) == 2
        assert now.value("voltlab_commands_open") == 0
        assert now.value("voltlab_connectors", status="Preparing") == 1
        assert now.value(frames, direction="out", kind="call", action="StatusNotification") == (
            STATIONS * 2 + 1
        )

        # Who may read it: the admin key, or anyone on the opt-in listener.
        assert (await http.get("/metrics", headers={"Authorization": ""})).status_code == 401
        for role in ("operator", "viewer"):
            key = create_key(serve.workdir, role)
            answer = await http.get("/metrics", headers={"Authorization": f"Bearer {key}"})
            assert answer.status_code == 403, (role, answer.text)
        async with httpx.AsyncClient(timeout=10) as bare:
            assert (await bare.get(keyless)).status_code == 200
            assert (await bare.get(f"http://127.0.0.1:{listen_port}/ocpp/models")).status_code == (
                404
            )
        assert not peer.strict_failures


async def test_metrics_count_a_virtual_cpo_and_its_ocpi_traffic(serve: ServeProcess) -> None:
    serve.extra_args = ("--log-format", "json")
    serve.start()
    await serve.wait_healthy()
    async with (
        httpx.AsyncClient(base_url=serve.base, headers=ADMIN, timeout=30) as http,
        OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp,
    ):
        before = await scrape(http, "/metrics", **ADMIN)
        assert before.value("voltlab_cpos") == 0
        assert before.value("voltlab_ocpi_requests_total") == 0
        response = await http.post(
            "/ocpi/cpos",
            json={
                "template": "small-urban-ac",
                "country_code": "FR",
                "party_id": "MET",
                "name_prefix": "metrics",
                "ocpi_version": "2.2.1",
                "seed": 7,
                "overrides": {"chargers_per_location": 2, "locations": 1},
            },
        )
        assert response.status_code == 202, response.text
        created = response.json()
        # An eMSP request without a valid token: counted with its 401.
        async with httpx.AsyncClient(timeout=10) as bare:
            unknown = await bare.get(
                created["ocpi_peer_url"], headers={"Authorization": "Token nope"}
            )
        assert unknown.status_code == 401
        await emsp.register(created["ocpi_peer_url"], created["token_a"])
        status = await wait_ready(http, created["status_url"])
        assert status["status"] == "READY", status
        # A change the eMSP is told of (the EVSE's status), whatever the boot's pushes met (an
        # eMSP registered after them: `unregistered`).
        cpo = (await http.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
        page = await http.get("/ocpp/chargers", params={"location_id": cpo["location_ids"][0]})
        charger_id = page.json()["items"][0]["charger_id"]
        record = await command(http, "plug-connector", charger_id, {"connector_id": 1})
        assert record["status"] == "succeeded", record

        def pushed(s: Scrape) -> bool:
            return s.value("voltlab_ocpi_pushes_total", outcome="succeeded") > 0

        after = (await scrape_until(http, "/metrics", pushed, "a push", ADMIN))[-1]
        assert after.value("voltlab_cpos", status="READY") == 1
        assert after.value("voltlab_cpos") == 1
        requests = "voltlab_ocpi_requests_total"
        assert after.value(requests, direction="in", module="versions", status="401") == 1
        # The handshake: the eMSP posts its credentials, the CPO reads the eMSP's versions.
        assert after.value(
            requests, direction="in", module="credentials", method="POST", status="200"
        ) == (1)
        assert after.value(requests, direction="out", module="versions", method="GET") >= 1
        assert after.value(requests, direction="out") >= after.value(
            "voltlab_ocpi_pushes_total", outcome="succeeded"
        )
        assert after.value("voltlab_ocpi_pushes_total", outcome="failed") == 0
        # The CPO's two chargers, booted against the built-in CSMS, are this process's.
        assert after.value("voltlab_stations", connection="connected") == 2
        assert (
            after.value(
                "voltlab_ocpp_frames_total", direction="out", kind="call", action="BootNotification"
            )
            == 2
        )
        cpo_id = created["cpo_id"]
    serve.stop()
    lines = [json.loads(line) for line in read_lines(serve.workdir / "serve.log")]
    # The built-in CSMS's lines about a station's connection name the CPO and the station.
    csms_lines = [line for line in lines if line.get("cpo_id") == cpo_id and "identity" in line]
    assert csms_lines, "no log line bound to the CPO and a station"
    assert all(line["identity"].startswith("metrics") for line in csms_lines)


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


async def test_json_log_lines_name_their_charger_and_command(serve: ServeProcess) -> None:
    serve.extra_args = ("--log-format", "json", "--log-level", "debug")
    serve.start()
    await serve.wait_healthy()
    async with (
        OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as peer,
        httpx.AsyncClient(base_url=serve.base, headers=ADMIN, timeout=30) as http,
    ):
        response = await http.post(
            "/ocpp/locations",
            json={
                "name": "logs",
                "csms_url": peer.url,
                "ocpp_version": "ocpp1.6",
                "chargers": 2,
                "model": "ac-7kw-1c",
                "identity_prefix": "LOG-",
                "auto_start": True,
            },
        )
        assert response.status_code == 201, response.text
        identities = {c["charger_id"]: c["identity"] for c in response.json()["chargers"]}
        for identity in identities.values():
            await peer.wait_for_call(identity, "BootNotification")
        charger_id = next(iter(identities))
        record = await command(http, "plug-connector", charger_id, {"connector_id": 1})
        assert record["status"] == "succeeded", record
    serve.stop()
    raw = read_lines(serve.workdir / "serve.log")
    lines = []
    for text in raw:
        try:
            lines.append(json.loads(text))
        except ValueError:
            raise AssertionError(f"not a JSON line: {text!r}") from None
    assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)
    # The stations' own lines (connected, connection ended) carry their charger and identity.
    for charger, identity in identities.items():
        own = [line for line in lines if line.get("charger_id") == charger]
        assert any(line["message"].startswith("connected to ") for line in own), charger
        assert all(line["identity"] == identity for line in own), own
    # The command's lines name it, its charger and the station.
    commanded = [line for line in lines if line.get("command_id") == record["id"]]
    assert {line["message"] for line in commanded} >= {
        "command plug_connector started",
        "command plug_connector succeeded",
    }
    assert all(line["charger_id"] == charger_id for line in commanded)
    assert all(line["identity"] == identities[charger_id] for line in commanded)
    # uvicorn's lines come in the same format, access lines with their fields.
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(
        line["method"] == "POST" and line["path"] == "/ocpp/locations" and line["status"] == 201
        for line in access
    )
    assert any(line["message"].startswith("Uvicorn running on") for line in lines)
