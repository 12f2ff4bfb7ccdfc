"""`voltlab serve` migrates its database at start: a database the previous release made is
adopted with its rows and served; one a newer release migrated is refused with the reason."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from store.databases import assert_previous_release_served, make_previous_release, row_counts
from voltlab.store import migrate

from .serve_support import ServeProcess, free_port


async def test_serve_adopts_a_previous_release_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'voltlab.db'}"  # where ServeProcess points the server
    counts = make_previous_release(url)
    # No key from the environment: the previous release's own key must open the API.
    serve = ServeProcess(tmp_path, free_port(), VOLTLAB_API_KEY="")
    serve.start()
    try:
        await serve.wait_healthy()
        async with httpx.AsyncClient(base_url=serve.base, timeout=10) as http:
            await assert_previous_release_served(http)
    finally:
        serve.stop()
    assert "made by the previous release: its tables are kept" in " ".join(serve.read_log().split())
    with sqlite3.connect(tmp_path / "voltlab.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (migrate.head(),)
        ]
    assert row_counts(url, list(counts)) == counts


def test_serve_refuses_a_newer_release_database(tmp_path: Path) -> None:
    path = tmp_path / "voltlab.db"
    migrate.upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    env = dict(os.environ, VOLTLAB_DATABASE_URL=f"sqlite:///{path}")
    result = subprocess.run(
        [sys.executable, "-m", "voltlab", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert "voltlab cannot use this database: the database is at schema revision '9999'" in output
    assert "Traceback" not in output
