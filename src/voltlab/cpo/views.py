"""Read models of a virtual CPO: the GET body, the status body and the report."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltlab.cpo.report_series import report_series
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.ocpi.service import OcpiService
from voltlab.store.findings_repo import count_for_cpo
from voltlab.store.models import Charger, Cpo, CpoStep, Location


def _ts(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    a = start if start.tzinfo else start.replace(tzinfo=UTC)
    b = end if end.tzinfo else end.replace(tzinfo=UTC)
    return round((b - a).total_seconds(), 3)


def cpo_json(
    session: Session, cpo: Cpo, ocpi: OcpiService, fingerprint: str | None = None
) -> dict[str, Any]:
    """GET /ocpi/cpos/{id}: never shows Token A."""
    locations = session.scalars(
        select(Location.id).where(Location.cpo_id == cpo.id).order_by(Location.id)
    ).all()
    chargers = (
        session.scalars(
            select(Charger.id).where(Charger.location_id.in_(locations)).order_by(Charger.id)
        ).all()
        if locations
        else []
    )
    return {
        "cpo_id": cpo.id,
        "party": {"country_code": cpo.country_code, "party_id": cpo.party_id, "role": cpo.role},
        "requested_party_id": cpo.requested_party_id,
        "name_prefix": cpo.name_prefix,
        "template": cpo.template,
        "template_version": cpo.template_version,
        "ocpi_version": cpo.ocpi_version,
        "seed": cpo.seed,
        "network_fingerprint": fingerprint,
        "overrides": cpo.overrides,
        "status": cpo.status,
        "error": cpo.error,
        "ocpi_peer_url": ocpi.versions_url(cpo.ocpi_version),
        "ocpi_peer": ocpi.peer_state(cpo.id),
        "location_ids": list(locations),
        "charger_ids": list(chargers),
        "workflow_run_id": cpo.workflow_run_id,
        "ttl_seconds": cpo.ttl_seconds,
        "expires_at": _ts(cpo.expires_at),
        "created_at": _ts(cpo.created_at),
        "ready_at": _ts(cpo.ready_at),
        "destroyed_at": _ts(cpo.destroyed_at),
        # how many findings about its eMSP the CPO recorded (GET /ocpi/cpos/{id}/findings)
        "findings": count_for_cpo(session, cpo.id),
    }


def steps_json(session: Session, cpo_id: str) -> list[dict[str, Any]]:
    steps = session.scalars(
        select(CpoStep).where(CpoStep.cpo_id == cpo_id).order_by(CpoStep.position, CpoStep.id)
    ).all()
    return [
        {
            "name": step.name,
            "state": step.state,
            "attempts": step.attempts,
            "started_at": _ts(step.started_at),
            "finished_at": _ts(step.finished_at),
            "duration_seconds": _seconds(step.started_at, step.finished_at),
            "last_error": step.last_error,
        }
        for step in steps
    ]


def status_json(session: Session, cpo: Cpo) -> dict[str, Any]:
    return {
        "cpo_id": cpo.id,
        "status": cpo.status,
        "error": cpo.error,
        "workflow_run_id": cpo.workflow_run_id,
        "created_at": _ts(cpo.created_at),
        "ready_at": _ts(cpo.ready_at),
        "destroyed_at": _ts(cpo.destroyed_at),
        "expires_at": _ts(cpo.expires_at),
        "steps": steps_json(session, cpo.id),
    }


def report_json(
    session: Session, cpo: Cpo, ocpi: OcpiService, fleet: Fleet | None
) -> dict[str, Any]:
    locations = session.scalars(select(Location).where(Location.cpo_id == cpo.id)).all()
    location_ids = [loc.id for loc in locations]
    chargers = (
        session.scalars(select(Charger).where(Charger.location_id.in_(location_ids))).all()
        if location_ids
        else []
    )
    connected = 0
    for charger in chargers:
        live = fleet.live_state(charger.id) if fleet is not None else None
        if live and live.get("registration") == "Accepted":
            connected += 1
    sessions = ocpi.list_objects(cpo.id, "session")
    cdrs = ocpi.list_objects(cpo.id, "cdr")
    ocpi_locations = ocpi.list_objects(cpo.id, "location")
    evses = sum(len(loc.get("evses", [])) for loc in ocpi_locations)
    connectors = sum(
        len(e.get("connectors", [])) for loc in ocpi_locations for e in loc.get("evses", [])
    )
    session_states = Counter(s.get("status") for s in sessions)
    energy = round(sum(float(c.get("total_energy", 0)) for c in cdrs), 3)
    revenue_excl = round(sum(float(c.get("total_cost", {}).get("excl_vat", 0)) for c in cdrs), 2)
    revenue_incl = round(
        sum(
            float(
                c.get("total_cost", {}).get("incl_vat", c.get("total_cost", {}).get("excl_vat", 0))
            )
            for c in cdrs
        ),
        2,
    )
    currency = cdrs[0].get("currency") if cdrs else None
    return {
        "cpo_id": cpo.id,
        "status": cpo.status,
        "party": {"country_code": cpo.country_code, "party_id": cpo.party_id, "role": cpo.role},
        "template": cpo.template,
        "template_version": cpo.template_version,
        "provisioning": {
            "created_at": _ts(cpo.created_at),
            "ready_at": _ts(cpo.ready_at),
            "seconds_to_ready": _seconds(cpo.created_at, cpo.ready_at),
            "destroyed_at": _ts(cpo.destroyed_at),
            "steps": steps_json(session, cpo.id),
        },
        "network": {
            "locations": len(locations),
            "chargers": len(chargers),
            "chargers_connected": connected,
            "evses": evses,
            "connectors": connectors,
            "chargers_by_model": dict(Counter(c.model for c in chargers)),
        },
        "ocpi_peer": ocpi.peer_state(cpo.id),
        "traffic": ocpi.traffic(cpo.id),
        "sessions": {"total": len(sessions), "by_status": dict(session_states)},
        "cdrs": {"total": len(cdrs)},
        "energy_kwh": energy,
        "revenue": {"currency": currency, "excl_vat": revenue_excl, "incl_vat": revenue_incl},
        "series": report_series(sessions, cdrs, currency),
    }
