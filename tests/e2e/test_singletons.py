"""Issue 14: the TTL reaper runs once per installation. Two `voltlab serve` processes on one
fresh PostgreSQL database: exactly one of them leads the "ttl-reaper" singleton and destroys an
expired CPO; after a kill -9 of that one, the other takes the lead and reaps the next CPO."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.store.databases import find_postgres

from .cluster_support import HEADERS, Member, fresh_database, start_members, wait_until
from .serve_support import wait_ready

POSTGRES = find_postgres()
pytestmark = pytest.mark.skipif(POSTGRES is None, reason="no local PostgreSQL answers")

LEADS = "this process now runs the singleton ttl-reaper"


@pytest.fixture
def database_url() -> Iterator[str]:
    assert POSTGRES is not None
    with fresh_database(POSTGRES) as url:  # a database of its own, dropped after
        yield url


async def _expiring_cpo(http: httpx.AsyncClient, base: str, prefix: str) -> str:
    created = (
        await http.post(
            f"{base}/ocpi/cpos",
            json={
                "template": "small-urban-ac",
                "country_code": "FR",
                "party_id": prefix.upper()[:3],
                "name_prefix": prefix,
                "seed": 3,
                "ttl_seconds": 3,
                "overrides": {"locations": 1, "chargers_per_location": 1},
            },
        )
    ).json()
    assert "cpo_id" in created, created
    return str(created["cpo_id"])


async def _destroyed(http: httpx.AsyncClient, base: str, cpo_id: str) -> None:
    async def gone() -> bool:
        body = (await http.get(f"{base}/ocpi/cpos/{cpo_id}/status")).json()
        return body.get("status") == "DESTROYED"

    await wait_until(gone, 60, f"CPO {cpo_id} destroyed by its TTL")


def _reaped(member: Member, cpo_id: str) -> int:
    return len(re.findall(rf"CPO {cpo_id} reached its TTL", member.full_log()))


async def test_the_reaper_runs_in_one_process_and_moves_when_it_dies(
    tmp_path: Path, database_url: str
) -> None:
    members = [
        Member(tmp_path / name, database_url, VOLTLAB_MIN_CPO_TTL_SECONDS="1")
        for name in ("a", "b")
    ]
    await start_members(members)
    try:
        async with httpx.AsyncClient(headers=HEADERS, timeout=20) as http:
            first = await _expiring_cpo(http, members[0].base, "one")
            await wait_ready(http, f"{members[0].base}/ocpi/cpos/{first}/status")
            await _destroyed(http, members[1].base, first)
            leaders = [m for m in members if LEADS in m.full_log()]
            assert len(leaders) == 1, [m.full_log()[-2000:] for m in members]
            [leader] = leaders
            [other] = [m for m in members if m is not leader]
            assert (_reaped(leader, first), _reaped(other, first)) == (1, 0)

            leader.kill9()
            second = await _expiring_cpo(http, other.base, "two")
            await _destroyed(http, other.base, second)
            assert LEADS in other.full_log()
            assert _reaped(other, second) == 1
            assert _reaped(leader, second) == 0
    finally:
        for member in members:
            if member.proc is not None:
                member.terminate()


RECOVERS = "recovering the unfinished workflows of dead executors"
# Tries until one kill -9 lands while the provisioning workflow is still running (it can end
# before the kill on a fast machine).
RECOVERY_ATTEMPTS = 3


async def _provisioning_killed(http: httpx.AsyncClient, owner: Member, prefix: str) -> str | None:
    """A CPO created through `owner`, which is killed (-9) while its provisioning workflow is
    under way; the CPO's id, or None when provisioning ended before the kill."""
    created = (
        await http.post(
            f"{owner.base}/ocpi/cpos",
            json={
                "template": "small-urban-ac",
                "country_code": "FR",
                "party_id": prefix.upper()[:3],
                "name_prefix": prefix,
                "seed": 5,
                "overrides": {"locations": 20, "chargers_per_location": 10},
            },
        )
    ).json()
    assert "cpo_id" in created, created
    cpo_id = str(created["cpo_id"])
    for _ in range(400):  # bounded: 400 looks, 10 ms apart
        status = (await http.get(f"{owner.base}/ocpi/cpos/{cpo_id}/status")).json()
        if status["status"] in ("READY", "FAILED"):
            return None
        if any(step["state"] == "done" for step in status["steps"]):
            owner.kill9()
            return cpo_id
        await asyncio.sleep(0.01)
    owner.kill9()
    return cpo_id


async def test_a_dead_process_s_provisioning_is_finished_by_another(
    tmp_path: Path, database_url: str
) -> None:
    """DBOS runs with one executor id per process; the "dbos-recovery" singleton of a live
    process resumes the workflow a killed one left, and every step runs to done once."""
    for attempt in range(RECOVERY_ATTEMPTS):
        members = [Member(tmp_path / f"{attempt}-{name}", database_url) for name in ("a", "b")]
        await start_members(members)
        try:
            async with httpx.AsyncClient(headers=HEADERS, timeout=20) as http:
                cpo_id = await _provisioning_killed(http, members[0], f"rec{attempt}")
                if cpo_id is None:
                    continue
                survivor = members[1]
                status = await wait_ready(
                    http, f"{survivor.base}/ocpi/cpos/{cpo_id}/status", timeout=90
                )
                assert status["status"] == "READY", status
                assert RECOVERS in survivor.full_log()
                names = [step["name"] for step in status["steps"]]
                assert len(names) == len(set(names)) and names, status["steps"]
                assert {step["state"] for step in status["steps"]} == {"done"}, status["steps"]
                cpo = (await http.get(f"{survivor.base}/ocpi/cpos/{cpo_id}")).json()
                # Each charger made once: no step's work was repeated into duplicates.
                assert len(cpo["charger_ids"]) == len(set(cpo["charger_ids"])) == 200, cpo
                return
        finally:
            for member in members:
                if member.proc is not None and member.proc.poll() is None:
                    member.terminate()
    pytest.fail(f"provisioning ended before the kill in all {RECOVERY_ATTEMPTS} attempts")
