"""The JSON Schema of a scenario: the one source of `scenario.schema.json` (published in this
package and in docs/; `python -m voltlab.scenarios.schema` prints it, a test keeps the copies
equal). Every step is an object with `do` naming its kind; each kind's fields are checked by
an `if`/`then` block of its own, so a validation error names the step and the field."""

from __future__ import annotations

import json
from typing import Any

SCHEMA_ID = "https://voltlab.dev/schemas/scenario.schema.json"
OCPP_VERSIONS = ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]

_REF = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"}
_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 86400}
_COMMON = {
    "do": {"type": "string"},
    "name": {"type": "string", "minLength": 1, "maxLength": 80},
    "description": {"type": "string", "maxLength": 2000},
    "versions": {
        "type": "array",
        "items": {"enum": OCPP_VERSIONS},
        "minItems": 1,
        "uniqueItems": True,
        "description": "run this step only against these OCPP versions (default: all)",
    },
}
_MATCHER: dict[str, Any] = {
    "description": "a value to equal, or an object of operators: eq, ne, in, le, ge, lt, gt, "
    "exists",
    "anyOf": [
        {"type": ["string", "number", "boolean", "null", "array"]},
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "eq": {},
                "ne": {},
                "in": {"type": "array"},
                "le": {"type": "number"},
                "ge": {"type": "number"},
                "lt": {"type": "number"},
                "gt": {"type": "number"},
                "exists": {"type": "boolean"},
            },
        },
    ],
}
_FIELDS = {
    "type": "object",
    "description": "payload paths (dotted, list indices as numbers: meterValue.0.timestamp) "
    "and what they must hold",
    "additionalProperties": _MATCHER,
}
_CAPTURE = {
    "type": "object",
    "description": "variables to keep from the matched payload, used later as ${name}",
    "additionalProperties": {"type": "string", "minLength": 1},
}
_SINCE = {
    "type": "string",
    "minLength": 1,
    "description": "where the frames to look at begin: run (default), step, or a step name",
}

