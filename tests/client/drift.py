"""Comparing the client's models with an /openapi.json: component schemas field by field, and
each route's body and answer with the model the client sends and reads."""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from voltlab.api.command_events import COMMAND_KINDS
from voltlab.client import fleet_calls, models, ops_calls
from voltlab.client.calls import Call
from voltlab.client.command_methods import CommandMethods

# Words, not shape: what a field means may be reworded without drift.
_WORDS = {"title", "description", "examples", "example"}
_SUFFIX = re.compile(r"-(Input|Output)$")
# Re-exported for typing only; no route sends or answers the abstract base itself.
NOT_ON_THE_WIRE = {"EventModel"}


def normalized(schema: Any) -> Any:
    """Without the words, `default: null` (FastAPI leaves it out) and the -Input/-Output
    suffixes of component names; numbers as floats (FastAPI writes bounds as floats, so
    2**63 - 1 reads back as 9.223372036854776e18)."""
    if isinstance(schema, int | float) and not isinstance(schema, bool):
        return float(schema)
    if isinstance(schema, dict):
        return {
            key: (_SUFFIX.sub("", value) if key == "$ref" else normalized(value))
            for key, value in schema.items()
            if key not in _WORDS and not (key == "default" and value is None)
        }
    if isinstance(schema, list):
        return [normalized(item) for item in schema]
    return schema


def client_components() -> dict[str, Any]:
    """The client's models as OpenAPI components: requests as FastAPI reads them (validation),
    responses as it writes them (serialization)."""
    pairs: list[tuple[type[BaseModel], Any]] = []
    for name in models.__all__:
        kind = getattr(models, name)
        if isinstance(kind, type) and issubclass(kind, BaseModel) and name not in NOT_ON_THE_WIRE:
            mode = "serialization" if ".responses." in kind.__module__ else "validation"
            pairs.append((kind, mode))
    _, schema = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    return {_SUFFIX.sub("", key): value for key, value in schema.get("$defs", {}).items()}


def server_components(spec: dict[str, Any]) -> dict[str, Any]:
    return {_SUFFIX.sub("", k): v for k, v in spec["components"]["schemas"].items()}


def component_drift(spec: dict[str, Any]) -> list[str]:
    server = server_components(spec)
    problems: list[str] = []
    for name, schema in sorted(client_components().items()):
        if name not in server:
            problems.append(f"{name}: the server's /openapi.json has no such component")
        elif normalized(schema) != normalized(server[name]):
            mine, theirs = normalized(schema), normalized(server[name])
            fields = sorted(
                key for key in set(mine) | set(theirs) if mine.get(key) != theirs.get(key)
            )
            problems.append(f"{name}: differs in {fields}")
    return problems


# --- routes -------------------------------------------------------------------------------------


def type_name(kind: Any) -> str:
    """A response or body type as a comparable word: Model, list[Model], A|B, str, None."""
    if kind is None or kind is type(None):
        return "None"
    if kind is str:
        return "str"
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind.__name__
    origin = typing.get_origin(kind)
    if origin is list:
        return f"list[{type_name(typing.get_args(kind)[0])}]"
    if origin in (typing.Union, types.UnionType):
        return "|".join(sorted(type_name(arg) for arg in typing.get_args(kind)))
    raise TypeError(f"no name for {kind!r}")


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return _SUFFIX.sub("", schema["$ref"].rsplit("/", 1)[-1])
    if schema.get("type") == "array":
        return f"list[{_schema_name(schema['items'])}]"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return "|".join(sorted(_schema_name(item) for item in schema[key]))
    return f"<{schema.get('type', 'any')}>"


def operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    for template, operations in spec["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, path) and method.lower() in operations:
            found: dict[str, Any] = operations[method.lower()]
            return found
    return None


def answer_name(op: dict[str, Any], text: bool = False) -> str:
    """The success answer the operation declares, as `type_name` words it; with `text`, "str"
    when it also declares a body that is not JSON (the frame log's `format=jsonl`)."""
    for status in ("200", "201", "202", "204"):
        response = op.get("responses", {}).get(status)
        if response is None:
            continue
        content = response.get("content") or {}
        if text and any(kind != "application/json" for kind in content):
            return "str"
        if "application/json" in content:
            return _schema_name(content["application/json"].get("schema", {}))
        if content:
            return "str"
        return "None"
    return "<no success answer>"


def body_name(op: dict[str, Any]) -> str | None:
    body = op.get("requestBody")
    if body is None:
        return None
    return _schema_name(body["content"]["application/json"]["schema"])


def builders() -> Iterator[tuple[str, Any]]:
    """Every function of the client's call modules that makes a `Call`."""
    for module in (fleet_calls, ops_calls):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and str(
                inspect.signature(function).return_annotation
            ).startswith("Call["):
                yield f"{module.__name__}.{name}", function


def sample_calls() -> dict[str, Call[Any]]:
    """One call of each builder, with placeholder ids."""
    location = models.LocationCreate.model_construct(name="x", csms_url="ws://h/")
    charger = models.ChargerCreate.model_construct(identity="x")
    cpo = models.CpoCreate.model_construct(template="x")
    run = models.RunCreate.model_construct(scenario="x")
    replay = models.ReplayCreate.model_construct(capture="x")
    fc, oc = "voltlab.client.fleet_calls", "voltlab.client.ops_calls"
    return {
        f"{fc}.health": fleet_calls.health(),
        f"{fc}.me": fleet_calls.me(),
        f"{fc}.charger_models": fleet_calls.charger_models(),
        f"{fc}.fleet_summary": fleet_calls.fleet_summary(),
        f"{fc}.cluster": fleet_calls.cluster(),
        f"{fc}.metrics": fleet_calls.metrics(),
        f"{fc}.create_location": fleet_calls.create_location(location),
        f"{fc}.list_locations": fleet_calls.list_locations(),
        f"{fc}.get_location": fleet_calls.get_location("loc-1"),
        f"{fc}.delete_location": fleet_calls.delete_location("loc-1"),
        f"{fc}.location_findings": fleet_calls.location_findings("loc-1"),
        f"{fc}.create_charger": fleet_calls.create_charger(charger),
        f"{fc}.list_chargers": fleet_calls.list_chargers(),
        f"{fc}.get_charger": fleet_calls.get_charger("dep-1"),
        f"{fc}.start_charger": fleet_calls.start_charger("dep-1"),
        f"{fc}.stop_charger": fleet_calls.stop_charger("dep-1"),
        f"{fc}.delete_charger": fleet_calls.delete_charger("dep-1"),
        f"{fc}.configuration": fleet_calls.configuration("dep-1"),
        f"{fc}.meter_series": fleet_calls.meter_series("dep-1"),
        f"{fc}.messages": fleet_calls.messages("dep-1"),
        f"{fc}.messages_jsonl": fleet_calls.messages_jsonl("dep-1"),
        f"{fc}.charger_findings": fleet_calls.charger_findings("dep-1"),
        f"{oc}.list_commands": ops_calls.list_commands(),
        f"{oc}.get_command": ops_calls.get_command("cmd-1"),
        f"{oc}.cpo_templates": ops_calls.cpo_templates(),
        f"{oc}.create_cpo": ops_calls.create_cpo(cpo),
        f"{oc}.list_cpos": ops_calls.list_cpos(),
        f"{oc}.get_cpo": ops_calls.get_cpo("cpo-1"),
        f"{oc}.cpo_status": ops_calls.cpo_status("cpo-1"),
        f"{oc}.cpo_report": ops_calls.cpo_report("cpo-1"),
        f"{oc}.cpo_traffic": ops_calls.cpo_traffic("cpo-1"),
        f"{oc}.delete_cpo": ops_calls.delete_cpo("cpo-1"),
        f"{oc}.cpo_findings": ops_calls.cpo_findings("cpo-1"),
        f"{oc}.scenario_library": ops_calls.scenario_library(),
        f"{oc}.scenario": ops_calls.scenario("boot"),
        f"{oc}.start_run": ops_calls.start_run(run),
        f"{oc}.list_runs": ops_calls.list_runs(),
        f"{oc}.get_run": ops_calls.get_run("run-1"),
        f"{oc}.run_junit": ops_calls.run_junit("run-1"),
        f"{oc}.run_report": ops_calls.run_report("run-1"),
        f"{oc}.start_replay": ops_calls.start_replay(replay),
        f"{oc}.list_replays": ops_calls.list_replays(),
        f"{oc}.get_replay": ops_calls.get_replay("rpl-1"),
    } | {
        f"{oc}.command/{kind.slug}": ops_calls.command(kind.slug, "dep-1", None)
        for kind in COMMAND_KINDS
    }


def route_drift(spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    hints = {name: typing.get_type_hints(function) for name, function in builders()}
    for name, call in sample_calls().items():
        op = operation(spec, call.method, call.path)
        if op is None:
            problems.append(f"{name}: no {call.method} {call.path} in /openapi.json")
            continue
        mine = type_name(call.response)
        theirs = answer_name(op, text=mine == "str")
        if mine != theirs:
            problems.append(f"{name}: reads {mine}, the server answers {theirs}")
        body = hints.get(name, {}).get("body")
        if body is not None and type_name(body) != body_name(op):
            problems.append(f"{name}: sends {type_name(body)}, the server reads {body_name(op)}")
    return problems


def command_event_drift(spec: dict[str, Any]) -> list[str]:
    """Each command method's event model is the one the server's route reads."""
    problems: list[str] = []
    components = server_components(spec)
    methods = {
        name: typing.get_type_hints(getattr(CommandMethods, name)).get("event")
        for name, _ in inspect.getmembers(CommandMethods, inspect.isfunction)
        if name != "send"
    }
    for kind in COMMAND_KINDS:
        method = kind.event_type
        if method not in methods:
            problems.append(f"{kind.slug}: the client has no method {method}()")
            continue
        op = operation(spec, "POST", f"/ocpp/commands/{kind.slug}")
        body = body_name(op) if op is not None else None
        event_schema = components.get(body or "", {}).get("properties", {}).get("event", {})
        theirs = _schema_name(event_schema) if event_schema else "<none>"
        mine = type_name(methods[method]) if methods[method] is not None else "NoFields"
        if mine != theirs:
            problems.append(f"{kind.slug}: the client sends {mine}, the server reads {theirs}")
    return problems
