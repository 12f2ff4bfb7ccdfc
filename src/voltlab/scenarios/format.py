"""Reading a scenario: YAML or JSON text (or an already parsed object) -> a validated
`Scenario`. Validation is the published JSON Schema (`schema.py`); an error names the field
(`steps[2].within: must be bigger than 0`) and never reaches the runner."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import fastjsonschema
import yaml  # type: ignore[import-untyped]  # no stubs installed; safe_load gives Any

from voltlab.scenarios.schema import SCHEMA

_validate = fastjsonschema.compile(SCHEMA)
_REQUIRED = re.compile(r"must contain \[(.+?)\] properties")


class ScenarioInvalid(ValueError):
    """A scenario that does not follow the schema; `field` names where (`steps[2].within`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Step:
    index: int
    do: str
    name: str
    args: Mapping[str, Any]
    versions: tuple[str, ...] = ()  # empty: every version


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    requires: str
    target: str  # ocpp | emsp
    versions: tuple[str, ...]
    default_within: float
    default_model: str
    params: Mapping[str, Any]
    steps: tuple[Step, ...]
    source: dict[str, Any] = field(repr=False)

    def parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The run's parameters: the defaults, overridden by `given` (each must be declared
        and of its default's type)."""
        chosen = dict(self.params)
        for name, value in given.items():
            if name not in self.params:
                known = ", ".join(self.params) or "none"
                raise ScenarioInvalid(f"params.{name}", f"not a parameter (declared: {known})")
            default = self.params[name]
            if isinstance(default, bool) != isinstance(value, bool) or (
                isinstance(default, int | float) and not isinstance(value, int | float)
            ):
                raise ScenarioInvalid(f"params.{name}", f"must be like {default!r}")
            chosen[name] = value
        return chosen

    @property
    def creates_cpo(self) -> bool:
        """An eMSP scenario that makes its own CPO (`create_cpo`) needs no cpo_id target."""
        return any(step.do == "create_cpo" for step in self.steps)

    def steps_for(self, version: str | None) -> tuple[Step, ...]:
        """The steps a run against `version` takes (numbered again from 0)."""
        chosen = [s for s in self.steps if not s.versions or version in s.versions]
        return tuple(
            Step(index, s.do, s.name, s.args, s.versions) for index, s in enumerate(chosen)
        )


def _field_name(path: str) -> str:
    # fastjsonschema names the value "data.steps[2].within"; the user wrote "steps[2].within".
    if path == "data":
        return ""
    return path[5:] if path.startswith("data.") else path


def parse_text(text: str) -> dict[str, Any]:
    """YAML or JSON (JSON is YAML) -> the object it holds."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioInvalid("", f"not YAML or JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ScenarioInvalid("", "a scenario is an object with name and steps")
    return loaded


def parse_value(text: str) -> str | int | float | bool:
    """A parameter's value as typed on a command line: 100, 2.5, true, or text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str | int | float | bool):
        return value
    if value is None:
        return text
    raise ValueError("a parameter is a number, true/false or text")


def load(source: Mapping[str, Any] | str) -> Scenario:
    data = parse_text(source) if isinstance(source, str) else dict(source)
    # Round-trip through JSON: YAML dates and the like are not scenario values.
    try:
        data = json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ScenarioInvalid("", f"not plain JSON data: {exc}") from exc
    try:
        _validate(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        path = exc.name or "data"
        field_name = _field_name(path)
        message = exc.message.removeprefix(path + " ")
        missing = _REQUIRED.fullmatch(message)
        if missing:
            # "steps[0]: must contain ['from'] properties" -> "steps[0].from: is required"
            first = missing.group(1).split(",")[0].strip().strip("'\"")
            field_name = f"{field_name}.{first}" if field_name else first
            message = "is required"
        raise ScenarioInvalid(field_name, message) from None
    steps = []
    for index, raw in enumerate(data["steps"]):
        args = {k: v for k, v in raw.items() if k not in ("do", "name", "description", "versions")}
        name = raw.get("name") or f"{index + 1}. {raw['do']}"
        steps.append(Step(index, raw["do"], name, args, tuple(raw.get("versions") or ())))
    names = [s.name for s in steps]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ScenarioInvalid(f"steps[{index}].name", f"{name!r} names an earlier step too")
    defaults = data.get("defaults") or {}
    return Scenario(
        name=data["name"],
        title=data.get("title") or data["name"],
        description=data.get("description") or "",
        requires=data.get("requires") or "",
        target=str(data.get("target", "ocpp")),
        versions=tuple(data.get("versions") or ()),
        default_within=float(defaults.get("within", 30)),
        default_model=str(defaults.get("model", "ac-22kw-2c")),
        params=dict(data.get("params") or {}),
        steps=tuple(steps),
        source=data,
    )
