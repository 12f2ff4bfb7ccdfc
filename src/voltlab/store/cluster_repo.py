"""SQL of the installation's coordination on PostgreSQL (issue 14): workers, charger leases and
command claims. PostgreSQL only (`FOR UPDATE SKIP LOCKED`, `now()`, `ON CONFLICT`, NOTIFY);
every time is the database's `now()`, never a process's clock.

Each function is one short statement or a few in the caller's transaction; the fleet's
`fleet.hosting.cluster` decides when to call them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

# NOTIFY channels: a charger to host (started, or handed back) and a command to claim.
CHARGERS_CHANNEL = "voltlab_chargers"
COMMANDS_CHANNEL = "voltlab_commands"
FLEET_ROLES = ("fleet", "all")

WORKER_LOST = {
    "code": "worker_lost",
    "message": (
        "the process running the command died; its effect on the station is unknown and it was "
        "not repeated"
    ),
}


@dataclass(frozen=True)
class WorkerRow:
    id: str
    role: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_age_s: float
    chargers: int
    oldest_lease_age_s: float | None
    newest_lease_age_s: float | None


def register_worker(
    conn: Connection, worker_id: str, role: str, host: str, pid: int, lease_seconds: int
) -> None:
    conn.execute(
        text(
            "INSERT INTO workers (id, role, host, pid, started_at, heartbeat_at, lease_seconds) "
            "VALUES (:id, :role, :host, :pid, now(), now(), :ttl)"
        ),
        {"id": worker_id, "role": role, "host": host, "pid": pid, "ttl": lease_seconds},
    )


def heartbeat(conn: Connection, worker_id: str, lease_seconds: float) -> tuple[bool, set[str]]:
    """Renew the worker and, in one statement, every lease of it still valid for a charger that
    should run. Returns (the worker row still exists, the chargers it holds now). A lease that
    expired is not renewed even when nobody took it yet: its charger was already stopped here
    (the fence), and whoever takes it next starts it from its stored state."""
    alive = conn.execute(
        text("UPDATE workers SET heartbeat_at = now() WHERE id = :w"), {"w": worker_id}
    ).rowcount
    rows = conn.execute(
        text(
            "UPDATE charger_leases AS l SET expires_at = now() + make_interval(secs => :ttl) "
            "FROM chargers AS c WHERE l.worker_id = :w AND c.id = l.charger_id "
            "AND c.desired_running AND l.expires_at > now() RETURNING l.charger_id"
        ),
        {"w": worker_id, "ttl": lease_seconds},
    )
    return bool(alive), {row[0] for row in rows}


def fair_share(conn: Connection) -> tuple[int, int]:
    """(chargers that should run, live fleet workers) of the installation."""
    wanted = conn.execute(text("SELECT count(*) FROM chargers WHERE desired_running")).scalar()
    workers = conn.execute(
        text(
            "SELECT count(*) FROM workers WHERE role IN ('fleet', 'all') "
            "AND heartbeat_at > now() - make_interval(secs => lease_seconds)"
        )
    ).scalar()
    return int(wanted or 0), int(workers or 0)


INSERT_ROUNDS = 3  # statements of `acquire` for never-hosted chargers, at the most


def acquire(conn: Connection, worker_id: str, lease_seconds: float, limit: int) -> list[str]:
    """Take up to `limit` chargers that should run and have no live owner: first those whose
    lease expired (a dead or stopped worker's: they wait longest), then those never hosted.
    `SKIP LOCKED`: workers acquiring at once take disjoint sets instead of queueing on the
    same rows; `ON CONFLICT ... WHERE expired` keeps a lease another worker just took."""
    if limit <= 0:
        return []
    params: dict[str, Any] = {"w": worker_id, "ttl": lease_seconds, "n": limit}
    taken = [
        row[0]
        for row in conn.execute(
            text(
                "UPDATE charger_leases SET worker_id = :w, acquired_at = now(), "
                "expires_at = now() + make_interval(secs => :ttl) "
                "WHERE charger_id IN (SELECT l.charger_id FROM charger_leases AS l "
                "JOIN chargers AS c ON c.id = l.charger_id "
                "WHERE l.expires_at < now() AND c.desired_running "
                "ORDER BY l.expires_at LIMIT :n FOR UPDATE OF l SKIP LOCKED) "
                "RETURNING charger_id"
            ),
            params,
        )
    ]
    # Chargers never hosted. The statement's snapshot may miss a lease another worker has
    # just committed for a charger this one then locks (its row was only locked, not updated,
    # so PostgreSQL does not re-check it): that insert conflicts and takes nothing. A new
    # statement sees the commit, so conflicts are retried, a bounded number of times.
    for _ in range(INSERT_ROUNDS):
        wanted = limit - len(taken)
        if wanted <= 0:
            break
        params["n"] = wanted
        candidates, inserted = conn.execute(
            text(
                "WITH candidates AS (SELECT c.id FROM chargers AS c WHERE c.desired_running "
                "AND NOT EXISTS (SELECT 1 FROM charger_leases AS l WHERE l.charger_id = c.id) "
                "ORDER BY c.created_at, c.id LIMIT :n FOR UPDATE SKIP LOCKED), "
                "inserted AS (INSERT INTO charger_leases "
                "(charger_id, worker_id, acquired_at, expires_at) "
                "SELECT id, :w, now(), now() + make_interval(secs => :ttl) FROM candidates "
                "ON CONFLICT (charger_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, "
                "acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at "
                "WHERE charger_leases.expires_at < now() RETURNING charger_id) "
                "SELECT (SELECT count(*) FROM candidates), "
                "ARRAY(SELECT charger_id FROM inserted)"
            ),
            params,
        ).one()
        taken += list(inserted)
        if len(inserted) == candidates:
            break  # no conflict: nothing more to take, or all it asked for
    return taken


def release(conn: Connection, worker_id: str, charger_ids: list[str] | None = None) -> int:
    """Hand leases back at once (all of the worker's when `charger_ids` is None): the
    chargers can be taken without waiting for the expiry."""
    if charger_ids is None:
        result = conn.execute(
            text("DELETE FROM charger_leases WHERE worker_id = :w"), {"w": worker_id}
        )
    else:
        if not charger_ids:
            return 0
        result = conn.execute(
            text("DELETE FROM charger_leases WHERE worker_id = :w AND charger_id = ANY(:ids)"),
            {"w": worker_id, "ids": charger_ids},
        )
    return int(result.rowcount or 0)


def leave(conn: Connection, worker_id: str) -> None:
    """A worker stopping: its unstarted claims go back to the pool, its row goes away."""
    conn.execute(
        text("UPDATE commands SET worker_id = NULL WHERE worker_id = :w AND status = 'queued'"),
        {"w": worker_id},
    )
    conn.execute(text("DELETE FROM workers WHERE id = :w"), {"w": worker_id})


def notify(conn: Connection, channel: str) -> None:
    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


def claim_commands(conn: Connection, worker_id: str) -> list[str]:
    """Claim the queued, unclaimed commands of the chargers this worker holds a valid lease of;
    ids in the order they were accepted."""
    rows = conn.execute(
        text(
            "UPDATE commands SET worker_id = :w WHERE id IN (SELECT c.id FROM commands AS c "
            "JOIN charger_leases AS l ON l.charger_id = c.charger_id "
            "WHERE c.status = 'queued' AND c.worker_id IS NULL AND l.worker_id = :w "
            "AND l.expires_at > now() FOR UPDATE OF c SKIP LOCKED) "
            "RETURNING id, created_at"
        ),
        {"w": worker_id},
    ).all()
    return [command_id for command_id, _ in sorted(rows, key=lambda row: (row[1], row[0]))]


def unclaim_command(conn: Connection, command_id: str, worker_id: str) -> None:
    """The claimed command's charger is no longer here: another owner claims it."""
    conn.execute(
        text(
            "UPDATE commands SET worker_id = NULL WHERE id = :id AND worker_id = :w "
            "AND status = 'queued'"
        ),
        {"id": command_id, "w": worker_id},
    )


def sweep(conn: Connection, unclaimed_timeout_s: float) -> dict[str, int]:
    """Settle what dead workers left behind, once per dead worker (`SKIP LOCKED`: the live
    workers sweeping together split the work): commands it was running end failed
    `worker_lost`, the ones it had claimed and not started go back to the pool, its row goes.
    Then the commands no process can run: those of chargers that should not run end failed
    `charger_not_running` (as in one process), those unclaimed for too long `timed_out`."""
    dead = [
        row[0]
        for row in conn.execute(
            text(
                "SELECT id FROM workers WHERE heartbeat_at < now() - "
                "make_interval(secs => lease_seconds) FOR UPDATE SKIP LOCKED"
            )
        )
    ]
    counts = {"dead_workers": len(dead), "worker_lost": 0, "requeued": 0}
    if dead:
        counts["worker_lost"] = conn.execute(
            text(
                "UPDATE commands SET status = 'failed', result = NULL, "
                "error = CAST(:error AS JSON), updated_at = now() "
                "WHERE worker_id = ANY(:dead) AND status = 'running'"
            ),
            {"dead": dead, "error": _json(WORKER_LOST)},
        ).rowcount
        counts["requeued"] = conn.execute(
            text(
                "UPDATE commands SET worker_id = NULL "
                "WHERE worker_id = ANY(:dead) AND status = 'queued'"
            ),
            {"dead": dead},
        ).rowcount
        conn.execute(text("DELETE FROM workers WHERE id = ANY(:dead)"), {"dead": dead})
    not_running = {
        "code": "charger_not_running",
        "message": "the charger is stopped; start it first",
    }
    counts["not_running"] = conn.execute(
        text(
            "UPDATE commands AS c SET status = 'failed', result = NULL, "
            "error = CAST(:error AS JSON), updated_at = now() "
            "WHERE c.status = 'queued' AND c.worker_id IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM chargers AS ch "
            "WHERE ch.id = c.charger_id AND ch.desired_running)"
        ),
        {"error": _json(not_running)},
    ).rowcount
    unclaimed = {
        "code": "timed_out",
        "message": f"no fleet process hosted the charger within {unclaimed_timeout_s:g} s",
    }
    counts["unclaimed"] = conn.execute(
        text(
            "UPDATE commands SET status = 'timed_out', result = NULL, "
            "error = CAST(:error AS JSON), updated_at = now() "
            "WHERE status = 'queued' AND worker_id IS NULL "
            "AND created_at < now() - make_interval(secs => :age)"
        ),
        {"error": _json(unclaimed), "age": unclaimed_timeout_s},
    ).rowcount
    return counts


def live_workers(conn: Connection) -> list[WorkerRow]:
    """The workers whose heartbeat is fresh, with how many chargers each holds and the age of
    its leases (since acquired), oldest first."""
    rows = conn.execute(
        text(
            "SELECT w.id, w.role, w.host, w.pid, w.started_at, w.heartbeat_at, "
            "extract(epoch FROM now() - w.heartbeat_at), count(l.charger_id), "
            "extract(epoch FROM now() - min(l.acquired_at)), "
            "extract(epoch FROM now() - max(l.acquired_at)) "
            "FROM workers AS w LEFT JOIN charger_leases AS l "
            "ON l.worker_id = w.id AND l.expires_at > now() "
            "WHERE w.heartbeat_at > now() - make_interval(secs => w.lease_seconds) "
            "GROUP BY w.id ORDER BY w.started_at, w.id"
        )
    ).all()
    return [
        WorkerRow(
            id=row[0],
            role=row[1],
            host=row[2],
            pid=int(row[3]),
            started_at=row[4],
            heartbeat_at=row[5],
            heartbeat_age_s=float(row[6]),
            chargers=int(row[7]),
            oldest_lease_age_s=None if row[8] is None else float(row[8]),
            newest_lease_age_s=None if row[9] is None else float(row[9]),
        )
        for row in rows
    ]


def unhosted_count(conn: Connection) -> int:
    """Chargers that should run and have no valid lease (waiting for an owner)."""
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM chargers AS c WHERE c.desired_running AND NOT EXISTS "
                "(SELECT 1 FROM charger_leases AS l WHERE l.charger_id = c.id "
                "AND l.expires_at > now())"
            )
        ).scalar()
        or 0
    )


def _json(value: dict[str, str]) -> str:
    return json.dumps(value)
