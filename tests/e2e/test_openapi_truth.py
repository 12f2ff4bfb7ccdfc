"""The response models are true: a walk over every operation of the Gateway API, against a live
server with a real fleet (a virtual CPO whose chargers run against the built-in CSMS), checks
each answer - success and error - against what `/openapi.json` declares for its status: the
status is declared, the content type too, and the body validates against the declared schema
(no undeclared field: the models forbid extra ones)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from voltlab.api.openapi_examples import COMMAND_EVENTS, SEED_CPO_REQUEST

from .openapi_support import MAX_CPOS, Contract, LiveFleet, replay_of, start_fleet


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    live = start_fleet(tmp_path_factory.mktemp("openapi-truth"))
    yield live
    live.stop()


class Walk:
    """Calls the server and checks every answer against the contract, collecting problems."""

    def __init__(self, fleet: LiveFleet) -> None:
        self.fleet = fleet
        self.http = httpx.Client(base_url=fleet.base, timeout=60.0)
        self.contract = Contract(self.http.get("/openapi.json").json())
        self.problems: list[str] = []

    def call(
        self,
        method: str,
        template: str,
        expect: int,
        role: str | None = "admin",
        ids: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        path = template.format(**(ids or {}))
        headers = {**(self.fleet.headers(role) if role else {}), **kwargs.pop("headers", {})}
        response = self.http.request(method, path, headers=headers, **kwargs)
        where = f"{method} {path} -> {response.status_code}"
        if response.status_code != expect:
            self.problems.append(f"{where}: expected {expect}: {response.text[:300]}")
        self.problems += [
            f"{where}: {p}" for p in self.contract.problems(method, template, response)
        ]
        return response

    def stream_head(self, template: str, expect: int, params: dict[str, str]) -> None:
        """An event stream never ends: its status and content type, then hang up."""
        headers = self.fleet.headers()
        with self.http.stream("GET", template, params=params, headers=headers) as response:
            if response.status_code != expect:
                self.problems.append(f"GET {template} {params}: {response.status_code}")
            if response.status_code == 200:
                assert next(response.iter_bytes()).startswith(b": subscribed")
            else:
                response.read()
            self.problems += self.contract.problems("GET", template, response)


def test_every_answer_keeps_the_declared_contract(fleet: LiveFleet) -> None:
    walk = Walk(fleet)
    charger, faulted = fleet.charging_id, fleet.charger_ids[1]
    ids = {
        "charger_id": charger,
        "location_id": fleet.location_id,
        "cpo_id": fleet.cpo_id,
        "run_id": fleet.run_id,
        "command_id": fleet.command_ids[0],
        "name": "boot-storm",
    }
    call = walk.call

    call("GET", "/health", 200, role=None)
    call("GET", "/me", 200)
    call("GET", "/me", 200, role="viewer")
    walk.stream_head("/events", 200, {"topics": f"fleet,commands,charger:{charger}"})
    walk.stream_head("/events", 422, {"topics": "weather"})
    walk.stream_head("/events", 404, {"topics": "charger:dep-nope"})
    call("GET", "/ocpp/models", 200)
    call("GET", "/cluster", 200)
    call("GET", "/cluster", 403, role="operator")
    call("GET", "/metrics", 200)
    call("GET", "/metrics", 200, headers={"Accept": "application/openmetrics-text"})
    call("GET", "/metrics", 403, role="viewer")

    # Chargers and locations: the CPO's (live, one charging), a 2.0.1 one, new ones.
    call("GET", "/ocpp/fleet/summary", 200)
    call("GET", "/ocpp/fleet/summary", 200, params={"location_id": fleet.location_id})
    call("GET", "/ocpp/fleet/summary", 404, params={"location_id": "loc-nope"})
    for charger_id in (charger, *fleet.charger_ids, fleet.charger_2x_id):
        one = {"charger_id": charger_id}
        call("GET", "/ocpp/chargers/{charger_id}", 200, ids=one)
        call("GET", "/ocpp/chargers/{charger_id}/configuration", 200, ids=one)
        call("GET", "/ocpp/chargers/{charger_id}/messages", 200, ids=one, params={"limit": 5})
        call("GET", "/ocpp/chargers/{charger_id}/findings", 200, ids=one)
        call("GET", "/ocpp/chargers/{charger_id}/meter-series", 200, ids=one)
    call(
        "GET", "/ocpp/chargers/{charger_id}/meter-series", 200, ids=ids, params={"connector_id": 2}
    )
    jsonl = {"format": "jsonl"}
    call("GET", "/ocpp/chargers/{charger_id}/messages", 200, ids=ids, params=jsonl)
    call("GET", "/ocpp/chargers/{charger_id}", 404, ids={"charger_id": "dep-nope"})
    call("GET", "/ocpp/chargers/{charger_id}", 404, role="rival", ids=ids)
    call("GET", "/ocpp/chargers", 200)
    page = call("GET", "/ocpp/chargers", 200, params={"limit": 1}).json()
    call("GET", "/ocpp/chargers", 200, params={"limit": 1, "cursor": page["next_cursor"]})
    filters = {"connection": "connected", "status": "Charging", "model": "ac-22kw-2c"}
    assert call("GET", "/ocpp/chargers", 200, params=filters).json()["items"]
    call("GET", "/ocpp/chargers", 200, params={"location_id": fleet.peer_location_id})
    call("GET", "/ocpp/chargers", 404, params={"location_id": "loc-nope"})
    call("GET", "/ocpp/chargers", 422, params={"status": "Sleeping"})
    call("GET", "/ocpp/chargers", 422, params={"model": "toaster"})
    call("GET", "/ocpp/chargers", 422, params={"cursor": "not-a-cursor"})
    call("GET", "/ocpp/chargers", 401, role=None)
    call("GET", "/ocpp/locations", 200)
    call("GET", "/ocpp/locations/{location_id}", 200, ids=ids)
    call("GET", "/ocpp/locations/{location_id}/findings", 200, ids=ids)
    call("GET", "/ocpp/locations/{location_id}", 404, ids={"location_id": "loc-nope"})

    depot = {"name": "walk", "csms_url": fleet.dead_csms, "chargers": 2, "model": "ac-7kw-1c"}
    created = call("POST", "/ocpp/locations", 201, json=depot).json()
    taken = depot | {"identity_prefix": created["identity_prefix"]}
    call("POST", "/ocpp/locations", 409, json=taken)
    call("POST", "/ocpp/locations", 403, role="viewer", json=depot)
    call("POST", "/ocpp/locations", 422, json={"name": "x", "csms_url": "http://h/"})
    call("POST", "/ocpp/locations", 422, content=b"[" * 100 + b"]" * 100)
    call("POST", "/ocpp/locations", 413, content=b" " * (1024 * 1024 + 1))
    standalone = {"identity": "WALK-16", "csms_url": fleet.dead_csms, "auto_start": False}
    added = call("POST", "/ocpp/chargers", 201, json=standalone).json()
    call("POST", "/ocpp/chargers", 409, json=standalone)
    call("POST", "/ocpp/chargers", 404, json={"identity": "WALK-X", "location_id": "loc-nope"})
    mine = {"charger_id": added["charger_id"]}
    call("POST", "/ocpp/chargers/{charger_id}/start", 200, ids=mine)
    call("POST", "/ocpp/chargers/{charger_id}/stop", 200, ids=mine)
    call("POST", "/ocpp/chargers/{charger_id}/stop", 404, ids={"charger_id": "dep-nope"})
    call("GET", "/ocpp/chargers/{charger_id}/configuration", 200, ids=mine)
    call("DELETE", "/ocpp/chargers/{charger_id}", 204, ids=mine)
    call("DELETE", "/ocpp/chargers/{charger_id}", 404, ids=mine)
    call("DELETE", "/ocpp/locations/{location_id}", 204, ids=created)
    call("DELETE", "/ocpp/locations/{location_id}", 404, ids=created)

    # Every command, with the example event of the OpenAPI description.
    for slug, event in COMMAND_EVENTS.items():
        target = {"location_id": fleet.location_id, "charger_ids": [faulted, "dep-nope"]}
        body = call("POST", f"/ocpp/commands/{slug}", 202, json={"target": target, "event": event})
        assert body.json()["failed"][0]["error"]["code"] == "not_in_location", body.text
    session = {"target": {"charger_id": charger}, "event": COMMAND_EVENTS["start-session"]}
    call("POST", "/ocpp/commands/start-session", 403, role="viewer", json=session)
    call(
        "POST", "/ocpp/commands/start-session", 404, json=session | {"target": {"charger_id": "x"}}
    )
    call("POST", "/ocpp/commands/start-session", 422, json=session | {"target": {}})
    call("GET", "/ocpp/commands", 200)
    call("GET", "/ocpp/commands", 200, params={"charger_id": charger, "limit": 2})
    for command_id in fleet.command_ids:
        call("GET", "/ocpp/commands/{command_id}", 200, ids={"command_id": command_id})
    call("GET", "/ocpp/commands/{command_id}", 404, ids={"command_id": "nope"})

    # Virtual CPOs: the seed's example verbatim, then as many as the org may have (503).
    call("GET", "/ocpi/cpos/templates", 200)
    call("GET", "/ocpi/cpos", 200)
    for template in ("", "/status", "/report", "/traffic", "/findings"):
        call("GET", "/ocpi/cpos/{cpo_id}" + template, 200, ids=ids)
        call("GET", "/ocpi/cpos/{cpo_id}" + template, 404, ids={"cpo_id": "cpo-nope"})
    seed = call("POST", "/ocpi/cpos", 202, json=SEED_CPO_REQUEST).json()
    call("POST", "/ocpi/cpos", 422, json=SEED_CPO_REQUEST | {"template": "castle"})
    call("POST", "/ocpi/cpos", 403, role="viewer", json=SEED_CPO_REQUEST)
    call("DELETE", "/ocpi/cpos/{cpo_id}", 202, ids=seed)
    call("DELETE", "/ocpi/cpos/{cpo_id}", 202, ids={"cpo_id": fleet.spare_cpo_ids[0]})
    extra: list[str] = []
    small = SEED_CPO_REQUEST | {"overrides": {"locations": 1, "chargers_per_location": 1}}
    for index in range(MAX_CPOS):
        body = small | {"party_id": f"LM{index}", "name_prefix": f"limit{index}"}
        response = walk.http.post("/ocpi/cpos", json=body, headers=fleet.headers())
        if response.status_code == 503:
            break
        extra.append(response.json()["cpo_id"])
    call("POST", "/ocpi/cpos", 503, json=small | {"party_id": "LMX", "name_prefix": "limitx"})
    for cpo_id in extra:
        call("DELETE", "/ocpi/cpos/{cpo_id}", 202, ids={"cpo_id": cpo_id})

    # Replays of a captured session.
    with fleet.client() as http:
        replay = replay_of(fleet, http)
    call("POST", "/ocpp/replays", 202, json=replay)
    call("POST", "/ocpp/replays", 422, json=replay | {"capture": "not a capture"})
    call("GET", "/ocpp/replays", 200)
    call("GET", "/ocpp/replays/{run_id}", 200, ids={"run_id": fleet.replay_id})
    call("GET", "/ocpp/replays/{run_id}", 404, ids={"run_id": "rpl-nope"})

    # Scenarios.
    call("GET", "/scenarios", 200)
    call("GET", "/scenarios/library/{name}", 200, ids=ids)
    call("GET", "/scenarios/library/{name}", 404, ids={"name": "nope"})
    run = {
        "scenario": "boot-storm",
        "target": {"csms_url": fleet.dead_csms, "ocpp_version": "ocpp1.6"},
        "params": {"stations": 1},
    }
    call("POST", "/scenarios/runs", 202, json=run)
    call("POST", "/scenarios/runs", 422, json=run | {"scenario": "nope"})
    call("GET", "/scenarios/runs", 200)
    for template in ("", "/junit", "/report"):
        call("GET", "/scenarios/runs/{run_id}" + template, 200, ids=ids)
        call("GET", "/scenarios/runs/{run_id}" + template, 404, ids={"run_id": "run-nope"})

    assert walk.problems == [], "\n".join(walk.problems)
    # Every operation was answered with success, and every kind of error came up.
    succeeded = {(m, t) for (m, t, status) in walk.contract.checked if status < 300}
    declared = {
        (method.upper(), template)
        for template, item in walk.contract.document["paths"].items()
        for method in item
    }
    assert declared - succeeded == set()
    statuses = {status for (_, _, status) in walk.contract.checked}
    assert {401, 403, 404, 409, 413, 422, 503} <= statuses
    # The check bites: a field the model does not declare is refused.
    tampered = httpx.Response(200, json={**page, "surprise": 1})
    assert walk.contract.problems("GET", "/ocpp/chargers", tampered)


def test_no_ocpi_protocol_route_in_the_gateway_schema(tmp_path: Path) -> None:
    """OCPI's endpoints keep OCPI's contract (its envelope, Token auth); the Gateway API's
    description leaves them out, and they are served all the same."""
    import warnings

    from voltlab.api.app import create_app
    from voltlab.store.db import Database

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about its httpx backend
        from fastapi.testclient import TestClient

    database = Database(f"sqlite:///{tmp_path / 'voltlab.db'}")
    try:
        database.migrate()
        app = create_app(database, virtual_cpos=True)
        paths = app.openapi()["paths"]
        answer = TestClient(app).get("/ocpi/2.2.1/versions")
    finally:
        database.dispose()
    assert answer.status_code == 401 and answer.json()["status_code"] == 2000, answer.text
    assert [path for path in paths if path.startswith("/ocpi/2")] == []
    assert "/ocpi/cpos" in paths
