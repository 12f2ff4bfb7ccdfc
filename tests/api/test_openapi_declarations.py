"""What `/openapi.json` declares, checked against the code that answers: every operation names
its success body and its error statuses, the examples (the seed pages') fit their schemas, and
the schema's enums, pattern and the command target's either/or rule say what the server checks.
(Real answers against these declarations: tests/e2e/test_openapi_truth.py and
test_openapi_fuzz.py.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from voltlab.api.app import create_app
from voltlab.api.command_events import COMMAND_KINDS, CommandTarget
from voltlab.api.openapi_examples import (
    SEED_CPO_REQUEST,
    SEED_CPO_RESPONSE,
    SEED_START_SESSION_REQUEST,
    SEED_START_SESSION_RESPONSE,
)
from voltlab.api.routes.commands import check_target_shape
from voltlab.api.schemas import CSMS_URL_PATTERN, _check_csms_url
from voltlab.cpo.templates import TEMPLATES
from voltlab.fleet.model.catalog import CATALOG
from voltlab.store.db import Database

METHODS_WITH_BODY = {"post", "put", "patch", "delete"}
# Not (only) JSON: the live channel, a run's JUnit XML and its Markdown report, the frame log's
# export for replays, the Prometheus metrics.
OTHER_MEDIA = {
    ("get", "/events"): ["text/event-stream"],
    ("get", "/scenarios/runs/{run_id}/junit"): ["application/xml"],
    ("get", "/scenarios/runs/{run_id}/report"): ["text/markdown"],
    ("get", "/ocpp/chargers/{charger_id}/messages"): ["application/json", "application/x-ndjson"],
    ("get", "/metrics"): ["text/plain", "application/openmetrics-text"],
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path: Path = tmp_path_factory.mktemp("openapi") / "voltlab.db"
    database = Database(f"sqlite:///{path}")
    try:
        spec: dict[str, Any] = create_app(database, virtual_cpos=True).openapi()
    finally:
        database.dispose()
    return spec


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def test_every_operation_names_its_success_body(document: dict[str, Any]) -> None:
    assert len(operations(document)) >= 63
    for method, path, operation in operations(document):
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert len(success) == 1, (method, path, success)
        answer = operation["responses"][success[0]]
        assert answer["description"] != "Successful Response", (method, path)
        if success[0] == "204":
            assert "content" not in answer, (method, path)
            continue
        media = list(answer["content"])
        assert media == OTHER_MEDIA.get((method, path), ["application/json"]), (method, path)
        if "application/json" in media:
            schema = answer["content"]["application/json"]["schema"]
            # A named model (or a list of one, or either of two): never a bare `object`.
            named = schema.get("$ref") or schema.get("items", {}).get("$ref")
            named = named or all("$ref" in option for option in schema.get("anyOf", [{}]))
            assert named, (method, path, schema)


def test_every_operation_declares_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    names = set(document["components"]["schemas"])
    # FastAPI's own 422 model is replaced by the one the error handler really answers with.
    assert {"HTTPValidationError", "ValidationError"} & names == set()
    for method, path, operation in operations(document):
        declared = {int(code) for code in operation["responses"] if not code.startswith("2")}
        expected = {503} if path == "/health" else {401, 503}
        if method in METHODS_WITH_BODY:
            expected |= {403, 413, 422}
        if operation.get("parameters"):
            expected.add(422)
        if "{" in path:
            expected.add(404)
        assert expected <= declared, (method, path, sorted(declared))
        for code in declared - {503 if path == "/health" else 0}:
            schema = operation["responses"][str(code)]["content"]["application/json"]["schema"]
            model = "ValidationErrorBody" if code == 422 else "ErrorBody"
            assert schema == {"$ref": f"#/components/schemas/{model}"}, (method, path, code)


def test_the_seed_examples_are_on_their_bodies(document: dict[str, Any]) -> None:
    cpo = document["paths"]["/ocpi/cpos"]["post"]
    assert cpo["requestBody"]["content"]["application/json"]["examples"]["seed"]["value"] == (
        SEED_CPO_REQUEST
    )
    assert cpo["responses"]["202"]["content"]["application/json"]["example"] == SEED_CPO_RESPONSE
    session = document["paths"]["/ocpp/commands/start-session"]["post"]
    examples = session["requestBody"]["content"]["application/json"]["examples"]
    assert examples["charger"]["value"] == SEED_START_SESSION_REQUEST
    answer = session["responses"]["202"]["content"]["application/json"]["example"]
    assert answer == SEED_START_SESSION_RESPONSE


def test_every_example_fits_its_schema(document: dict[str, Any]) -> None:
    checked = 0
    for method, path, operation in operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            check = validator(document, body["schema"])
            for name, example in body.get("examples", {}).items():
                errors = [e.message for e in check.iter_errors(example["value"])]
                assert errors == [], (method, path, name, errors)
                checked += 1
        for code, answer in operation["responses"].items():
            content = answer.get("content", {}).get("application/json", {})
            if "example" in content:
                errors = [
                    e.message
                    for e in validator(document, content["schema"]).iter_errors(content["example"])
                ]
                assert errors == [], (method, path, code, errors)
                checked += 1
    assert checked >= 20 * 3 + 2


def test_enums_are_the_catalog_the_templates_and_the_versions(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    models = sorted(CATALOG)
    assert schemas["LocationCreate"]["properties"]["model"]["enum"] == models
    assert schemas["ChargerCreate"]["properties"]["model"]["anyOf"][0]["enum"] == models
    listing = document["paths"]["/ocpp/chargers"]["get"]["parameters"]
    assert next(p for p in listing if p["name"] == "model")["schema"]["enum"] == models
    assert schemas["CpoCreate"]["properties"]["template"]["enum"] == sorted(TEMPLATES)
    slugs = [kind.event_type for kind in COMMAND_KINDS]
    assert schemas["QueuedCommandView"]["properties"]["event_type"]["enum"] == slugs
    versions = ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]
    assert schemas["LocationCreate"]["properties"]["ocpp_version"]["enum"] == versions
    assert schemas["ChargerView"]["properties"]["ocpp_version"]["enum"] == versions


# The target's either/or rule: the schema's oneOf and the route's check agree on every shape.
TARGETS = st.fixed_dictionaries(
    {},
    optional={
        "charger_id": st.one_of(st.none(), st.just("dep-1")),
        "location_id": st.one_of(st.none(), st.just("loc-1")),
        "charger_ids": st.one_of(st.none(), st.just(["dep-1", "dep-2"])),
    },
)


@settings(max_examples=60, deadline=None)
@given(target=TARGETS)
def test_the_target_schema_says_what_the_route_checks(target: dict[str, Any]) -> None:
    schema = CommandTarget.model_json_schema()
    allowed_by_schema = Draft202012Validator(schema).is_valid(target)
    try:
        check_target_shape(CommandTarget.model_validate(target))
        allowed_by_route = True
    except RequestValidationError:
        allowed_by_route = False
    assert allowed_by_schema == allowed_by_route, target


URL_PARTS = st.tuples(
    st.sampled_from(["ws", "wss", "WS", "http", "ws:", ""]),
    st.sampled_from(["://", ":/", "//"]),
    st.sampled_from(["", "user:pw@", "@"]),
    st.sampled_from(["127.0.0.1", "csms.example", "[::1]", "[::1", "-bad", "a b", "h\x00"]),
    st.sampled_from(["", ":9000", ":0", ":99999", ":x"]),
    st.sampled_from(["", "/", "/ocpp", "/ocpp?x=1", "/ocpp#frag", "#", "?q@x", "/a b"]),
)


@settings(max_examples=200, deadline=None)
@given(parts=URL_PARTS)
def test_every_csms_url_the_server_accepts_matches_the_schema_pattern(
    parts: tuple[str, ...],
) -> None:
    url = "".join(parts)
    try:
        _check_csms_url(url)
    except ValueError:
        return
    assert re.match(CSMS_URL_PATTERN, url), url
