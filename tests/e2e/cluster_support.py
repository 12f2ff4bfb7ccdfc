"""Several `voltlab serve` processes on one PostgreSQL database (issue 14), and what the strict
ocpp-rpc CSMS saw of their chargers: connections, transactions, who spoke when."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

from peers.ocpp_rpc_peer import OcppRpcPeer

from .serve_support import API_KEY, ServeProcess, free_port

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
FINAL = {"succeeded", "failed", "timed_out"}
# The tests' lease: short, so a takeover costs seconds of test time (the default is 10 s).
TEST_LEASE_SECONDS = "4"
TEST_HEARTBEAT_SECONDS = "0.5"


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the PostgreSQL server of `server_url`, dropped afterwards (with the
    connections of processes still on it)."""
    name = "voltlab_cluster_" + uuid.uuid4().hex[:10]
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Member(ServeProcess):
    """One process of the installation; its log says whether it ended cleanly."""

    def __init__(self, workdir: Path, database_url: str, role: str = "all", **env: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(
            workdir,
            free_port(),
            VOLTLAB_DATABASE_URL=database_url,
            VOLTLAB_LEASE_SECONDS=TEST_LEASE_SECONDS,
            VOLTLAB_HEARTBEAT_SECONDS=TEST_HEARTBEAT_SECONDS,
            **env,
        )
        self.role = role
        self.extra_args = ("--role", role)

    def start(self) -> None:
        super().start()
        assert self.proc is not None
        self.pid = self.proc.pid

    def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM; the exit code (None: had to be killed)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - a hung stop is a failure the caller reports
            self.proc.kill()
            self.proc.wait(timeout=5)
            code = None
        self.log.close()
        self.proc = None
        return code

    def kill9(self) -> None:
        """kill -9 of this process's PID only."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()
        self.proc = None

    def full_log(self) -> str:
        return (self.workdir / "serve.log").read_text(errors="replace")


async def start_members(members: list[Member]) -> None:
    for member in members:
        member.start()
    await asyncio.gather(*(member.wait_healthy(60) for member in members))


async def create_chargers(
    http: httpx.AsyncClient, base: str, peer: OcppRpcPeer, count: int
) -> list[dict[str, Any]]:
    """`count` chargers in two locations, half 1.6 and half 2.0.1, started."""
    chargers: list[dict[str, Any]] = []
    for index, version in enumerate(("ocpp1.6", "ocpp2.0.1")):
        size = count // 2 if index == 0 else count - count // 2
        response = await http.post(
            base + "/ocpp/locations",
            json={
                "name": f"cluster-{version}",
                "csms_url": peer.url,
                "ocpp_version": version,
                "chargers": size,
                "model": "ac-22kw-2c",
                "identity_prefix": f"CL{index}-",
                "auto_start": True,
            },
            headers=HEADERS,
            timeout=60,
        )
        assert response.status_code == 201, response.text
        chargers += response.json()["chargers"]
    return chargers


async def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> float:
    """Seconds until `predicate()` (async) held; fails after `timeout`."""
    began = time.monotonic()
    while True:
        if await predicate():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(interval)


async def connected_identities(peer: OcppRpcPeer) -> set[str]:
    return {station["identity"] for station in await peer.stations()}


async def cluster_view(http: httpx.AsyncClient, base: str) -> dict[str, Any]:
    response = await http.get(base + "/cluster", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def owners(database_url: str) -> dict[str, int]:
    """charger id -> PID of the process holding its valid lease, from the rows."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT l.charger_id, w.pid FROM charger_leases AS l JOIN workers AS w "
                    "ON w.id = l.worker_id WHERE l.expires_at > now()"
                )
            ).all()
    finally:
        engine.dispose()
    return {charger_id: pid for charger_id, pid in rows}


async def command(
    http: httpx.AsyncClient, base: str, slug: str, charger_id: str, event: dict[str, Any]
) -> str:
    response = await http.post(
        f"{base}/ocpp/commands/{slug}",
        json={"target": {"charger_id": charger_id}, "event": event},
        headers=HEADERS,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["results"][0]["command"]["id"])


