"""A URL of an empty database per test: a SQLite file, and a fresh schema of the local
PostgreSQL (dropped after the test; reported as skipped when no PostgreSQL answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.databases import find_postgres, fresh_schema

POSTGRES_URL = find_postgres()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'voltlab.db'}"
        return
    if POSTGRES_URL is None:
        pytest.skip("no PostgreSQL reachable (set VOLTLAB_TEST_POSTGRES_URL)")
    with fresh_schema(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema of the local PostgreSQL only."""
    if POSTGRES_URL is None:
        pytest.skip("no PostgreSQL reachable (set VOLTLAB_TEST_POSTGRES_URL)")
    with fresh_schema(POSTGRES_URL) as url:
        yield url
