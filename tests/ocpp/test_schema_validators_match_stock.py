"""Our compiled validators (`schemas.compile_validator`: string enums by set lookup, objects
without a working copy of their keys) decide every payload as stock fastjsonschema does, with
the same first error. Payloads are made from each bundled schema, close to valid: every
property drawn from its own schema or something else, required ones sometimes left out, an
extra property sometimes added, so the checks of every depth get their turn."""

from __future__ import annotations

import json
import os
import random
from typing import Any

import fastjsonschema
import pytest

from voltlab.ocpp.schemas import compile_validator, schema_directory
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

PAYLOADS_PER_SCHEMA = 40
ODD_VALUES: list[Any] = ["x", "", 0, -1, 2.5, True, None, [], {}, [1], {"k": 1}]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        return _resolve(node, root)
    return schema


def _value(schema: Any, root: dict[str, Any], rng: random.Random, depth: int) -> Any:
    """A value for `schema`: mostly one it allows, sometimes anything."""
    if not isinstance(schema, dict) or rng.random() < 0.08 or depth > 8:
        return rng.choice(ODD_VALUES)
    schema = _resolve(schema, root)
    if "enum" in schema:
        members = schema["enum"]
        return rng.choice([*members, "NotAMember"] if rng.random() < 0.2 else members)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object" or "properties" in schema:
        return _object(schema, root, rng, depth)
    if kind == "array":
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", low + 2)
        count = rng.randint(max(0, low - 1), min(high + 1, low + 3))
        return [_value(schema.get("items", {}), root, rng, depth + 1) for _ in range(count)]
    if kind == "string":
        if schema.get("format") == "date-time":
            return rng.choice(["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.1+02:00", "today"])
        length = schema.get("maxLength", 8)
        return "a" * rng.choice([0, 1, length, length + 1])
    if kind == "integer":
        return rng.choice([0, 1, -5, 7, schema.get("minimum", 0) - 1, 3.0])
    if kind == "number":
        return rng.choice([0, 1.5, -2, 0.1, schema.get("minimum", 0) - 1])
    if kind == "boolean":
        return rng.choice([True, False])
    return rng.choice(ODD_VALUES)


def _object(schema: dict[str, Any], root: dict[str, Any], rng: random.Random, depth: int) -> Any:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    body: dict[str, Any] = {}
    for key, definition in properties.items():
        keep = rng.random() < 0.9 if key in required else rng.random() < 0.5
        if keep:
            body[key] = _value(definition, root, rng, depth + 1)
    if rng.random() < 0.15:
        body[rng.choice(["extra", "other", "zz"])] = 1
    return body


def _outcome(validator: Any, payload: Any) -> Any:
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        return (exc.message, exc.name, exc.rule, repr(exc.value))
    return "valid"


@pytest.mark.parametrize("version", [OCPP16, OCPP201, OCPP21])
def test_every_schema_decides_as_stock_fastjsonschema(version: str) -> None:
    directory = schema_directory(version)
    rng = random.Random(f"validators {version}")
    outcomes: dict[str, int] = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        schema = json.loads((directory / name).read_text(encoding="utf-8-sig"))
        ours, stock = compile_validator(schema), fastjsonschema.compile(schema, use_default=False)
        for _ in range(PAYLOADS_PER_SCHEMA):
            payload = _value(schema, schema, rng, 0)
            decided = _outcome(ours, payload)
            assert decided == _outcome(stock, payload), (name, payload)
            rule = "valid" if decided == "valid" else decided[2]
            outcomes[rule] = outcomes.get(rule, 0) + 1
    # The payloads reach every kind of decision, valid ones included.
    assert {"valid", "type", "required", "additionalProperties", "enum"} <= outcomes.keys()
    assert outcomes["valid"] > 100
