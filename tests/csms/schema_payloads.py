"""Payloads built from the OCA JSON schemas themselves: what a station that "sends exactly what
the schemas allow" may send. Deterministic (seeded), no dependency beyond the schemas.

``instance(schema, rng, mode)``: ``min`` fills only required properties and the fewest
items; ``max`` fills every property and the most items (capped) at maximal string lengths;
``random`` chooses per property and per value. The OCPP 2.x schemas use a small keyword set
(type, properties, required, $ref to definitions, enum, items/minItems/maxItems, maxLength,
minimum/maximum, format date-time), which is all this handles.
"""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from voltlab.ocpp.schemas import schema_directory

MAX_ITEMS = 3  # arrays are capped: the point is shape, not volume
MAX_STRING = 64


def load_request_schema(version: str, action: str) -> dict[str, Any]:
    path = schema_directory(version) / f"{action}Request.json"
    return json.loads(path.read_text(encoding="utf-8-sig"))


def instance(schema: dict[str, Any], rng: random.Random, mode: str) -> Any:
    return _Builder(schema, rng, mode).build(schema)


class _Builder:
    def __init__(self, root: dict[str, Any], rng: random.Random, mode: str) -> None:
        self.definitions = root.get("definitions", {})
        self.rng = rng
        self.mode = mode

    def build(self, node: dict[str, Any]) -> Any:
        ref = node.get("$ref")
        if ref is not None:
            return self.build(self.definitions[ref.rsplit("/", 1)[-1]])
        if "enum" in node:
            values = node["enum"]
            return values[0] if self.mode == "min" else self.rng.choice(values)
        kind = node.get("type", "object")
        if kind == "object":
            return self._object(node)
        if kind == "array":
            return self._array(node)
        if kind == "string":
            return self._string(node)
        if kind == "integer":
            return int(self._number(node, integer=True))
        if kind == "number":
            return self._number(node, integer=False)
        if kind == "boolean":
            return self.rng.random() < 0.5
        raise ValueError(f"schema type {kind!r} not handled")

    def _object(self, node: dict[str, Any]) -> dict[str, Any]:
        required = set(node.get("required", []))
        out: dict[str, Any] = {}
        for name, child in node.get("properties", {}).items():
            if name == "customData" and self.mode != "max":
                continue
            include = (
                name in required
                or self.mode == "max"
                or (self.mode == "random" and self.rng.random() < 0.5)
            )
            if include:
                out[name] = self.build(child)
        return out

    def _array(self, node: dict[str, Any]) -> list[Any]:
        low = node.get("minItems", 0)
        high = min(node.get("maxItems", MAX_ITEMS), max(low, MAX_ITEMS))
        if self.mode == "min":
            count = low
        elif self.mode == "max":
            count = high
        else:
            count = self.rng.randint(low, high)
        return [self.build(node["items"]) for _ in range(count)]

    def _string(self, node: dict[str, Any]) -> str:
        if node.get("format") == "date-time":
            moment = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(
                seconds=self.rng.randint(0, 86_400)
            )
            return moment.isoformat().replace("+00:00", "Z")
        limit = min(node.get("maxLength", MAX_STRING), MAX_STRING)
        if self.mode == "min":
            length = 0
        elif self.mode == "max":
            length = limit
        else:
            length = self.rng.randint(0, limit)
        return "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(length))

    def _number(self, node: dict[str, Any], *, integer: bool) -> float:
        low = node.get("minimum", -1_000 if self.mode == "random" else 0)
        high = node.get("maximum", 1_000_000)
        if self.mode == "min":
            return low
        if self.mode == "max":
            return high
        value = self.rng.uniform(low, high)
        return round(value) if integer else value
