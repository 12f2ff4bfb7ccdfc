"""Traffic counters and the push log (synchronous, one short transaction each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.ocpi.envelope import format_datetime
from voltlab.store.ocpi_models import OcpiPush, OcpiRequest, OcpiTraffic
from voltlab.store.retention import keep_newest

PUSH_LOG_KEEP = 200  # newest push rows kept per CPO
REQUEST_LOG_KEEP = 500  # newest request rows kept per CPO (GET /ocpi/cpos/{id}/traffic)
TRIM_EVERY = 50  # request rows written between two trims of a CPO's log


def count_request(
    session: Session,
    cpo_id: str,
    direction: str,
    module: str,
    http_status: int | None,
    ocpi_status: int | None,
    method: str = "",
    url: str = "",
) -> None:
    """Add one to a counter, and a row to the request log when the caller names the request
    (`method`, `url`). The counter is an upsert, so concurrent requests never lose a count or
    collide on the unique key (both SQLite and PostgreSQL speak ON CONFLICT)."""
    now = wall_now()
    if method:
        _log_request(session, cpo_id, direction, method, module, url, http_status, ocpi_status)
    values: dict[str, Any] = {
        "cpo_id": cpo_id,
        "direction": direction,
        "module": module,
        "http_status": http_status or 0,
        "ocpi_status": ocpi_status or 0,
        "count": 1,
        "last_at": now,
    }
    keys = ["cpo_id", "direction", "module", "http_status", "ocpi_status"]
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(OcpiTraffic).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={"count": OcpiTraffic.count + 1, "last_at": statement.excluded.last_at},
        )
        session.execute(statement)
        return
    row = session.scalars(
        select(OcpiTraffic).filter_by(**{key: values[key] for key in keys})
    ).first()
    if row is None:
        session.add(OcpiTraffic(**values))
    else:
        row.count += 1
        row.last_at = now


def traffic_summary(session: Session, cpo_id: str) -> dict[str, Any]:
    """{"in": {module: {"200/1000": n, ...}}, "out": {...}, "totals": {"in": n, "out": n}}.

    The status key is "<HTTP status>/<OCPI status>"; 0 means there was none (no HTTP answer,
    or no OCPI envelope in it)."""
    summary: dict[str, Any] = {"in": {}, "out": {}, "totals": {"in": 0, "out": 0}}
    rows = session.scalars(
        select(OcpiTraffic)
        .where(OcpiTraffic.cpo_id == cpo_id)
        .order_by(OcpiTraffic.direction, OcpiTraffic.module, OcpiTraffic.http_status)
    ).all()
    for row in rows:
        per_module = summary[row.direction].setdefault(row.module, {})
        per_module[f"{row.http_status}/{row.ocpi_status}"] = row.count
        summary["totals"][row.direction] += row.count
    return summary


def start_push(
    session: Session, cpo_id: str, module: str, method: str, url: str, object_key: str
) -> int:
    row = OcpiPush(
        cpo_id=cpo_id, module=module, method=method, url=url[:1000], object_key=object_key[:200]
    )
    session.add(row)
    session.flush()
    _trim_push_log(session, cpo_id)
    return row.id


def finish_push(
    session: Session,
    push_id: int,
    *,
    outcome: str,
    attempts: int,
    http_status: int | None,
    ocpi_status: int | None,
    error: str | None,
) -> None:
    row = session.get(OcpiPush, push_id)
    if row is None:  # trimmed away meanwhile: the log is best effort
        return
    row.outcome = outcome
    row.attempts = attempts
    row.http_status = http_status
    row.ocpi_status = ocpi_status
    row.error = error[:2000] if error else None
    row.finished_at = wall_now() if outcome != "pending" else None


def recent_pushes(session: Session, cpo_id: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(OcpiPush).where(OcpiPush.cpo_id == cpo_id).order_by(OcpiPush.id.desc()).limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "module": row.module,
            "method": row.method,
            "url": row.url,
            "object": row.object_key,
            "outcome": row.outcome,
            "attempts": row.attempts,
            "http_status": row.http_status,
            "ocpi_status": row.ocpi_status,
            "error": row.error,
            "created_at": format_datetime(row.created_at),
            "finished_at": format_datetime(row.finished_at) if row.finished_at else None,
        }
        for row in rows
    ]


def _trim_push_log(session: Session, cpo_id: str) -> None:
    keep_newest(session, OcpiPush.id, OcpiPush.cpo_id, cpo_id, PUSH_LOG_KEEP)


def _log_request(
    session: Session,
    cpo_id: str,
    direction: str,
    method: str,
    module: str,
    url: str,
    http_status: int | None,
    ocpi_status: int | None,
) -> None:
    row = OcpiRequest(
        cpo_id=cpo_id,
        ts=wall_now(),
        direction=direction,
        method=method[:8],
        module=module[:32],
        url=url[:1000],
        http_status=http_status,
        ocpi_status=ocpi_status,
    )
    session.add(row)
    session.flush()
    # Trimmed every TRIM_EVERY rows, not every row: the log may hold a few more than it keeps.
    if row.id % TRIM_EVERY == 0:
        keep_newest(session, OcpiRequest.id, OcpiRequest.cpo_id, cpo_id, REQUEST_LOG_KEEP)


def recent_requests(session: Session, cpo_id: str, limit: int) -> list[dict[str, Any]]:
    """The CPO's OCPI requests, newest first (GET /ocpi/cpos/{id}/traffic)."""
    rows = session.scalars(
        select(OcpiRequest)
        .where(OcpiRequest.cpo_id == cpo_id)
        .order_by(OcpiRequest.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "ts": format_datetime(row.ts),
            "direction": row.direction,
            "method": row.method,
            "module": row.module,
            "url": row.url,
            "status_code": row.http_status,
            "ocpi_status_code": row.ocpi_status,
        }
        for row in rows
    ]
