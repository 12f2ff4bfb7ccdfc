"""Example bodies for the OpenAPI description: the seed pages' examples verbatim (the contract,
/work/shared/seeds and docs/api.md), and one example for each other body. tests/api/
test_openapi_declarations.py checks each against its schema."""

from __future__ import annotations

import json
from typing import Any

# The seed page "Create CPO (durable)": request and 202 answer.
SEED_CPO_REQUEST: dict[str, Any] = {
    "template": "small-urban-ac",
    "country_code": "FR",
    "party_id": "ABC",
    "name_prefix": "alice",
    "role": "cpo",
    "ocpi_version": "2.2.1",
    "seed": 42,
    "ttl_seconds": 7200,
    "overrides": {"chargers_per_location": 3, "locations": 2},
}
SEED_CPO_RESPONSE: dict[str, Any] = {
    "cpo_id": "101",
    "party": {"country_code": "FR", "party_id": "ABC", "role": "CPO"},
    "name_prefix": "demo",
    "template": "small-urban-ac",
    "template_version": 1,
    "token_a": "a_TOKdemo123",
    "ocpi_peer_url": "https://api.ocpplab.test/ocpi/2.2.1/versions",
    "status_url": "/ocpi/cpos/101/status",
    "destroy_url": "/ocpi/cpos/101",
    "roam_helper": {
        "credentials_payload": {
            "token": "a_TOKdemo123",
            "url": "https://api.ocpplab.test/ocpi/2.2.1/versions",
        },
        "curl_snippet": "curl -X POST https://peer.example/ocpi/2.2.1/credentials "
        "-H 'Authorization: Token a_TOKdemo123' -d ...",
    },
    "workflow_run_id": "wfr_01HK3TPDX...",
    "status": "PENDING",
    "expires_at": "2026-04-21T21:00:00Z",
}

# The seed page "Start session": request and 202 answer.
SEED_START_SESSION_REQUEST: dict[str, Any] = {
    "target": {"charger_id": "dep-789"},
    "event": {
        "id_tag": "EV-USER-1234",
        "connector_id": 2,
        "duration_seconds": 900,
        "target_energy_kwh": 15.5,
    },
}
SEED_START_SESSION_RESPONSE: dict[str, Any] = {
    "targeted_count": 1,
    "queued_count": 1,
    "failed_count": 0,
    "results": [
        {
            "charger_id": "dep-123",
            "identity": "CP-TEST-001",
            "command": {
                "id": "a1b2c3d4e5f6",
                "event_type": "start_session",
                "ocpp_version": "ocpp1.6",
                "payload": {"id_tag": "TAG-RFID-001", "connector_id": 1},
            },
        }
    ],
    "failed": [],
}

# The seed's three target forms.
TARGET_EXAMPLES: dict[str, dict[str, Any]] = {
    "charger": {"charger_id": "dep-123"},
    "location": {"location_id": "loc-456"},
    "subset": {"location_id": "loc-456", "charger_ids": ["dep-1", "dep-2"]},
}

# One event per command (docs/api.md's command table); start-session's is the seed's.
COMMAND_EVENTS: dict[str, dict[str, Any]] = {
    "proxy-message": {"action": "DataTransfer", "payload": {"vendorId": "voltlab"}},
    "configuration": {"key": "HeartbeatInterval", "value": "300"},
    "cache/reset": {},
    "local-auth-list": {
        "list_version": 1,
        "update_type": "Full",
        "entries": [{"id_tag": "EV-USER-1234", "status": "Accepted"}],
    },
    "clear-local-auth-list": {},
    "inject-fault": {"connector_id": 1, "fault_type": "GroundFault"},
    "clear-fault": {"connector_id": 1},
    "plug-connector": {"connector_id": 1},
    "unplug-connector": {"connector_id": 1},
    "unlock-connector": {"connector_id": 1},
    "start-transaction": {"connector_id": 1, "id_tag": "EV-USER-1234"},
    "stop-transaction": {"connector_id": 1, "reason": "Local"},
    "start-session": SEED_START_SESSION_REQUEST["event"],
    "stop-session": {"connector_id": 1},
    "authorize-id-tag": {"id_tag": "EV-USER-1234"},
    "ev-requests-energy": {"connector_id": 1, "power_kw": 11},
    "ev-stops-energy": {"connector_id": 1},
    "power-update": {"connector_id": 1, "power_kw": 7.4, "soc_percent": 55},
    "partition": {"duration_seconds": 120},
    "restart-link": {},
    "set-charging-limit": {"connector_id": 0, "limit_kw": 11, "source": "EMS"},
    "clear-charging-limit": {"connector_id": 0},
    "discharge": {"connector_id": 1, "power_kw": 7},
}

