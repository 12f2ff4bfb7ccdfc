"""The cluster's SQL on the local PostgreSQL (issue 14): leases taken once under concurrency,
fair shares, and what the sweep does with a dead worker's commands."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, create_engine, text
from tests.e2e.cluster_support import fresh_database
from tests.store.databases import find_postgres

from voltlab.store import cluster_repo
from voltlab.store.migrate import upgrade

POSTGRES = find_postgres()
pytestmark = pytest.mark.skipif(POSTGRES is None, reason="no local PostgreSQL answers")


@pytest.fixture
def engine() -> Iterator[Engine]:
    assert POSTGRES is not None
    with fresh_database(POSTGRES) as url:
        upgrade(url)
        engine = create_engine(url, pool_size=8)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO orgs (id, name, created_at) VALUES ('o', 'o', now())"))
            for i in range(90):
                conn.execute(
                    text(
                        "INSERT INTO chargers (id, org_id, identity, csms_url, ocpp_version, "
                        "model, desired_running, created_at, updated_at) VALUES "
                        "(:id, 'o', :id, 'ws://x', 'ocpp1.6', 'm', true, now(), now())"
                    ),
                    {"id": f"dep-{i:03d}"},
                )
        yield engine
        engine.dispose()


def _join(engine: Engine, worker: str, lease: int = 10) -> None:
    with engine.begin() as conn:
        cluster_repo.register_worker(conn, worker, "all", "h", 1, lease)


def test_concurrent_acquisitions_take_each_charger_once(engine: Engine) -> None:
    workers = [f"w{i}" for i in range(3)]
    for worker in workers:
        _join(engine, worker)

    def take(worker: str) -> list[str]:
        with engine.begin() as conn:
            return cluster_repo.acquire(conn, worker, 10, 30)

    with ThreadPoolExecutor(3) as pool:
        taken = list(pool.map(take, workers))
    assert sorted(len(t) for t in taken) == [30, 30, 30]
    assert len(set().union(*taken)) == 90
    with engine.begin() as conn:
        assert cluster_repo.fair_share(conn) == (90, 3)
        # nothing left: a fourth acquisition finds no charger
        assert cluster_repo.acquire(conn, "w0", 10, 30) == []


def test_expired_lease_is_taken_over_and_not_renewed_by_its_old_owner(engine: Engine) -> None:
    _join(engine, "old")
    _join(engine, "new")
    with engine.begin() as conn:
        mine = cluster_repo.acquire(conn, "old", 10, 5)
        conn.execute(text("UPDATE charger_leases SET expires_at = now() - interval '1 second'"))
    with engine.begin() as conn:
        assert sorted(cluster_repo.acquire(conn, "new", 10, 5)) == sorted(mine)
    with engine.begin() as conn:
        alive, held = cluster_repo.heartbeat(conn, "old", 10)
    assert alive and held == set()
    with engine.begin() as conn:
        assert cluster_repo.heartbeat(conn, "new", 10) == (True, set(mine))


def test_sweep_settles_a_dead_workers_commands(engine: Engine) -> None:
    _join(engine, "dead", lease=2)
    with engine.begin() as conn:
        conn.execute(text("UPDATE workers SET heartbeat_at = now() - interval '1 minute'"))
        for cid, status, charger in (
            ("c-run", "running", "dep-000"),
            ("c-queued", "queued", "dep-001"),
        ):
            conn.execute(
                text(
                    "INSERT INTO commands (id, org_id, charger_id, identity, event_type, "
                    "ocpp_version, payload, status, created_at, updated_at, worker_id) VALUES "
                    "(:id, 'o', :ch, :ch, 'configuration', 'ocpp1.6', '{}', :st, now(), now(), "
                    "'dead')"
                ),
                {"id": cid, "st": status, "ch": charger},
            )
    with engine.begin() as conn:
        counts = cluster_repo.sweep(conn, 120)
    assert counts["dead_workers"] == 1 and counts["worker_lost"] == 1 and counts["requeued"] == 1
    with engine.begin() as conn:
        rows = dict(
            conn.execute(
                text("SELECT id, status || ':' || coalesce(worker_id, '-') FROM commands")
            ).all()
        )
        error = conn.execute(text("SELECT error FROM commands WHERE id = 'c-run'")).scalar()
        workers = conn.execute(text("SELECT count(*) FROM workers")).scalar()
    assert rows == {"c-run": "failed:dead", "c-queued": "queued:-"}
    assert error["code"] == "worker_lost"
    assert workers == 0
    # the requeued one is claimed by the charger's new owner
    _join(engine, "heir")
    with engine.begin() as conn:
        cluster_repo.acquire(conn, "heir", 10, 90)
        assert cluster_repo.claim_commands(conn, "heir") == ["c-queued"]
