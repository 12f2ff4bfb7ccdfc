"""The scenario format: the published schema is the one the code validates with, an independent
validator (jsonschema) accepts every library scenario, errors name the field."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from voltlab.scenarios.format import ScenarioInvalid, load
from voltlab.scenarios.gateway import Frame
from voltlab.scenarios.library import library
from voltlab.scenarios.match import MISSING, exchanges, meter_samples, mismatches, value_matches
from voltlab.scenarios.schema import SCHEMA, schema_text

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = [
    ROOT / "docs" / "scenario.schema.json",
    ROOT / "src/voltlab/scenarios/scenario.schema.json",
]


@pytest.mark.parametrize("path", PUBLISHED, ids=["docs", "package"])
def test_published_schema_is_the_one_in_use(path: Path) -> None:
    assert path.read_text() == schema_text()


@pytest.mark.parametrize("name", sorted(library()))
def test_library_scenarios_follow_the_schema(name: str) -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator(SCHEMA).validate(library()[name].source)


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("name: x\nsteps:\n - do: advance_time\n   seconds: -1", "steps[0].seconds", "bigger"),
        ("name: x\nsteps:\n - do: fly", "steps[0].do", "must be one of"),
        ("name: x\nsteps:\n - do: restart_link\n   wat: 1", "steps[0]", "{'wat'}"),
        ("name: x\nsteps:\n - do: partition", "steps[0].seconds", "is required"),
        ("name: Bad Name\nsteps:\n - do: restart_link", "name", "pattern"),
        ("name: x\nsteps: []", "steps", "must contain at least 1 items"),
        (
            "name: x\nsteps:\n - do: restart_link\n   name: a\n - do: restart_link\n   name: a",
            "steps[1].name",
            "earlier step",
        ),
        ("name: [unclosed", "", "not YAML or JSON"),
        ('{"name": "x", "steps": [{"do": "expect_answer"}]}', "steps[0].action", "is required"),
        (
            "name: x\nsteps:\n - do: create_cpo\n   party_id: TOOLONG",
            "steps[0].party_id",
            "pattern",
        ),
        (
            "name: x\nsteps:\n - do: create_cpo\n   ocpi_version: '3.0'",
            "steps[0].ocpi_version",
            "one of",
        ),
        (
            "name: x\nsteps:\n - do: wait_state\n   security_profile: 4",
            "steps[0].security_profile",
            "smaller",
        ),
    ],
)
def test_errors_name_the_field(text: str, field: str, message: str) -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        load(text)
    assert caught.value.field == field
    assert message in caught.value.message


def test_json_and_yaml_read_alike() -> None:
    source = {"name": "x", "steps": [{"do": "advance_time", "seconds": 2}]}
    assert (
        load(json.dumps(source)).steps
        == load("name: x\nsteps:\n - {do: advance_time, seconds: 2}").steps
    )


def test_matchers() -> None:
    assert value_matches(5, {"le": 5, "gt": 1}) and not value_matches(6, {"le": 5})
    assert value_matches("7.5", {"ge": 7}) and not value_matches("x", {"ge": 7})
    assert value_matches("A", {"in": ["A", "B"]}) and not value_matches(MISSING, {"exists": True})
    assert mismatches({"a": {"b": [1, 2]}}, {"a.b.1": 2, "a.c": {"exists": False}}) == []
    assert mismatches({"status": "Pending"}, {"status": "Accepted"}) == [
        "status: expected 'Accepted', got 'Pending'"
    ]


def test_exchanges_and_meter_samples() -> None:
    frames = [
        Frame(1, "t", "out", [2, "m1", "MeterValues", {"connectorId": 1, "meterValue": [
            {"timestamp": "T1", "sampledValue": [
                {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "2400", "measurand": "Power.Active.Import", "unit": "W", "phase": "L1"},
                {"value": "100"},
            ]}]}]),
        Frame(2, "t", "in", [3, "m1", {}]),
        Frame(3, "t", "out", [2, "m2", "MeterValues", {"connectorId": 1, "meterValue": []}]),
        Frame(4, "t", "in", [4, "m2", "InternalError", "down", {}]),
    ]  # fmt: skip
    found = exchanges(frames, "station", "MeterValues")
    assert [x.message_id for x in found] == ["m1", "m2"]
    assert found[0].result == {} and found[1].error == ("InternalError", "down")
    samples = meter_samples(found, "Power.Active.Import")
    assert [(s.message_id, s.value) for s in samples] == [("m1", 7200.0)]
    assert exchanges(frames, "csms") == []