LOCATION_EXAMPLES: dict[str, dict[str, Any]] = {
    "depot": {
        "summary": "Three 1.6 chargers with Basic auth (docs/api.md)",
        "value": {
            "name": "depot",
            "csms_url": "ws://127.0.0.1:9000/ocpp",
            "ocpp_version": "ocpp1.6",
            "chargers": 3,
            "model": "ac-22kw-2c",
            "identity_prefix": "CP-DEPOT-",
            "security": {"profile": 1, "password": "secret"},
            "auto_start": True,
        },
    }
}

CHARGER_EXAMPLES: dict[str, dict[str, Any]] = {
    "standalone": {
        "summary": "One 2.0.1 charger of its own",
        "value": {
            "identity": "CP-TEST-001",
            "csms_url": "ws://127.0.0.1:9000/ocpp",
            "ocpp_version": "ocpp2.0.1",
            "model": "dc-50kw-ccs-chademo",
            "auto_start": True,
        },
    },
    "in-location": {
        "summary": "One more charger in a location (its CSMS, version and model)",
        "value": {"identity": "CP-DEPOT-004", "location_id": "loc-456"},
    },
}

# Two lines of a frame log exported with GET /ocpp/chargers/{id}/messages?format=jsonl.
_CAPTURE = "".join(
    json.dumps(line, separators=(",", ":")) + "\n"
    for line in (
        {
            "timestamp": "2026-12-07T11:57:41.988Z",
            "direction": "out",
            "frame": [
                2,
                "b-1",
                "BootNotification",
                {"chargePointVendor": "Voltlab", "chargePointModel": "StreetPost 22 Duo"},
            ],
            "identity": "CP-DEPOT-001",
            "ocpp_version": "ocpp1.6",
        },
        {
            "timestamp": "2026-12-07T11:57:42.015Z",
            "direction": "in",
            "frame": [
                3,
                "b-1",
                {"status": "Accepted", "currentTime": "2026-12-07T11:57:42.004Z", "interval": 300},
            ],
            "identity": "CP-DEPOT-001",
            "ocpp_version": "ocpp1.6",
        },
    )
)
REPLAY_EXAMPLES: dict[str, dict[str, Any]] = {
    "boot": {
        "summary": "A boot, replayed sixty times faster (docs/replay.md)",
        "value": {"csms_url": "ws://127.0.0.1:9000/ocpp", "capture": _CAPTURE, "speed": 60},
    }
}

CPO_EXAMPLES: dict[str, dict[str, Any]] = {
    "seed": {"summary": "The seed page's example", "value": SEED_CPO_REQUEST},
}


def command_examples(slug: str) -> dict[str, dict[str, Any]]:
    """The command's example bodies: its event with each of the seed's target forms."""
    event = COMMAND_EVENTS[slug]
    if slug == "start-session":
        first: dict[str, Any] = {
            "summary": "The seed page's example",
            "value": dict(SEED_START_SESSION_REQUEST),
        }
    else:
        first = {
            "summary": "One charger",
            "value": {"target": TARGET_EXAMPLES["charger"], "event": event},
        }
    return {
        "charger": first,
        "location": {
            "summary": "Every charger of a location",
            "value": {"target": TARGET_EXAMPLES["location"], "event": event},
        },
        "subset": {
            "summary": "Some chargers of a location",
            "value": {"target": TARGET_EXAMPLES["subset"], "event": event},
        },
    }


def request_examples(examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`openapi_extra=` for a route: named examples of its JSON request body."""
    return {"requestBody": {"content": {"application/json": {"examples": examples}}}}
