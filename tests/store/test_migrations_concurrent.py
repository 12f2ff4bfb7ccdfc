"""Two processes migrating one empty PostgreSQL database at the same moment: both succeed and
the schema is built once. The test holds the migration lock itself until both processes are
queued on it, then lets go, so they really race rather than happen to run one after the other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from voltlab.store import migrate
from voltlab.store.schema import METADATA

SRC = Path(__file__).resolve().parents[2] / "src"
LOCK_KEY = "SELECT hashtextextended(:name || current_schema(), 0)"


def _waiting_on(connection, key: int) -> int:  # type: ignore[no-untyped-def]
    """Sessions queued on the advisory lock `key` (pg_locks splits a bigint key in two)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return connection.execute(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"
        ),
        {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF},
    ).scalar_one()


def test_two_processes_migrate_an_empty_postgresql_database_once(postgres_url: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    command = [sys.executable, "-m", "voltlab", "db", "upgrade", "--database-url", postgres_url]
    holder = create_engine(postgres_url)
    watcher = create_engine(postgres_url)
    processes: list[subprocess.Popen[str]] = []
    try:
        with holder.begin() as held, watcher.connect() as watch:
            key = held.execute(text(LOCK_KEY), {"name": migrate.ADVISORY_LOCK_NAME}).scalar_one()
            held.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            processes = [
                subprocess.Popen(
                    command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
                for _ in range(2)
            ]
            deadline = time.monotonic() + 60
            while _waiting_on(watch, key) < 2:
                assert all(p.poll() is None for p in processes), [
                    p.communicate() for p in processes
                ]
                assert time.monotonic() < deadline, "the processes never queued on the lock"
                time.sleep(0.05)
            # Both are queued behind the lock; the commit below releases it.
        outputs = sorted(" ".join(p.communicate(timeout=60)[0].split()) for p in processes)
        assert [p.returncode for p in processes] == [0, 0], outputs
        head = migrate.head()
        assert outputs == [
            f"already at {head} (head)",
            f"upgraded an empty database -> {head} (head)",
        ]
        with holder.connect() as connection:
            assert set(inspect(connection).get_table_names()) == set(METADATA.tables) | {
                "alembic_version"
            }
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            assert [tuple(row) for row in versions] == [(head,)]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        holder.dispose()
        watcher.dispose()
