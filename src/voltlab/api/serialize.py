"""Rows -> response JSON. The one place that decides field names and timestamp format (with
`store.views`, which holds the shapes a lower layer also shows)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from voltlab.fleet.hosting.runtime_api import ChargerSpec, Fleet, spec_from_row
from voltlab.fleet.model.catalog import get_model
from voltlab.store.finding_models import FindingRecord
from voltlab.store.models import Charger, Location
from voltlab.store.views import command_json, rfc3339

# command_json and rfc3339 live in store.views (the dispatcher shows commands too); the API's
# modules keep taking every shape from here.
__all__ = [
    "charger_body",
    "charger_json",
    "charger_spec",
    "command_json",
    "command_summary",
    "finding_json",
    "frame_json",
    "location_json",
    "public_security",
    "public_url",
    "rfc3339",
]


def public_security(security: dict[str, Any] | None) -> dict[str, Any] | None:
    """The profile and whether a password is set; never the password itself."""
    if security is None:
        return None
    return {
        "profile": security.get("profile", 0),
        "password_set": bool(security.get("password")),
        "ca_set": bool(security.get("ca_pem")),
        "client_certificate_set": bool(security.get("client_cert_pem")),
        "tls_csms_url": security.get("tls_csms_url"),
    }


def public_url(url: str) -> str:
    """A stored CSMS URL without credentials: rows written before `user:pass@` was refused
    must not show the password to every viewer of the org."""
    scheme, sep, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    if not sep or "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{tail}"


def charger_spec(charger: Charger) -> ChargerSpec:
    return spec_from_row(charger)


def _idle_connectors(model_slug: str, state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Connector list for a charger this process does not host: the last snapshot the runtime
    stored, or the catalog's connectors with unknown live values."""
    stored = (state or {}).get("connectors")
    if isinstance(stored, list):
        return stored
    model = get_model(model_slug)
    if model is None:
        return []
    return [
        {
            "connector_id": index,
            "connector_type": spec.connector_type,
            "max_power_w": spec.max_power_w,
            "status": None,
            "error_code": None,
            "transaction_id": None,
            "meter_wh": None,
            "power_w": None,
            "soc_percent": None,
        }
        for index, spec in enumerate(model.connectors, start=1)
    ]


def finding_json(row: FindingRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "charger_id": row.charger_id,
        "location_id": row.location_id,
        "cpo_id": row.cpo_id,
        "rule": row.rule,
        "severity": row.severity,
        "title": row.title,
        "detail": row.detail,
        "spec_ref": row.spec_ref,
        "at": rfc3339(row.at),
        "evidence": row.evidence,
    }


def charger_json(charger: Charger, fleet: Fleet, *, findings: int = 0) -> dict[str, Any]:
    return charger_body(charger, fleet.live_state(charger.id), charger.state, findings=findings)


def charger_body(
    charger: Charger,
    live: dict[str, Any] | None,
    state: dict[str, Any] | None,
    *,
    findings: int = 0,
) -> dict[str, Any]:
    """The charger's JSON from its row and its live state (`Fleet.live_state`); `state`, its
    stored snapshot, is read only when the charger is not hosted here (`live` None)."""
    model = get_model(charger.model)
    stored = {
        "charger_id": charger.id,
        "identity": charger.identity,
        "location_id": charger.location_id,
        "csms_url": public_url(charger.csms_url),
        "ocpp_version": charger.ocpp_version,
        "model": charger.model,
        "vendor": model.vendor if model else None,
        "firmware_version": model.firmware_version if model else None,
        "security": public_security(charger.security),
        "desired_running": charger.desired_running,
        "created_at": rfc3339(charger.created_at),
        "findings": findings,  # how many findings about its CSMS the charger recorded
    }
    if live is None:
        live = {
            "connection": "stopped",
            "registration": None,
            "connectors": _idle_connectors(charger.model, state),
            "faults": [],
        }
    # Stored fields first and they win: the runtime's view must not relabel the charger.
    return stored | {key: value for key, value in live.items() if key not in stored}


def location_json(
    location: Location,
    *,
    charger_count: int,
    chargers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location_id": location.id,
        "name": location.name,
        "csms_url": public_url(location.csms_url),
        "ocpp_version": location.ocpp_version,
        "model": location.model,
        "identity_prefix": location.identity_prefix,
        "security": public_security(location.security),
        "charger_count": charger_count,
        "created_at": rfc3339(location.created_at),
    }
    if chargers is not None:
        body["chargers"] = chargers
    return body


def command_summary(command: Any) -> dict[str, Any]:
    """The `command` object of a 202 answer (the seed's shape, nothing more)."""
    return {
        "id": command.id,
        "event_type": command.event_type,
        "ocpp_version": command.ocpp_version,
        "payload": command.payload,
    }


def frame_json(frame_id: int, ts: datetime, direction: str, text: str) -> dict[str, Any]:
    """One row of the frame log (`frames`: id, ts, direction, frame)."""
    try:
        body: Any = json.loads(text)
    except ValueError:
        # A peer may send bytes that are not JSON; the log still shows them as they came.
        body = text
    return {"id": frame_id, "ts": rfc3339(ts), "direction": direction, "frame": body}
