"""Shared fixtures: a temporary database, a fleet runtime on a fast clock, the ocpp-rpc peer."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import select  # noqa: E402

from peers.ocpp_rpc_peer import OcppRpcPeer  # noqa: E402
from support import wait_until  # noqa: E402,F401 - re-exported for older imports
from voltlab.clock import Clock  # noqa: E402
from voltlab.fleet.hosting.runtime import FleetRuntime  # noqa: E402
from voltlab.store.db import Database  # noqa: E402
from voltlab.store.finding_models import FindingRecord  # noqa: E402

# Simulated seconds per real second in protocol tests: a 60 s meter interval takes 0.6 s.
TEST_TIME_SCALE = 100.0

E2E_DIR = Path(__file__).parent / "e2e"
# The browser tests drive `voltlab serve` processes with chargers too (and one Chromium).
WEB_DIR = Path(__file__).parent / "web"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-xdist runs the suite on two workers (`-n 2 --dist loadgroup`, pyproject.toml):
    the end-to-end tests form one group, so they run one after another on one worker. Each
    starts `voltlab serve` processes with up to a hundred chargers, and their real-time bounds
    were set for one such server at a time; the lighter tests share the other worker. The
    browser tests (tests/web) join that group: one server and one browser at a time."""
    for item in items:
        if E2E_DIR in item.path.parents or WEB_DIR in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'voltlab.db'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
async def peer16() -> AsyncIterator[OcppRpcPeer]:
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as peer:
        yield peer


@pytest.fixture
async def runtime(
    database: Database, request: pytest.FixtureRequest
) -> AsyncIterator[FleetRuntime]:
    fleet = FleetRuntime(database, Clock(TEST_TIME_SCALE))
    await fleet.start()
    yield fleet
    await fleet.shutdown()
    # No false positives: against a CSMS that keeps the rules (the strict ocpp-rpc peer), the
    # stations record no finding of severity error or warning. A test whose CSMS breaks them
    # on purpose says so with @pytest.mark.csms_misbehaves.
    if request.node.get_closest_marker("csms_misbehaves") is None:
        with database.session() as session:
            rows = session.scalars(
                select(FindingRecord).where(FindingRecord.severity.in_(("error", "warning")))
            ).all()
            found = [(row.rule, row.detail, row.evidence) for row in rows]
        assert found == [], f"findings about a CSMS that keeps the rules: {found}"


def postgres_url() -> str | None:
    return os.environ.get("VOLTLAB_TEST_POSTGRES_URL")
