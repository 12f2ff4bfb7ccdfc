"""Payload validation against the OCA JSON schemas bundled in the ``ocpp`` package.

Schemas are compiled with fastjsonschema lazily, one action at a time, and kept for the life
of the process: a fleet of thousands of stations shares one compiled validator per action.

Mapping of a schema failure to a CALLERROR code (documented choice, applied consistently):

* ``type`` (including a payload that is not an object)  -> TypeConstraintViolation
* ``required``, ``minItems``, ``maxItems``, ``additionalItems`` and the other cardinality
  keywords                                                -> OccurrenceConstraintViolation
* everything else -- ``enum``, ``maxLength``, ``pattern``, ``minimum``/``maximum``,
  ``multipleOf``, ``format`` and ``additionalProperties`` -- constrains the *value* of a
  field that is present with the right type               -> PropertyConstraintViolation

FormatViolation (1.6: FormationViolation) is reserved for frames that are not well-formed
OCPP-J (see :mod:`voltlab.ocpp.frames`), so one code never means two different things.
Codes are spelt for the schema set's version (1.6: ``OccurenceConstraintViolation``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
from fastjsonschema.draft04 import CodeGeneratorDraft04
from fastjsonschema.draft06 import CodeGeneratorDraft06
from fastjsonschema.draft07 import CodeGeneratorDraft07
from fastjsonschema.exceptions import JsonSchemaDefinitionException
from fastjsonschema.ref_resolver import RefResolver

from voltlab.ocpp.errors import OcppError, error_code
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201, check_version

Validator = Callable[[Any], Any]

_VERSION_DIRS: dict[str, str] = {OCPP16: "v16", OCPP201: "v201", OCPP21: "v21"}

_OCCURRENCE_RULES = frozenset(
    {"required", "minItems", "maxItems", "additionalItems", "minProperties", "maxProperties"}
)


def schema_directory(version: str) -> Path:
    """Directory of the bundled OCA schemas for ``version``, found without importing ``ocpp``."""
    check_version(version)
    spec = importlib.util.find_spec("ocpp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'ocpp' package (bundled OCA schemas) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / _VERSION_DIRS[version] / "schemas"


class SchemaSet:
    """All request/response schemas of one OCPP version, compiled on first use."""

    def __init__(self, version: str, directory: Path) -> None:
        self.version = check_version(version)
        self.directory = directory
        self._request_files: dict[str, str] = {}
        self._response_files: dict[str, str] = {}
        self._send_files: dict[str, str] = {}
        self._index_files(sorted(os.listdir(directory)))
        self.actions: frozenset[str] = frozenset(self._request_files)
        # 2.1 SEND messages (e.g. NotifyPeriodicEventStream) have one schema and no response.
        self.send_actions: frozenset[str] = frozenset(self._send_files)
        self._request_validators: dict[str, Validator] = {}
        self._response_validators: dict[str, Validator] = {}
        self._send_validators: dict[str, Validator] = {}
        self._type_code = error_code(version, "TypeConstraintViolation")
        self._occurrence_code = error_code(version, "OccurrenceConstraintViolation")
        self._property_code = error_code(version, "PropertyConstraintViolation")

    def _index_files(self, names: list[str]) -> None:
        # 1.6 names files {Action}.json / {Action}Response.json; 2.x uses
        # {Action}Request.json / {Action}Response.json.
        for name in names:
            if not name.endswith(".json"):
                continue
            stem = name[: -len(".json")]
            if stem.endswith("Response"):
                self._response_files[stem[: -len("Response")]] = name
            elif self.version == OCPP16:
                self._request_files[stem] = name
            elif stem.endswith("Request"):
                self._request_files[stem[: -len("Request")]] = name
            else:
                self._send_files[stem] = name

    # -- public validation API -------------------------------------------------------------

    def validate_request(self, action: str, payload: Any) -> None:
        """Raise OcppError unless ``payload`` is a valid request of ``action``."""
        validator = self._request_validators.get(action)
        if validator is None:
            validator = self._load(action, self._request_files, self._request_validators, "request")
        try:
            validator(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise self._violation(action, "request", exc) from None

    def validate_response(self, action: str, payload: Any) -> None:
        """Raise OcppError unless ``payload`` is a valid response (CALLRESULT) of ``action``."""
        validator = self._response_validators.get(action)
        if validator is None:
            validator = self._load(
                action, self._response_files, self._response_validators, "response"
            )
        try:
            validator(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise self._violation(action, "response", exc) from None

    def validate_send(self, action: str, payload: Any) -> None:
        """Raise OcppError unless ``payload`` is a valid 2.1 SEND message of ``action``."""
        validator = self._send_validators.get(action)
        if validator is None:
            validator = self._load(action, self._send_files, self._send_validators, "SEND")
        try:
            validator(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise self._violation(action, "SEND", exc) from None

    def compile_all(self) -> int:
        """Compile every schema now (warm-up, and proof they all compile); return the count."""
        count = 0
        for files, cache, kind in (
            (self._request_files, self._request_validators, "request"),
            (self._response_files, self._response_validators, "response"),
            (self._send_files, self._send_validators, "SEND"),
        ):
            for action in files:
                self._load(action, files, cache, kind)
                count += 1
        return count

    # -- internals -------------------------------------------------------------------------

    def _load(
        self, action: str, files: dict[str, str], cache: dict[str, Validator], kind: str
    ) -> Validator:
        validator = cache.get(action)
        if validator is not None:
            return validator
        name = files.get(action)
        if name is None:
            raise OcppError("NotImplemented", f"{self.version} has no {kind} schema for {action!r}")
        # utf-8-sig: tolerate a byte order mark, which some OCA schema exports carry.
        definition = json.loads((self.directory / name).read_text(encoding="utf-8-sig"))
        validator = compile_validator(definition)
        cache[action] = validator
        return validator

    def _violation(
        self, action: str, kind: str, exc: fastjsonschema.JsonSchemaValueException
    ) -> OcppError:
        field = _field_path(exc.name)
        rule = exc.rule
        if rule == "type":
            code = self._type_code
            detail = _message_tail(exc)
        elif rule == "required":
            code = self._occurrence_code
            present = exc.value if isinstance(exc.value, dict) else {}
            missing = [key for key in (exc.rule_definition or []) if key not in present]
            names = ", ".join(_join(field, key) for key in missing)
            return OcppError(code, f"{action} {kind}: missing required property {names}")
        elif rule in _OCCURRENCE_RULES:
            code = self._occurrence_code
            detail = _message_tail(exc)
        elif rule == "additionalProperties":
            code = self._property_code
            allowed = (exc.definition or {}).get("properties", {})
            extra = sorted(str(key) for key in (exc.value or {}) if key not in allowed)
            names = ", ".join(_join(field, key) for key in extra)
            return OcppError(code, f"{action} {kind}: property not allowed: {names}")
        else:
            code = self._property_code
            detail = _message_tail(exc)
        return OcppError(code, f"{action} {kind}: {field} {detail}")


class _StringEnums(CodeGeneratorDraft04):
    """An enum of strings only is checked with one set lookup. fastjsonschema compares a value
    with the members one by one (`isinstance(x, str) and x == "A" or ...`), 22 of them for a 1.6
    measurand: a MeterValues validation took 10 us, now 7.5. Same decisions, same errors."""

    def generate_enum(self) -> None:
        definition: Any = self._definition  # fastjsonschema's generator is untyped
        enum = definition["enum"]
        if not isinstance(enum, list) or not enum or any(type(v) is not str for v in enum):
            super().generate_enum()  # type: ignore[no-untyped-call]
            return
        # A set display of constants after `in` compiles to one frozenset constant.
        members = "{" + ", ".join(repr(value) for value in enum) + "}"
        with self.l("if not (isinstance({variable}, str) and {variable} in {}):", members):
            message = self.e(enum)  # type: ignore[no-untyped-call]
            self.exc("{name} must be one of {}", message, rule="enum")  # type: ignore[no-untyped-call]


class _PlainObjects(CodeGeneratorDraft04):
    """Objects checked without a working copy of their keys. fastjsonschema copies an
    object's keys into a set, removes each property it finds and calls what is left
    additional; here a property is looked up in the object itself, and the additional keys
    are found with one subset test after the properties, where fastjsonschema raises for
    them: the same decisions in the same order, with the same errors (MeterValues: 12.5 ->
    7.5 us). Object keywords under a scalar `type` (the OCA 1.6 schemas put
    `additionalProperties: false` on strings) are left out: the type check before them has
    refused anything that is not a string. Schemas with `patternProperties`, or with defaults
    to fill in, compile the stock way."""

    def _plain(self) -> bool:
        g: Any = self  # fastjsonschema's generator is untyped
        return "patternProperties" not in g._definition and not g._use_default

    def _scalar(self) -> bool:
        g: Any = self
        kind = g._definition.get("type")
        return isinstance(kind, str) and kind != "object"

    def _constant(self, value: frozenset[str]) -> str:
        """A name for `value` in the validator's globals."""
        g: Any = self
        constants: dict[str, Any] = g._extra_imports_objects
        name = f"KEYS_{len(constants)}"
        constants[name] = value
        return name

    def generate_required(self) -> None:
        g: Any = self
        required = g._definition["required"]
        if self._scalar():
            return
        if (
            not self._plain()
            or not isinstance(required, list)
            or len(set(required)) != len(required)
            or any(type(key) is not str for key in required)
        ):
            super().generate_required()  # type: ignore[no-untyped-call]
            return
        g.create_variable_is_dict()
        keys = self._constant(frozenset(required))
        with g.l("if {variable}_is_dict and not {variable}.keys() >= " + keys + ":"):
            g.l("{variable}__missing_keys = set({required}) - {variable}.keys()")
            dynamic = 'str(sorted({variable}__missing_keys)) + " properties"'
            g.exc("{name} must contain ", g.e(required), rule="required", append_to_msg=dynamic)

    def generate_properties(self) -> None:
        g: Any = self
        if self._scalar():
            return
        if not self._plain():
            super().generate_properties()  # type: ignore[no-untyped-call]
            return
        properties = g._definition["properties"]
        if not properties:
            return  # nothing to check (additionalProperties, if false, refuses every key)
        g.create_variable_is_dict()
        with g.l("if {variable}_is_dict:"):
            for key, prop_definition in properties.items():
                key_name = re.sub(r"($[^a-zA-Z]|[^a-zA-Z0-9])", "", key)
                if not isinstance(prop_definition, dict | bool):
                    raise JsonSchemaDefinitionException(f"{g._variable}[{key_name}] must be object")
                with g.l('if "{}" in {variable}:', g.e(key)):
                    g.l('{variable}__{0} = {variable}["{1}"]', key_name, g.e(key))
                    escaped = g.e(key).replace("{", "{{").replace("}", "}}")
                    g.generate_func_code_block(
                        prop_definition,
                        f"{g._variable}__{key_name}",
                        f"{g._variable_name}.{escaped}",
                        clear_variables=True,
                    )

    def generate_additional_properties(self) -> None:
        g: Any = self
        if self._scalar():
            return
        if not self._plain() or g._definition["additionalProperties"] is not False:
            super().generate_additional_properties()  # type: ignore[no-untyped-call]
            return
        g.create_variable_is_dict()
        allowed = list(g._definition.get("properties", {}))
        # On failure, the keys left after removing the properties are the set fastjsonschema
        # names, in its order (removals do not move the others).
        keys = self._constant(frozenset(allowed))
        with g.l("if {variable}_is_dict and not {variable}.keys() <= " + keys + ":"):
            g.l("{variable}_keys = set({variable}.keys())")
            g.l("{variable}_keys.difference_update({})", repr(allowed))
            message = '{name} must not contain "+str({variable}_keys)+" properties'
            g.exc(message, rule="additionalProperties")


