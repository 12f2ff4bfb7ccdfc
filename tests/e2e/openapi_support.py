"""A live `voltlab serve` with a real fleet for the OpenAPI conformance tests, and a checker of
answers against the server's own `/openapi.json`.

The fleet: a virtual CPO (its chargers connected to the built-in CSMS); a location and a 2.0.1
charger at the independent ocpp-rpc CSMS (strict mode), one of them charging; commands, a
scenario run, findings of both kinds (a CSMS that answers with a wrong CALLERROR code, an
eMSP request without X-Request-ID); keys of every role and of another org. Chargers the tests
create point at a loopback port where nothing listens: no traffic leaves the machine."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from peers.ocpp_rpc_peer import OcppRpcPeer
from voltlab.store import repo
from voltlab.store.db import Database

from .serve_support import API_KEY, ServeProcess, free_port

T = TypeVar("T")

# The fleet's CPO: one location of two chargers; the spares are there to be deleted.
FLEET_CPO = {
    "template": "small-urban-ac",
    "country_code": "FR",
    "party_id": "FZA",
    "name_prefix": "fuzz",
    "seed": 7,
    "ttl_seconds": None,
    "overrides": {"locations": 1, "chargers_per_location": 2},
}
SPARE_CPOS = 2
# Live CPOs an org may have on the walk's server (the fleet's, the spares and a few more).
MAX_CPOS = 6
# The eMSP-side rule the fleet's own OCPI request breaks on purpose (for a finding about it).
EMSP_RULE_BROKEN = "ocpi-request-ids-missing"


class ThreadedPeer:
    """The ocpp-rpc CSMS (an asyncio API) on an event loop of its own thread, for sync tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.peer: OcppRpcPeer | None = None

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=60)

    def start(self) -> str:
        self.thread.start()

        async def enter() -> OcppRpcPeer:
            peer = OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1"), strict=True)
            return await peer.__aenter__()

        self.peer = self.run(enter())
        return self.peer.url

    def stop(self) -> None:
        if self.peer is not None:
            self.run(self.peer.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def closed_port() -> int:
    """A loopback port with no listener (taken and released): connections are refused."""
    return free_port()


@dataclass
class LiveFleet:
    server: ServeProcess
    peer: ThreadedPeer
    peer_url: str
    dead_csms: str  # ws:// URL of a loopback port nobody listens on
    keys: dict[str, str]  # role -> key: admin, operator, viewer, rival (another org's admin)
    cpo_id: str = ""
    location_id: str = ""  # the CPO's
    charger_ids: list[str] = field(default_factory=list)  # the CPO's, at the built-in CSMS
    peer_location_id: str = ""
    charging_id: str = ""  # at the peer, in a session
    charger_2x_id: str = ""  # at the peer, OCPP 2.0.1
    spare_cpo_ids: list[str] = field(default_factory=list)
    command_ids: list[str] = field(default_factory=list)
    run_id: str = ""  # a scenario run
    replay_id: str = ""  # a replay of the charging charger's frames (against the dead port)

    @property
    def base(self) -> str:
        return self.server.base

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def client(self, role: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.headers(role), timeout=60.0)

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            self.peer.stop()


def start_fleet(workdir: Path, max_cpos: int = MAX_CPOS) -> LiveFleet:
    """`max_cpos`: the org's limit of live CPOs (beyond it, POST /ocpi/cpos answers 503)."""
    peer = ThreadedPeer()
    try:
        peer_url = peer.start()
        server = ServeProcess(
            workdir,
            free_port(),
            emsp_breaks=(EMSP_RULE_BROKEN,),
            VOLTLAB_MAX_CPOS_PER_ORG=str(max_cpos),
        )
        server.start()
        asyncio.run(server.wait_healthy())
    except BaseException:
        peer.stop()
        raise
    fleet = LiveFleet(
        server=server,
        peer=peer,
        peer_url=peer_url,
        dead_csms=f"ws://127.0.0.1:{closed_port()}/ocpp",
        keys={"admin": API_KEY, **_more_keys(workdir / "voltlab.db")},
    )
    try:
        with fleet.client() as http:
            _provision(fleet, http)
    except BaseException:
        fleet.stop()
        raise
    return fleet


def _more_keys(path: Path) -> dict[str, str]:
    database = Database(f"sqlite:///{path}")
    try:
        with database.session() as session:
            own = repo.get_or_create_org(session, "default")
            rival = repo.get_or_create_org(session, "rival")
            return {
                "operator": repo.add_api_key(session, own.id, "operator"),
                "viewer": repo.add_api_key(session, own.id, "viewer"),
                "rival": repo.add_api_key(session, rival.id, "admin"),
            }
    finally:
        database.dispose()


def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


def _poll(what: str, probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:g} s")
        time.sleep(0.2)


def _accepted(http: httpx.Client, charger_id: str) -> None:
    _poll(
        f"charger {charger_id} accepted by its CSMS",
        lambda: http.get(f"/ocpp/chargers/{charger_id}").json().get("registration") == "Accepted",
    )


def _provision(fleet: LiveFleet, http: httpx.Client) -> None:
    created = _ok(http.post("/ocpi/cpos", json=FLEET_CPO), 202)
    fleet.cpo_id = created["cpo_id"]
    for index in range(SPARE_CPOS):
        spare = FLEET_CPO | {
            "party_id": f"SP{index}",
            "name_prefix": f"spare{index}",
            "overrides": {"locations": 1, "chargers_per_location": 1},
        }
        fleet.spare_cpo_ids.append(_ok(http.post("/ocpi/cpos", json=spare), 202)["cpo_id"])
    depot = {"name": "peer depot", "csms_url": fleet.peer_url, "chargers": 1}
    peer_location = _ok(http.post("/ocpp/locations", json=depot), 201)
    fleet.peer_location_id = peer_location["location_id"]
    fleet.charging_id = peer_location["chargers"][0]["charger_id"]
    standalone = {
        "identity": "FUZZ-201",
        "csms_url": fleet.peer_url,
        "ocpp_version": "ocpp2.0.1",
        "model": "dc-50kw-ccs-chademo",
    }
    fleet.charger_2x_id = _ok(http.post("/ocpp/chargers", json=standalone), 201)["charger_id"]
    _poll(
        "the fleet's CPO READY",
        lambda: http.get(f"/ocpi/cpos/{fleet.cpo_id}/status").json()["status"] == "READY",
    )
    cpo = _ok(http.get(f"/ocpi/cpos/{fleet.cpo_id}"), 200)
    fleet.location_id = cpo["location_ids"][0]
    fleet.charger_ids = list(cpo["charger_ids"])
    for charger_id in [*fleet.charger_ids, fleet.charging_id, fleet.charger_2x_id]:
        _accepted(http, charger_id)

    # A finding about the CSMS: the peer answers a StatusNotification with a CALLERROR whose
    # code OCPP does not have; the session's first status change gets it.
    identity = peer_location["chargers"][0]["identity"]
    wrong = [{"on": "StatusNotification", "answer": "callerror", "code": "NoSuchCode"}]
    assert fleet.peer.peer is not None
    fleet.peer.run(fleet.peer.peer.misbehave(identity, wrong))
    session = {
        "target": {"charger_id": fleet.charging_id},
        "event": {"id_tag": "FUZZ-TAG-1", "connector_id": 1, "duration_seconds": 3600},
    }
    accepted = _ok(http.post("/ocpp/commands/start-session", json=session), 202)
    fleet.command_ids = [r["command"]["id"] for r in accepted["results"]]
    fault = {
        "target": {"charger_id": fleet.charger_ids[1]},
        "event": {"connector_id": 1, "fault_type": "OverTemperature"},
    }
    accepted = _ok(http.post("/ocpp/commands/inject-fault", json=fault), 202)
    fleet.command_ids += [r["command"]["id"] for r in accepted["results"]]
    _poll(
        "meter samples of the session",
        lambda: http.get(f"/ocpp/chargers/{fleet.charging_id}/meter-series").json()["points"],
    )
    _poll(
        "a finding about the CSMS",
        lambda: http.get(f"/ocpp/chargers/{fleet.charging_id}/findings").json()["findings"],
    )
    # A finding about the eMSP: Token A presented without X-Request-ID / X-Correlation-ID.
    token = base64.b64encode(created["token_a"].encode()).decode()
    versions = httpx.get(created["ocpi_peer_url"], headers={"Authorization": f"Token {token}"})
    assert versions.status_code == 200, versions.text
    _poll(
        "a finding about the eMSP",
        lambda: http.get(f"/ocpi/cpos/{fleet.cpo_id}/findings").json()["findings"],
    )
    run = {
        "scenario": "boot-pending-accepted",
        "target": {"csms_url": fleet.dead_csms, "ocpp_version": "ocpp1.6"},
    }
    fleet.run_id = _ok(http.post("/scenarios/runs", json=run), 202)["run_id"]
    fleet.replay_id = _ok(http.post("/ocpp/replays", json=replay_of(fleet, http)), 202)["run_id"]


def replay_of(fleet: LiveFleet, http: httpx.Client) -> dict[str, Any]:
    """A replay of the charging charger's session so far, against the port nobody listens on
    (a second station of that identity at the peer would take the charger's place)."""
    params = {"format": "jsonl"}
    capture = http.get(f"/ocpp/chargers/{fleet.charging_id}/messages", params=params)
    assert capture.status_code == 200, capture.text
    return {"csms_url": fleet.dead_csms, "capture": capture.text, "speed": 100}


# --- answers against the declared schema --------------------------------------------------------


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


FORMATS = FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_date_time)


@dataclass
class Contract:
    """The server's `/openapi.json`: which statuses an operation declares, and whether a body
    matches the schema declared for its status."""

    document: dict[str, Any]
    checked: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def operation(self, method: str, template: str) -> dict[str, Any]:
        operation: dict[str, Any] = self.document["paths"][template][method.lower()]
        return operation

    def problems(self, method: str, template: str, response: httpx.Response) -> list[str]:
        """Why `response` does not keep the contract of `method template` (empty: it does)."""
        responses = self.operation(method, template)["responses"]
        status = str(response.status_code)
        if status not in responses:
            return [f"status {status} is not declared (declared: {sorted(responses)})"]
        key = (method.upper(), template, response.status_code)
        self.checked[key] = self.checked.get(key, 0) + 1
        content = responses[status].get("content")
        if not content:
            return [] if not response.content else [f"{status} declares no body: {response.text}"]
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media not in content:
            return [f"content type {media!r} is not declared (declared: {sorted(content)})"]
        if media != "application/json":
            return []
        schema = {**content[media]["schema"], "components": self.document["components"]}
        validator = Draft202012Validator(schema, format_checker=FORMATS)
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(response.json())
        ]