async def statuses(http: httpx.AsyncClient, base: str, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for command_id in ids:
        response = await http.get(f"{base}/ocpp/commands/{command_id}", headers=HEADERS)
        assert response.status_code == 200, response.text
        out[command_id] = response.json()["status"]
    return out


@dataclass
class WireReport:
    """What the CSMS saw, per transaction and per connection."""

    transactions: int = 0
    stops: dict[str, int] = field(default_factory=dict)
    # (identity, transaction, why) of meter values out of order, repeated or above the stop
    meter_problems: list[tuple[str, str, str]] = field(default_factory=list)
    # (identity, older connection, newer connection): the older spoke after the newer opened
    two_speakers: list[tuple[str, int, int]] = field(default_factory=list)
    readings: dict[str, int] = field(default_factory=dict)  # meter values per transaction


def wire_report(peer: OcppRpcPeer) -> WireReport:
    report = WireReport()
    _check_speakers(peer, report)
    readings: dict[tuple[str, str], list[tuple[str, float, int | None]]] = defaultdict(list)
    stops: dict[tuple[str, str], int] = defaultdict(int)
    stop_meter: dict[tuple[str, str], float] = {}
    started: set[tuple[str, str]] = set()
    for event in peer.events_of("call"):
        identity, method, params = event["identity"], event["method"], event["params"]
        if method == "MeterValues" and params.get("transactionId") is not None:
            key = (identity, str(params["transactionId"]))
            for value in params.get("meterValue", []):
                readings[key].append((value["timestamp"], _register(value), None))
        elif method == "StopTransaction":
            key = (identity, str(params["transactionId"]))
            stops[key] += 1
            stop_meter[key] = float(params["meterStop"])
        elif method == "TransactionEvent":
            key = (identity, str(params["transactionInfo"]["transactionId"]))
            if params["eventType"] == "Started":
                started.add(key)
            for value in params.get("meterValue", []):
                readings[key].append((value["timestamp"], _register(value), params["seqNo"]))
            if params["eventType"] == "Ended":
                stops[key] += 1
                if readings[key]:
                    stop_meter[key] = readings[key][-1][1]
    for event in peer.events_of("call"):
        if event["method"] == "StartTransaction":
            started.add((event["identity"], "?"))  # 1.6 ids come in the answer
    report.transactions = len({key for key in stops} | {k for k in started if k[1] != "?"})
    report.stops = {f"{identity}/{tx}": count for (identity, tx), count in stops.items()}
    report.readings = {
        f"{identity}/{tx}": len(values) for (identity, tx), values in readings.items()
    }
    for key, values in readings.items():
        seq_numbers = [seq for _, _, seq in values if seq is not None]
        if len(seq_numbers) != len(set(seq_numbers)) or seq_numbers != sorted(seq_numbers):
            report.meter_problems.append((*key, f"seqNo repeated or out of order: {seq_numbers}"))
        times = [ts for ts, _, _ in values]
        if len(times) != len(set(times)) or times != sorted(times):
            report.meter_problems.append((*key, "meter value timestamps repeated or unordered"))
        registers = [wh for _, wh, _ in values if wh == wh]  # NaN: no register in that value
        if registers != sorted(registers):
            report.meter_problems.append((*key, f"register went down: {registers}"))
        if key in stop_meter and registers and stop_meter[key] + 1 < max(registers):
            report.meter_problems.append((*key, "stop below a meter value sent"))
    return report


def _register(value: dict[str, Any]) -> float:
    for sample in value.get("sampledValue", []):
        measurand = sample.get("measurand", "Energy.Active.Import.Register")
        if measurand == "Energy.Active.Import.Register" and sample.get("phase") is None:
            unit = sample.get("unit") or sample.get("unitOfMeasure", {}).get("unit", "Wh")
            return float(sample["value"]) * (1000.0 if unit == "kWh" else 1.0)
    return float("nan")


def _check_speakers(peer: OcppRpcPeer, report: WireReport) -> None:
    """Per identity: once a newer connection opened, no frame arrives over an older one."""
    newest: dict[str, int] = {}
    for event in peer.events:
        kind = event.get("event")
        if kind == "connected":
            newest[event["identity"]] = max(newest.get(event["identity"], 0), event["conn"])
        elif kind == "frame" and event.get("direction") == "in":
            latest = newest.get(event["identity"], 0)
            if event["conn"] < latest:
                report.two_speakers.append((event["identity"], event["conn"], latest))


async def record(http: httpx.AsyncClient, base: str, command_id: str) -> dict[str, Any]:
    response = await http.get(f"{base}/ocpp/commands/{command_id}", headers=HEADERS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def claimed_by(database_url: str, command_id: str) -> int | None:
    """PID of the live worker that claimed the command (None: unclaimed or its worker gone)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            pid = connection.execute(
                text(
                    "SELECT w.pid FROM commands AS c JOIN workers AS w ON w.id = c.worker_id "
                    "WHERE c.id = :id"
                ),
                {"id": command_id},
            ).scalar()
    finally:
        engine.dispose()
    return None if pid is None else int(pid)


def open_connections(peer: OcppRpcPeer) -> dict[str, set[int]]:
    """identity -> the numbers of its connections the peer holds open (call after `sync`)."""
    opened: dict[str, set[int]] = defaultdict(set)
    for event in peer.events:
        if event.get("event") == "connected":
            opened[event["identity"]].add(event["conn"])
        elif event.get("event") == "disconnected":
            opened[event["identity"]].discard(event["conn"])
    return dict(opened)


def reconnected_since(peer: OcppRpcPeer, mark: int) -> set[str]:
    """Identities that opened a connection since `peer.events[mark]`."""
    return {e["identity"] for e in peer.events[mark:] if e.get("event") == "connected"}