class _Draft04(_StringEnums, _PlainObjects):
    pass


class _Draft06(_StringEnums, _PlainObjects, CodeGeneratorDraft06):
    pass


class _Draft07(_StringEnums, _PlainObjects, CodeGeneratorDraft07):
    pass


def compile_validator(definition: dict[str, Any]) -> Validator:
    """The schema's validator as fastjsonschema.compile(definition, use_default=False) builds
    it, but with string enums checked by set membership (`_StringEnums`). use_default=False:
    validation must never mutate the caller's payload by filling in schema defaults (2.0.1
    GetVariables has some). Drafts other than 04/06/07 (the OCA sets use 04 and 06) compile
    the stock way."""
    version = str(definition.get("$schema", ""))
    generator_class: type[CodeGeneratorDraft04] | None = None
    for draft, candidate in (
        ("draft-04", _Draft04),
        ("draft-06", _Draft06),
        ("draft-07", _Draft07),
    ):
        if draft in version:
            generator_class = candidate
    if generator_class is None:
        return fastjsonschema.compile(definition, use_default=False)
    resolver = RefResolver.from_schema(definition, handlers={}, store={})
    generator = generator_class(definition, resolver=resolver, use_default=False)
    scope: dict[str, Any] = generator.global_state
    exec(generator.func_code, scope)  # as fastjsonschema.compile does, for our bundled schemas
    validator: Validator = scope[resolver.get_scope_name()]
    return validator


def _field_path(name: str | None) -> str:
    """fastjsonschema names the root ``data``; report paths relative to the payload."""
    if name is None or name == "data":
        return "payload"
    if name.startswith("data."):
        return name[len("data.") :]
    return name


def _join(field: str, key: str) -> str:
    return key if field == "payload" else f"{field}.{key}"


def _message_tail(exc: fastjsonschema.JsonSchemaValueException) -> str:
    # fastjsonschema messages read "<name> must ..."; keep only the "must ..." part.
    message, name = exc.message, exc.name
    if name is not None and message.startswith(name):
        return message[len(name) :].strip()
    return message


@functools.cache
def schema_set(version: str) -> SchemaSet:
    """The process-wide SchemaSet of ``version`` (validators compiled lazily and shared)."""
    return SchemaSet(version, schema_directory(version))