# Each kind: its fields (besides do/name/description) and the required ones.
STEP_KINDS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "create_chargers": (
        {
            "as": _REF,
            "count": {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                    {"type": "string", "pattern": "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$"},
                ],
                "description": "how many (1-1000), or a parameter: ${stations}",
            },
            "model": {"type": "string", "minLength": 1},
            "security": {
                "type": "object",
                "properties": {
                    "profile": {"type": "integer", "minimum": 0, "maximum": 3},
                    "password": {"type": "string"},
                    "ca_pem": {"type": "string"},
                    "tls_csms_url": {
                        "type": "string",
                        "description": "the CSMS over wss:// once it raised the profile to 2 "
                        "(a parameter: ${tls_url}; empty: the CSMS URL with wss://)",
                    },
                },
            },
            "auto_start": {"type": "boolean"},
        },
        [],
    ),
    "start_chargers": ({"chargers": _REF}, []),
    "stop_chargers": ({"chargers": _REF}, []),
    "command": (
        {
            "chargers": _REF,
            "command": {"type": "string", "pattern": "^[a-z][a-z/-]{1,40}$"},
            "event": {"type": "object"},
            "expect": {"enum": ["succeeded", "failed", "any"]},
            "fields": {**_FIELDS, "description": "what each command's result must hold"},
            "wait": {"type": "boolean"},
            "within": _SECONDS,
            "capture": _CAPTURE,
        },
        ["command"],
    ),
    "inject_fault": (
        {
            "chargers": _REF,
            "connector_id": {"type": "integer", "minimum": 0},
            "fault_type": {"type": "string"},
            "within": _SECONDS,
        },
        ["fault_type"],
    ),
    "partition": ({"chargers": _REF, "seconds": _SECONDS}, ["seconds"]),
    "restart_link": ({"chargers": _REF}, []),
    "advance_time": ({"seconds": _SECONDS}, ["seconds"]),
    "wait_state": (
        {
            "chargers": _REF,
            "connection": {"enum": ["connecting", "connected", "disconnected", "stopped"]},
            "registration": {"enum": ["Accepted", "Pending", "Rejected"]},
            "security_profile": {
                "type": "integer",
                "minimum": 0,
                "maximum": 3,
                "description": "the security profile of the station's open connection",
            },
            "connector": {"type": "integer", "minimum": 1},
            "status": {"type": "string"},
            "within": _SECONDS,
        },
        [],
    ),
    "expect_frame": (
        {
            "chargers": _REF,
            "from": {"enum": ["station", "csms"]},
            "action": {"type": "string", "minLength": 1},
            "fields": _FIELDS,
            "count": {"type": "integer", "minimum": 1},
            "after_action": {
                "type": "string",
                "minLength": 1,
                "description": "the frame must come after the first CALL of this action from "
                "the same side",
            },
            "within": _SECONDS,
            "since": _SINCE,
            "capture": _CAPTURE,
        },
        ["from", "action"],
    ),
    "expect_answer": (
        {
            "chargers": _REF,
            "action": {"type": "string", "minLength": 1},
            "status": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ]
            },
            "fields": _FIELDS,
            "which": {
                "enum": ["any", "all", "first", "last"],
                "description": "which of the station's CALLs the answer is judged on: any "
                "(default: one answered as expected), all (every one answered as expected), "
                "first, last",
            },
            "within": _SECONDS,
            "since": _SINCE,
            "capture": _CAPTURE,
        },
        ["action"],
    ),
    "expect_in_order": (
        {
            "chargers": _REF,
            "timestamps": {
                "type": "object",
                "minProperties": 1,
                "description": "action -> payload path of the timestamp it carries",
                "additionalProperties": {"type": "string", "minLength": 1},
            },
            "last": {"type": "string", "description": "the action that must come last"},
            "since": _SINCE,
        },
        ["timestamps"],
    ),
    "expect_meter": (
        {
            "chargers": _REF,
            "measurand": {"type": "string"},
            "at_most": {"type": "number"},
            "at_least": {"type": "number"},
            "samples": {"type": "integer", "minimum": 1},
            "within": _SECONDS,
            "since": _SINCE,
        },
        [],
    ),
    "create_cpo": (
        {
            "template": {"type": "string", "minLength": 1, "maxLength": 64},
            "country_code": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
            "party_id": {"type": "string", "pattern": "^[A-Za-z0-9]{3}$"},
            "ocpi_version": {"enum": ["2.2.1", "2.1.1"]},
            "seed": {"type": "integer", "minimum": 0},
            "overrides": {
                "type": "object",
                "additionalProperties": {"type": ["integer", "null"]},
                "description": "template parameters (GET /ocpi/cpos/templates)",
            },
            "within": {
                **_SECONDS,
                "description": "how long the CPO may take to be READY",
            },
        },
        [],
    ),
    "wait_cpo": (
        {
            "status": {"enum": ["PENDING", "PROVISIONING", "READY"]},
            "registered": {
                "type": "boolean",
                "description": "the eMSP did the credentials handshake with the CPO",
            },
            "within": _SECONDS,
        },
        [],
    ),
    "expect_ocpi": (
        {
            "direction": {
                "enum": ["from_emsp", "to_emsp"],
                "description": "from_emsp: requests the eMSP made to the CPO; to_emsp: the "
                "CPO's pushes and calls to the eMSP, judged by the eMSP's answers",
            },
            "module": {"type": "string", "minLength": 1},
            "at_least": {"type": "integer", "minimum": 1},
            "accept": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "pattern": "^[0-9]{1,3}/[0-9]{1,4}$"},
                "description": "the answers that count as good, as HTTP/OCPI status "
                "(default: any 2xx with OCPI status 1000)",
            },
            "within": _SECONDS,
        },
        ["direction", "module"],
    ),
    "expect_no_finding": (
        {
            "chargers": _REF,
            "rule": {"type": "string", "minLength": 1},
            "severity": {"enum": ["error", "warning", "info"]},
        },
        [],
    ),
}


def _step_schema() -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for kind, (fields, required) in STEP_KINDS.items():
        blocks.append(
            {
                "if": {"properties": {"do": {"const": kind}}, "required": ["do"]},
                "then": {
                    "properties": {**_COMMON, **fields},
                    "required": ["do", *required],
                    "additionalProperties": False,
                },
            }
        )
    return {
        "type": "object",
        "required": ["do"],
        "properties": {"do": {"enum": list(STEP_KINDS)}},
        "allOf": blocks,
    }


SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": SCHEMA_ID,
    "title": "voltlab scenario",
    "type": "object",
    "required": ["name", "steps"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,79}$"},
        "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 4000},
        "requires": {
            "type": "string",
            "maxLength": 4000,
            "description": "what the CSMS under test must be set up to do for this scenario",
        },
        "target": {
            "enum": ["ocpp", "emsp"],
            "description": "what the scenario tests: a CSMS (ocpp, the default; the run's "
            "target is csms_url and ocpp_version) or an eMSP registered with a virtual CPO "
            "(emsp; the run's target is cpo_id)",
        },
        "versions": {
            "type": "array",
            "items": {"enum": OCPP_VERSIONS},
            "minItems": 1,
            "uniqueItems": True,
        },
        "params": {
            "type": "object",
            "description": "parameters a run may set (POST /scenarios/runs `params`, "
            "`--param NAME=VALUE`), with their defaults; used in steps as ${name}",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,39}$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"within": _SECONDS, "model": {"type": "string"}},
        },
        "steps": {"type": "array", "minItems": 1, "maxItems": 500, "items": _step_schema()},
    },
}


def schema_text() -> str:
    return json.dumps(SCHEMA, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
