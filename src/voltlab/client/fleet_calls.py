"""The calls of the installation, locations, chargers and their findings (docs/api.md)."""

from __future__ import annotations

from typing import Literal

from voltlab.client import models
from voltlab.client.calls import Call, body_of, segment

Severity = Literal["error", "warning", "info"]


# --- the installation ---------------------------------------------------------------------------


def health() -> Call[models.HealthView]:
    return Call("GET", "/health", models.HealthView, readable_errors=(503,))


def me() -> Call[models.MeView]:
    return Call("GET", "/me", models.MeView)


def charger_models() -> Call[list[models.ChargerModelView]]:
    return Call("GET", "/ocpp/models", list[models.ChargerModelView])


def fleet_summary(location_id: str | None = None) -> Call[models.FleetSummary]:
    params = {"location_id": location_id}
    return Call("GET", "/ocpp/fleet/summary", models.FleetSummary, params)


def metrics() -> Call[str]:
    """Prometheus' text format (admin keys)."""
    return Call("GET", "/metrics", str)


def cluster() -> Call[models.ClusterView]:
    return Call("GET", "/cluster", models.ClusterView)


# --- locations ----------------------------------------------------------------------------------


def create_location(body: models.LocationCreate) -> Call[models.LocationDetail]:
    return Call("POST", "/ocpp/locations", models.LocationDetail, body=body_of(body))


def list_locations(
    limit: int | None = None, cursor: str | None = None
) -> Call[models.LocationPage]:
    params = {"limit": limit, "cursor": cursor}
    return Call("GET", "/ocpp/locations", models.LocationPage, params)


def get_location(location_id: str) -> Call[models.LocationDetail]:
    path = f"/ocpp/locations/{segment(location_id)}"
    return Call("GET", path, models.LocationDetail)


def delete_location(location_id: str) -> Call[None]:
    return Call("DELETE", f"/ocpp/locations/{segment(location_id)}", None)


def location_findings(
    location_id: str,
    rule: str | None = None,
    severity: Severity | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[models.FindingsWithCounts]:
    path = f"/ocpp/locations/{segment(location_id)}/findings"
    params = {"rule": rule, "severity": severity, "limit": limit, "cursor": cursor}
    return Call("GET", path, models.FindingsWithCounts, params)


# --- chargers -----------------------------------------------------------------------------------


def create_charger(body: models.ChargerCreate) -> Call[models.ChargerView]:
    return Call("POST", "/ocpp/chargers", models.ChargerView, body=body_of(body))


def list_chargers(
    location_id: str | None = None,
    q: str | None = None,
    connection: str | None = None,
    registration: str | None = None,
    status: str | None = None,
    ocpp_version: str | None = None,
    model_slug: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[models.ChargerPage]:
    params = {
        "location_id": location_id,
        "q": q,
        "connection": connection,
        "registration": registration,
        "status": status,
        "ocpp_version": ocpp_version,
        "model": model_slug,
        "limit": limit,
        "cursor": cursor,
    }
    return Call("GET", "/ocpp/chargers", models.ChargerPage, params)


def _charger(charger_id: str, tail: str = "") -> str:
    return f"/ocpp/chargers/{segment(charger_id)}{tail}"


def get_charger(charger_id: str) -> Call[models.ChargerView]:
    return Call("GET", _charger(charger_id), models.ChargerView)


def start_charger(charger_id: str) -> Call[models.ChargerView]:
    return Call("POST", _charger(charger_id, "/start"), models.ChargerView)


def stop_charger(charger_id: str) -> Call[models.ChargerView]:
    return Call("POST", _charger(charger_id, "/stop"), models.ChargerView)


def delete_charger(charger_id: str) -> Call[None]:
    return Call("DELETE", _charger(charger_id), None)


def configuration(charger_id: str) -> Call[models.ChargerConfigurationView]:
    path = _charger(charger_id, "/configuration")
    return Call("GET", path, models.ChargerConfigurationView)


def meter_series(charger_id: str, connector_id: int | None = None) -> Call[models.MeterSeries]:
    params = {"connector_id": connector_id}
    return Call("GET", _charger(charger_id, "/meter-series"), models.MeterSeries, params)


def messages(
    charger_id: str, limit: int | None = None, before: int | None = None
) -> Call[models.FramePage]:
    params = {"limit": limit, "before": before}
    return Call("GET", _charger(charger_id, "/messages"), models.FramePage, params)


def messages_jsonl(charger_id: str, limit: int | None = None) -> Call[str]:
    """The frame log as a capture to replay: one {timestamp, direction, frame} per line, oldest
    first (every kept frame unless `limit`)."""
    params = {"format": "jsonl", "limit": limit}
    return Call("GET", _charger(charger_id, "/messages"), str, params)


def charger_findings(
    charger_id: str,
    rule: str | None = None,
    severity: Severity | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Call[models.ChargerFindings]:
    params = {"rule": rule, "severity": severity, "limit": limit, "cursor": cursor}
    path = _charger(charger_id, "/findings")
    return Call("GET", path, models.ChargerFindings, params)
