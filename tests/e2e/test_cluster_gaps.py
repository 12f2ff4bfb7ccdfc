"""What test_cluster.py leaves out (issue 14), each on a fresh PostgreSQL database against the
strict ocpp-rpc CSMS: the `api` and `fleet` roles; a process frozen past its lease (the
fence); an offline queue carried across a takeover; `worker_lost` and the requeue of a dead
process's commands; and a frozen process that must not run a command its successor ran."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from tests.store.databases import find_postgres

from peers.ocpp_rpc_peer import OcppRpcPeer

from .cluster_support import (
    FINAL,
    HEADERS,
    TEST_LEASE_SECONDS,
    Member,
    claimed_by,
    cluster_view,
    command,
    connected_identities,
    create_chargers,
    fresh_database,
    open_connections,
    owners,
    reconnected_since,
    record,
    start_members,
    wait_until,
    wire_report,
)

POSTGRES = find_postgres()
pytestmark = pytest.mark.skipif(POSTGRES is None, reason="no local PostgreSQL answers")
LEASE = float(TEST_LEASE_SECONDS)


@asynccontextmanager
async def cluster(
    tmp_path: Path, roles: tuple[str, ...]
) -> AsyncIterator[tuple[str, OcppRpcPeer, list[Member], httpx.AsyncClient]]:
    assert POSTGRES is not None
    with fresh_database(POSTGRES) as url:
        async with OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1"), strict=True) as peer:
            members = [Member(tmp_path / f"p{i}", url, role) for i, role in enumerate(roles)]
            await start_members(members)
            try:
                async with httpx.AsyncClient(timeout=30) as http:
                    yield url, peer, members, http
            finally:
                for member in members:
                    if member.proc is not None:
                        os.kill(member.proc.pid, signal.SIGCONT)  # never leave one frozen
                        member.terminate()


async def booted(
    http: httpx.AsyncClient, base: str, peer: OcppRpcPeer, count: int
) -> list[dict[str, Any]]:
    created = await create_chargers(http, base, peer, count)
    identities = {c["identity"] for c in created}

    async def all_connected() -> bool:
        return await connected_identities(peer) >= identities

    await wait_until(all_connected, 30, "every charger connected")
    return created


async def final(http: httpx.AsyncClient, base: str, command_id: str, timeout: float) -> dict:
    async def done() -> bool:
        return (await record(http, base, command_id))["status"] in FINAL

    await wait_until(done, timeout, f"command {command_id} final", 0.1)
    return await record(http, base, command_id)


async def moved(peer: OcppRpcPeer, url: str, mark: int, ids: dict[str, str], pid: int) -> bool:
    """Every charger of `ids` (charger id -> identity) opened a new connection since `mark`
    and is leased by `pid`."""
    await peer.sync()
    lease = owners(url)
    return set(ids.values()) <= reconnected_since(peer, mark) and all(
        lease.get(cid) == pid for cid in ids
    )


def queued_rows(url: str, charger_ids: list[str]) -> list[tuple[str, int, str, dict]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT charger_id, seq, action, payload FROM queued_messages "
                    "WHERE charger_id = ANY(:ids) ORDER BY charger_id, seq"
                ),
                {"ids": charger_ids},
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1], r[2], r[3] if isinstance(r[3], dict) else json.loads(r[3])) for r in rows]


def _activity(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT pid, state, left(query, 120), now() - xact_start "
                        "FROM pg_stat_activity WHERE datname = current_database() "
                        "AND xact_start IS NOT NULL"
                    )
                ).all()
            )
    finally:
        engine.dispose()


def spoke_once(peer: OcppRpcPeer) -> None:
    report = wire_report(peer)
    assert report.two_speakers == [], report.two_speakers[:10]
    assert peer.strict_failures == [], peer.strict_failures[:5]
    doubled = {i: conns for i, conns in open_connections(peer).items() if len(conns) > 1}
    assert doubled == {}, doubled


# -- 1. roles ------------------------------------------------------------------------------------


async def test_api_role_hosts_nothing_and_fleet_roles_take_over(tmp_path: Path) -> None:
    async with cluster(tmp_path, ("api", "fleet", "fleet")) as (url, peer, members, http):
        api, fleet_a, fleet_b = members
        created = await booted(http, api.base, peer, 6)
        view = await cluster_view(http, api.base)
        by_pid = {w["pid"]: w for w in view["workers"]}
        assert by_pid[api.pid]["role"] == "api" and by_pid[api.pid]["chargers"] == 0, view
        assert by_pid[fleet_a.pid]["chargers"] + by_pid[fleet_b.pid]["chargers"] == 6, view
        assert by_pid[fleet_a.pid]["chargers"] == 3, view  # the fair share, ceil(6 / 2)
        assert set(owners(url).values()) == {fleet_a.pid, fleet_b.pid}
        # commands accepted by the api process run on the fleet processes
        ids = [
            await command(http, api.base, "proxy-message", c["charger_id"], _heartbeat())
            for c in created
        ]
        for command_id in ids:
            assert (await final(http, api.base, command_id, 20))["status"] == "succeeded"
        await peer.sync()
        assert all(peer.calls(c["identity"], "Heartbeat") for c in created)
        # a fleet process answers /health and /cluster only
        for fleet in (fleet_a, fleet_b):
            assert (await http.get(fleet.base + "/health")).status_code == 200
            assert (await cluster_view(http, fleet.base))["this_worker"] != view["this_worker"]
            for path in ("/ocpp/chargers", "/ocpp/locations", "/me", "/ocpi/cpos"):
                response = await http.get(fleet.base + path, headers=HEADERS)
                assert response.status_code == 404, (path, response.status_code)
            response = await http.post(
                fleet.base + "/ocpp/commands/plug-connector",
                json={"target": {"charger_id": created[0]["charger_id"]}, "event": {}},
                headers=HEADERS,
            )
            assert response.status_code == 404, response.text
        # kill -9 of a fleet process: its chargers move to the other one, not to the api one
        mine = {c["charger_id"]: c["identity"] for c in created}
        mark = len(peer.events)
        victims = {cid: mine[cid] for cid, pid in owners(url).items() if pid == fleet_a.pid}
        fleet_a.kill9()

        async def taken() -> bool:
            return await moved(peer, url, mark, victims, fleet_b.pid)

        await wait_until(taken, LEASE + 15, "the dead fleet process's chargers moved")
        view = await cluster_view(http, api.base)
        counts = {w["pid"]: w["chargers"] for w in view["workers"]}
        assert counts == {api.pid: 0, fleet_b.pid: 6}, view
        after = await command(
            http, api.base, "proxy-message", created[0]["charger_id"], _heartbeat()
        )
        assert (await final(http, api.base, after, 20))["status"] == "succeeded"
        await peer.sync()
        spoke_once(peer)


def _heartbeat() -> dict[str, Any]:
    return {"action": "Heartbeat", "payload": {}}


# -- 2. a frozen process and the fence -----------------------------------------------------------


async def _charge(http: httpx.AsyncClient, base: str, charger_ids: list[str]) -> None:
    ids = [
        await command(http, base, "start-session", cid, {"id_tag": f"T{i}", "connector_id": 1})
        for i, cid in enumerate(charger_ids)
    ]
    for command_id in ids:
        assert (await final(http, base, command_id, 20))["status"] == "succeeded"


async def test_frozen_process_sends_nothing_after_its_successor_connected(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path, ("all", "all")) as (url, peer, members, http):
        survivor, frozen = members
        created = await booted(http, survivor.base, peer, 6)
        identity = {c["charger_id"]: c["identity"] for c in created}
        lease = owners(url)
        theirs = {cid: identity[cid] for cid, pid in lease.items() if pid == frozen.pid}
        assert len(theirs) == 3, lease
        # charging: the frozen process has meter values due the moment it wakes
        await _charge(http, survivor.base, list(theirs))
        await peer.sync()
        mark = len(peer.events)
        assert frozen.proc is not None
        os.kill(frozen.pid, signal.SIGSTOP)
        try:

            async def taken() -> bool:
                return await moved(peer, url, mark, theirs, survivor.pid)

            try:
                await wait_until(taken, LEASE + 15, "the frozen process's chargers taken over")
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {_activity(url)}") from None
            # meter values flow over the new connections before the thaw
            await asyncio.sleep(1.0)
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
        thawed = len(peer.events)

        async def gave_up() -> bool:  # stopped them, then takes work again
            return "lost leases stopped; taking work again" in frozen.full_log()

        await wait_until(gave_up, 10, "the thawed process gave its chargers up")

        async def hosts_none() -> bool:
            view = await cluster_view(http, survivor.base)
            counts = {w["pid"]: w["chargers"] for w in view["workers"]}
            return counts == {survivor.pid: 6, frozen.pid: 0}

        await wait_until(hosts_none, 10, "the thawed process alive, hosting nothing")
        # room for a stray frame of the old connections (timers due at the thaw fire at once)
        await asyncio.sleep(2.0)
        assert frozen.proc is not None and frozen.proc.poll() is None
        assert (await http.get(frozen.base + "/health")).status_code == 200
        await peer.sync()
        spoke_once(peer)
        stray = [
            e
            for e in peer.events[thawed:]
            if e.get("event") == "frame"
            and e.get("direction") == "in"
            and e["identity"] in theirs.values()
            and e["conn"] not in open_connections(peer).get(e["identity"], set())
        ]
        assert stray == [], stray[:5]
        assert set(owners(url).values()) == {survivor.pid}
        assert "Traceback" not in frozen.full_log(), frozen.full_log()[-3000:]


# -- 3. an offline queue carried across a takeover -----------------------------------------------


async def test_offline_queue_delivered_once_in_order_by_the_new_owner(tmp_path: Path) -> None:
    async with cluster(tmp_path, ("all", "all")) as (url, peer, members, http):
        survivor, victim = members
        created = await booted(http, survivor.base, peer, 4)
        identity = {c["charger_id"]: c["identity"] for c in created}
        theirs = [cid for cid, pid in owners(url).items() if pid == victim.pid]
        for cid in theirs:
            await command(
                http,
                survivor.base,
                "configuration",
                cid,
                {"key": "MeterValueSampleInterval", "value": "30"},
            )
        await _charge(http, survivor.base, theirs)

        async def sampling() -> bool:
            await peer.sync()
            return all(_samples(peer, identity[cid]) >= 2 for cid in theirs)

        await wait_until(sampling, 20, "meter values before the partition")
        mark = len(peer.events)
        for cid in theirs:  # a day: the partition outlasts the test
            await command(http, survivor.base, "partition", cid, {"duration_seconds": 86400})

        async def cut() -> bool:
            await peer.sync()
            gone = {e["identity"] for e in peer.events[mark:] if e["event"] == "disconnected"}
            return gone >= {identity[cid] for cid in theirs}

        await wait_until(cut, 20, "the partitioned chargers dropped")

        async def queued() -> bool:
            rows = queued_rows(url, theirs)
            return all(sum(1 for r in rows if r[0] == cid) >= 3 for cid in theirs)

        await wait_until(queued, 20, "three transaction messages queued per charger")
        await peer.sync()
        killed = len(peer.events)
        victim.kill9()
        rows = queued_rows(url, theirs)  # what the dead process left queued

        async def delivered() -> bool:
            return not queued_rows(url, theirs) and all(
                owners(url).get(cid) == survivor.pid for cid in theirs
            )

        try:
            await wait_until(delivered, LEASE + 20, "the queue delivered by the new owner")
        except AssertionError as exc:
            await peer.sync()
            seen = [
                (e["event"], e["identity"], e.get("conn"), e.get("method"))
                for e in peer.events[killed:]
                if e.get("event") in ("connected", "disconnected", "call")
            ]
            left = [(r[0], r[1], r[2]) for r in queued_rows(url, theirs)]
            raise AssertionError(f"{exc}: {owners(url)} {left} {seen[:40]}") from None
        stops = [
            await command(http, survivor.base, "stop-session", cid, {"connector_id": 1})
            for cid in theirs
        ]
        for command_id in stops:
            assert (await final(http, survivor.base, command_id, 20))["status"] == "succeeded"
        await peer.sync()
        calls = [e for e in peer.events_of("call") if e["identity"] in map(identity.get, theirs)]
        wire = [(e["identity"], e["method"], _key(e["params"])) for e in calls]
        for cid in theirs:
            mine = [(identity[c], action, _key(payload)) for c, _, action, payload in rows]
            mine = [m for m in mine if m[0] == identity[cid]]
            positions = [wire.index(m) for m in mine if wire.count(m) == 1]
            assert len(positions) == len(mine), (mine, wire)  # each once
            assert positions == sorted(positions), positions  # in their order
        report = wire_report(peer)
        assert report.meter_problems == [], report.meter_problems
        assert len(report.stops) == len(theirs) and set(report.stops.values()) == {1}, report
        spoke_once(peer)


def _samples(peer: OcppRpcPeer, identity: str) -> int:
    return len(peer.calls(identity, "MeterValues")) + sum(
        1 for params in peer.calls(identity, "TransactionEvent") if params["eventType"] == "Updated"
    )


def _key(payload: dict[str, Any]) -> str:
    """A message as JSON says it (the peer's JavaScript writes 11000.0 as 11000)."""
    return json.dumps(_plain(payload), sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- 4. worker_lost, and a queued command run by the new owner -----------------------------------


async def test_running_command_ends_worker_lost_and_queued_one_runs(tmp_path: Path) -> None:
    async with cluster(tmp_path, ("all", "all")) as (url, peer, members, http):
        survivor, victim = members
        created = await booted(http, survivor.base, peer, 2)
        charger = next(c for c in created if owners(url)[c["charger_id"]] == victim.pid)
        cid = charger["charger_id"]
        await peer.set_delay("DataTransfer", 60)  # the CSMS takes a minute: it is running
        running = await command(http, survivor.base, "proxy-message", cid, _data("long"))
        waiting = await command(
            http, survivor.base, "configuration", cid, {"key": "HeartbeatInterval", "value": "90"}
        )

        async def both_claimed() -> bool:
            first = await record(http, survivor.base, running)
            return first["status"] == "running" and claimed_by(url, waiting) == victim.pid

        await wait_until(both_claimed, 20, "one running, one claimed behind it", 0.1)
        killed = time.monotonic()
        victim.kill9()
        lost = await final(http, survivor.base, running, LEASE + 10)
        assert lost["status"] == "failed", lost
        assert lost["error"]["code"] == "worker_lost", lost
        assert time.monotonic() - killed < LEASE + 10
        ran = await final(http, survivor.base, waiting, 20)
        assert ran["status"] == "succeeded", ran
        await peer.sync()
        assert len(peer.calls(charger["identity"], "DataTransfer")) == 1  # not repeated
        assert owners(url)[cid] == survivor.pid


def _data(message_id: str) -> dict[str, Any]:
    return {
        "action": "DataTransfer",
        "payload": {"vendorId": "voltlab.test", "messageId": message_id},
    }


# -- 5. a frozen process must not run a command its successor ran -------------------------------


async def test_frozen_process_does_not_rerun_a_requeued_command(tmp_path: Path) -> None:
    async with cluster(tmp_path, ("all", "all")) as (url, peer, members, http):
        survivor, frozen = members
        created = await booted(http, survivor.base, peer, 2)
        charger = next(c for c in created if owners(url)[c["charger_id"]] == frozen.pid)
        cid = charger["charger_id"]
        # The CSMS answers the first DataTransfer after the freeze began; the frozen process
        # reads the answer when it wakes, and the command claimed behind it goes on.
        await peer.set_delay("DataTransfer", LEASE)
        first = await command(http, survivor.base, "proxy-message", cid, _data("first"))
        second = await command(http, survivor.base, "proxy-message", cid, _data("second"))

        async def both_claimed() -> bool:
            head = await record(http, survivor.base, first)
            return head["status"] == "running" and claimed_by(url, second) == frozen.pid

        await wait_until(both_claimed, 20, "one running, one claimed behind it", 0.1)
        os.kill(frozen.pid, signal.SIGSTOP)
        try:
            await peer.set_delay("DataTransfer", 0)
            successor = await final(http, survivor.base, second, LEASE + 15)
            assert successor["status"] == "succeeded", successor
            assert (await record(http, survivor.base, first))["error"]["code"] == "worker_lost"
        finally:
            os.kill(frozen.pid, signal.SIGCONT)

        async def gave_up() -> bool:
            view = await cluster_view(http, survivor.base)
            return {w["pid"]: w["chargers"] for w in view["workers"]}.get(frozen.pid) == 0

        await wait_until(gave_up, 10, "the thawed process hosting nothing")
        await asyncio.sleep(2.0)  # room for the thawed process's dispatcher to act
        await peer.sync()
        seconds = [
            params
            for params in peer.calls(charger["identity"], "DataTransfer")
            if params.get("messageId") == "second"
        ]
        assert len(seconds) == 1, seconds  # run once, by the successor
        assert (await record(http, survivor.base, second)) == successor  # not rewritten
        spoke_once(peer)
