"""Property-based fuzzing of every Gateway API operation with schemathesis, from the server's own
`/openapi.json`, against a live server with a real fleet (tests/e2e/openapi_support.py).

Each operation gets the examples of its description and generated requests, valid ones
(positive) and invalid ones (negative). Path parameters, filters and command targets are
grounded in the fleet's real ids often enough that requests get past validation; the key is
drawn among the roles and another org's. Every answer must keep the contract: no 5xx, a
declared status, a declared content type, a body that matches the declared schema.

Bounded: `EXAMPLES` generated cases per operation and mode, one request each, a timeout per
request and `RUN_SECONDS` for the run. URLs a request could make a charger connect to are
rewritten to loopback. The figures (requests, statuses, failures, time) are printed when the
test runs without xdist (`-n 0`) and recorded as JUnit properties (`fuzz_requests`,
`fuzz_failures`)."""

from __future__ import annotations

import copy
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from voltlab.api.schemas import _check_csms_url

from .openapi_support import LiveFleet, start_fleet

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Generated cases per operation, for each of the two modes (hypothesis stops earlier when an
# operation has fewer distinct inputs, e.g. none at all).
EXAMPLES = 18
MIN_REQUESTS = 2000
# The whole run's bound in time: about 30 s on an idle 2-core machine, a minute beside the
# rest of the suite; far more means something hangs.
RUN_SECONDS = 360
REQUEST_TIMEOUT = 30.0
# An event stream never ends: read this long, then judge what came.
STREAM_SECONDS = 0.3
# Library scenarios a fuzzed run may start: few stations each.
LIGHT_SCENARIOS = ["boot-pending-accepted", "remote-start-stop", "emsp-handshake-location-sync"]
CPO_QUOTA = 60
ROLES = ["admin"] * 10 + ["operator", "viewer", "rival", "bogus", "none"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    # The org's CPO quota (503 beyond it, a declared answer the walk checks) above what the run
    # creates: schemathesis counts every 5xx as a server error.
    live = start_fleet(tmp_path_factory.mktemp("openapi-fuzz"), max_cpos=CPO_QUOTA)
    yield live
    live.stop()


@dataclass
class Tally:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    past_validation: int = 0  # answered neither 401/403 nor 413/422: a route's own answer
    succeeded: Counter[str] = field(default_factory=Counter)  # 2xx answers per operation
    failures: dict[str, str] = field(default_factory=dict)  # one report per (operation, kind)

    def fail(self, label: str, kind: str, report: str) -> None:
        self.failures.setdefault(f"{label}: {kind}", report[:3000])


class Ground:
    """Real ids and safe URLs for generated cases; also makes the things DELETE may take."""

    def __init__(self, fleet: LiveFleet) -> None:
        self.fleet = fleet
        self.http = fleet.client()
        self.made = 0
        chargers = [fleet.charging_id, *fleet.charger_ids, fleet.charger_2x_id]
        self.ids: dict[str, list[str]] = {
            "charger_id": chargers,
            "location_id": [fleet.peer_location_id, fleet.location_id],
            "cpo_id": [fleet.cpo_id],
            "command_id": fleet.command_ids,
            "run_id": [fleet.run_id],
            "name": ["boot-storm", "fault-mid-charge"],
        }
        self.targets: list[dict[str, Any]] = [
            {"charger_id": fleet.charging_id},
            {"charger_id": fleet.charger_2x_id},
            {"location_id": fleet.location_id},
            {"location_id": fleet.peer_location_id, "charger_ids": [fleet.charging_id, "dep-x"]},
        ]

    def victim(self, kind: str) -> str:
        """A charger or location made to be deleted (the fleet's own stay)."""
        self.made += 1
        if kind == "charger_id":
            body = {"identity": f"VICTIM-{self.made}", "csms_url": self.fleet.dead_csms}
            made = self.http.post("/ocpp/chargers", json=body | {"auto_start": False})
            return str(made.json()["charger_id"])
        body = {"name": f"victim {self.made}", "csms_url": self.fleet.dead_csms, "chargers": 1}
        made = self.http.post("/ocpp/locations", json=body | {"auto_start": False})
        return str(made.json()["location_id"])

    def path(self, case: Any, draw: Callable[[Any], Any]) -> None:
        method = case.operation.method.upper()
        for name, value in list((case.path_parameters or {}).items()):
            if name not in self.ids or not draw(st.integers(0, 3)):
                continue  # one in four keeps the generated value
            if method == "DELETE" and name in ("charger_id", "location_id"):
                case.path_parameters[name] = self.victim(name)
            elif method == "DELETE" and name == "cpo_id":
                case.path_parameters[name] = draw(st.sampled_from(self.fleet.spare_cpo_ids))
            else:
                pool = self.pool(case.operation.path, name)
                case.path_parameters[name] = draw(st.sampled_from([value, *pool]))

    def pool(self, path: str, name: str) -> list[str]:
        """Real ids for a path parameter (`run_id`: a replay's or a scenario run's)."""
        if name == "run_id" and path.startswith("/ocpp/replays"):
            return [self.fleet.replay_id]
        return self.ids[name]

    def query(self, case: Any, draw: Callable[[Any], Any]) -> None:
        query = case.query
        if not isinstance(query, dict):
            return
        for name in ("charger_id", "location_id"):
            if name in query and draw(st.booleans()):
                query[name] = draw(st.sampled_from(self.ids[name]))
        if "cursor" in query and draw(st.integers(0, 3)):
            del query["cursor"]  # an opaque token: a generated one is nearly always refused
        if "topics" in query and draw(st.integers(0, 3)) == 0:
            topics = ["fleet", "commands,cpos", f"charger:{self.fleet.charging_id}"]
            query["topics"] = draw(st.sampled_from(topics))

    def body(self, case: Any, draw: Callable[[Any], Any]) -> None:
        body = case.body
        if not isinstance(body, dict):
            return
        path = case.operation.path
        if path.startswith("/ocpp/commands/") and "target" in body and draw(st.integers(0, 3)):
            body["target"] = copy.deepcopy(draw(st.sampled_from(self.targets)))
        if path == "/ocpp/chargers" and "location_id" in body and draw(st.booleans()):
            body["location_id"] = draw(st.sampled_from(self.ids["location_id"]))
        if path == "/scenarios/runs":
            self.run(body, draw)
        self.safe(body)

    def run(self, body: dict[str, Any], draw: Callable[[Any], Any]) -> None:
        if draw(st.booleans()):  # a library scenario with the target it needs
            name = draw(st.sampled_from(LIGHT_SCENARIOS))
            body.clear()
            body["scenario"] = name
            if name.startswith("emsp-"):
                body["target"] = {"cpo_id": self.fleet.cpo_id}
            else:
                body["target"] = {"csms_url": self.fleet.dead_csms, "ocpp_version": "ocpp1.6"}
            return
        target = body.get("target")
        if isinstance(target, dict) and "cpo_id" in target and draw(st.booleans()):
            target["cpo_id"] = self.fleet.cpo_id
        params = body.get("params")
        if isinstance(params, dict):  # a count of stations, if a scenario declares one: small
            for key, value in params.items():
                if isinstance(value, int) and not isinstance(value, bool) and value > 2:
                    params[key] = 2

    def safe(self, body: dict[str, Any]) -> None:
        """Whatever the server would connect to goes to loopback; counts stay small."""
        for holder in (body, body.get("target"), body.get("security")):
            if not isinstance(holder, dict):
                continue
            for name in ("csms_url", "tls_csms_url"):
                url = holder.get(name)
                if isinstance(url, str) and _connectable(url):
                    scheme = url.split("://", 1)[0].lower()
                    holder[name] = self.fleet.dead_csms.replace("ws://", scheme + "://")
        chargers = body.get("chargers")
        if isinstance(chargers, int) and not isinstance(chargers, bool) and 3 < chargers <= 1000:
            body["chargers"] = 3
        if "template" in body:  # a CPO: one or two locations of one or two chargers
            overrides = body.get("overrides")
            given_overrides = overrides if isinstance(overrides, dict) else {}
            small: dict[str, Any] = dict(given_overrides)
            for key in ("locations", "chargers_per_location"):
                value = given_overrides.get(key)
                sized = isinstance(value, int) and not isinstance(value, bool)
                small[key] = min(value, 2) if sized else 1
            body["overrides"] = small


def _connectable(url: str) -> bool:
    """Whether the server would accept the URL (and so connect to it)."""
    try:
        _check_csms_url(url)
    except ValueError:
        return url.lower().startswith("wss://")  # tls_csms_url has a looser rule of its own
    return True


def _headers(fleet: LiveFleet, role: str) -> dict[str, str]:
    if role == "none":
        return {}
    if role == "bogus":
        return {"Authorization": "Bearer vl_" + "0" * 32}
    return fleet.headers(role)


class Fuzzer:
    def __init__(self, fleet: LiveFleet) -> None:
        self.fleet = fleet
        self.ground = Ground(fleet)
        self.tally = Tally()
        self.session = requests.Session()

    def send(self, case: Any, role: str) -> None:
        label = f"{case.operation.method.upper()} {case.operation.path}"
        headers = _headers(self.fleet, role)
        streaming = case.operation.path == "/events"
        timeout = STREAM_SECONDS if streaming else REQUEST_TIMEOUT
        self.tally.requests += 1
        try:
            response = case.call(
                base_url=self.fleet.base, session=self.session, headers=headers, timeout=timeout
            )
        except requests.RequestException as exc:
            self.tally.fail(label, type(exc).__name__, f"{exc}\n{case.as_curl_command()}")
            return
        status = response.status_code
        self.tally.by_status[status] += 1
        if status not in (401, 403, 413, 422):
            self.tally.past_validation += 1
        if status < 300:
            self.tally.succeeded[label] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                self.tally.fail(label, f"{type(failure).__name__} {status}", str(group))

    def examples(self, operation: Any) -> None:
        """The description's own examples (the seed pages'), grounded in real ids; an operation
        without examples gets one request with real ids and nothing optional."""
        content = (operation.definition.raw.get("requestBody") or {}).get("content", {})
        examples = content.get("application/json", {}).get("examples", {})
        if not examples:
            self.send(self.plain(operation), "admin")
        for example in examples.values():
            body = copy.deepcopy(example["value"])
            case = operation.Case(body=body, media_type="application/json")
            target = body.get("target")
            if isinstance(target, dict):
                body["target"] = copy.deepcopy(self.ground.targets[len(target) % 4])
            if body.get("location_id"):
                body["location_id"] = self.fleet.peer_location_id
            if "identity" in body:
                body["identity"] = f"EXAMPLE-{self.tally.requests}"
            if "name_prefix" in body:
                body["name_prefix"] = f"example{self.tally.requests}"
            self.ground.safe(body)
            self.send(case, "admin")

    def plain(self, operation: Any) -> Any:
        method = operation.method.upper()
        path_parameters = {}
        for name in re.findall(r"{(\w+)}", operation.path):
            if method == "DELETE" and name == "cpo_id":
                path_parameters[name] = self.fleet.spare_cpo_ids[0]
            elif method == "DELETE":
                path_parameters[name] = self.ground.victim(name)
            else:
                path_parameters[name] = self.ground.pool(operation.path, name)[0]
        if operation.path == "/events":
            return operation.Case(query={"topics": "fleet"})
        if operation.path == "/scenarios/runs":
            target = {"csms_url": self.fleet.dead_csms, "ocpp_version": "ocpp1.6"}
            body = {"scenario": LIGHT_SCENARIOS[0], "target": target}
            return operation.Case(body=body, media_type="application/json")
        return operation.Case(path_parameters=path_parameters)

    def generated(self, operation: Any, mode: GenerationMode) -> None:
        label = f"{operation.method.upper()} {operation.path}"
        strategy = operation.as_strategy(generation_mode=mode)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            case = data.draw(strategy)
            self.ground.path(case, data.draw)
            self.ground.query(case, data.draw)
            self.ground.body(case, data.draw)
            self.send(case, data.draw(st.sampled_from(ROLES)))

        try:
            run()
        except Unsatisfiable:
            # An operation without inputs (GET /health) has nothing to make invalid.
            if mode is GenerationMode.POSITIVE:
                self.tally.fail(label, "generation", "no valid request could be generated")
        except Exception as exc:  # noqa: BLE001 - reported with the others
            self.tally.fail(label, f"generation ({mode.value})", repr(exc))


def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(
    fleet: LiveFleet, record_property: Callable[[str, object], None], capsys: Any
) -> None:
    started = time.monotonic()
    document = httpx.get(f"{fleet.base}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item}
    assert len(operations) == len(labels)
    fuzzer = Fuzzer(fleet)
    for operation in operations:
        assert time.monotonic() - started < RUN_SECONDS, f"over {RUN_SECONDS} s: {fuzzer.tally}"
        fuzzer.examples(operation)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzzer.generated(operation, mode)
    tally = fuzzer.tally
    fewest = min(labels, key=lambda label: tally.succeeded[label])
    summary = (
        f"schemathesis: {len(operations)} operations, {tally.requests} requests in "
        f"{time.monotonic() - started:.1f} s, {tally.past_validation} past validation, "
        f"statuses {dict(sorted(tally.by_status.items()))}, {len(tally.failures)} failures; "
        f"fewest successes: {tally.succeeded[fewest]} ({fewest})"
    )
    record_property("fuzz_requests", tally.requests)
    record_property("fuzz_failures", len(tally.failures))
    with capsys.disabled():
        print("\n" + summary)
    assert tally.failures == {}, (
        summary + "\n\n" + "\n\n".join(f"{key}\n{report}" for key, report in tally.failures.items())
    )
    assert tally.requests >= MIN_REQUESTS, summary
    # Real ids took requests past validation, and every operation answered with success.
    assert tally.past_validation >= tally.requests // 3, summary
    assert labels - set(tally.succeeded) == set(), summary
