"""What `GET /health` and `GET /cluster` say about the installation's processes.

On PostgreSQL every `voltlab serve` process is a worker row (`store.cluster_repo`): the live
ones are listed with the chargers they hold and the age of their leases. On SQLite the
installation is this one process."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from voltlab.api.serialize import rfc3339
from voltlab.fleet.hosting.cluster import ClusterMember
from voltlab.store import cluster_repo
from voltlab.store.db import Database


async def cluster_view(app: FastAPI, *, detailed: bool) -> dict[str, Any]:
    """`detailed` (admins): host, pid and start time of each worker too."""
    database: Database = app.state.database
    member: ClusterMember | None = getattr(app.state, "cluster", None)
    if member is None:
        fleet = app.state.fleet
        runners = getattr(fleet, "runners", None)
        local: dict[str, Any] = {
            "id": "local",
            "role": "all",
            "chargers": len(runners) if isinstance(runners, dict) else 0,
            "heartbeat_age_s": 0.0,
        }
        return {"mode": "single", "this_worker": "local", "workers": [local]}
    rows, unhosted = await anyio.to_thread.run_sync(_read, database)
    workers = []
    for row in rows:
        item: dict[str, Any] = {
            "id": row.id,
            "role": row.role,
            "chargers": row.chargers,
            "heartbeat_age_s": round(row.heartbeat_age_s, 3),
        }
        if detailed:
            item |= {
                "host": row.host,
                "pid": row.pid,
                "started_at": rfc3339(row.started_at),
                "oldest_lease_age_s": _rounded(row.oldest_lease_age_s),
                "newest_lease_age_s": _rounded(row.newest_lease_age_s),
            }
        workers.append(item)
    body: dict[str, Any] = {
        "mode": "cluster",
        "this_worker": member.worker_id,
        "workers": workers,
        "unhosted_chargers": unhosted,
    }
    if detailed:
        body["lease_seconds"] = member.settings.lease_seconds
    return body


def _read(database: Database) -> tuple[list[cluster_repo.WorkerRow], int]:
    with database.engine.begin() as conn:
        return cluster_repo.live_workers(conn), cluster_repo.unhosted_count(conn)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
