"""Scenarios that kill `voltlab serve` (SIGKILL or SIGTERM) in the middle of work, against the
strict ocpp-rpc CSMS peer; shared by tests/e2e/test_serve_crash.py and bench/crash_loop.py.

Each scenario returns what it measured; the callers assert (tests) or count (the loop)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from peers.ocpp_rpc_peer import OcppRpcPeer

from .serve_support import API_KEY, ServeProcess, free_port

HEADERS = {"Authorization": f"Bearer {API_KEY}"}
OPEN_STATUSES = ("queued", "running")
SMALL_CPO = {
    "template": "small-urban-ac",
    "country_code": "FR",
    "party_id": "TRM",
    "name_prefix": "term",
    "overrides": {"locations": 1, "chargers_per_location": 2},
}


async def wait_cpo_ready(http: httpx.AsyncClient, cpo_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = (await http.get(f"/ocpi/cpos/{cpo_id}/status")).json().get("status")
        if status == "READY":
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"virtual CPO {cpo_id} not READY within {timeout} s: {status}")


async def create_location(
    http: httpx.AsyncClient, peer: OcppRpcPeer, chargers: int, version: str, prefix: str
) -> dict[str, Any]:
    response = await http.post(
        "/ocpp/locations",
        json={
            "name": f"crash {prefix}",
            "csms_url": peer.url,
            "ocpp_version": version,
            "chargers": chargers,
            "model": "ac-7kw-1c",
            "identity_prefix": prefix,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def wait_booted(peer: OcppRpcPeer, identities: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(peer.calls(i, "StatusNotification") for i in identities):
            return
        await asyncio.sleep(0.1)
    missing = [i for i in identities if not peer.calls(i, "StatusNotification")]
    raise AssertionError(f"not booted within {timeout} s: {missing[:5]}")


async def all_commands(http: httpx.AsyncClient, location_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):  # bounded paging
        params: dict[str, Any] = {"location_id": location_id, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        body = (await http.get("/ocpp/commands", params=params)).json()
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError("command list did not end within 100 pages")


# -- scenario 1: a burst of commands killed at 0.4 s ----------------------------------------------


@dataclass
class BurstOutcome:
    accepted: int
    before_kill: dict[str, int]
    after_restart: dict[str, int]
    open_after: int
    interrupted: int
    seconds_to_settle: float
    log: str = ""


def command_statuses(database: Path, location_id: str) -> dict[str, int]:
    """Status counts of the location's commands as the store holds them (read after a kill)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT status, count(*) FROM commands WHERE location_id = ? GROUP BY status",
            (location_id,),
        ).fetchall()
    return {status: count for status, count in rows}


def _count(commands: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for command in commands:
        counts[command["status"]] = counts.get(command["status"], 0) + 1
    return counts


async def burst_killed(
    workdir: Path, peer: OcppRpcPeer, settle_timeout: float = 45.0
) -> BurstOutcome:
    """150 commands (plug, start-session, configuration, authorize, stop-session, ...) on ten
    chargers of a location; kill -9 0.4 s after the burst began; restart; wait (bounded) until
    none is queued or running."""
    serve = ServeProcess(workdir, free_port())
    serve.start()
    try:
        await serve.wait_healthy()
        async with httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=20) as http:
            location = await create_location(http, peer, 10, "ocpp1.6", "CP-BURST-")
            location_id = location["location_id"]
            await wait_booted(peer, [c["identity"] for c in location["chargers"]])
            # A CSMS that takes 0.3 s to answer StartTransaction: each charger's chain of
            # commands lasts seconds, so the kill at 0.4 s finds work pending however fast
            # the machine is (on a quiet one the whole burst used to finish before it).
            await peer.set_delay("StartTransaction", 0.3)
            target = {"location_id": location_id}
            bodies = [
                ("plug-connector", {"connector_id": 1}),
                ("start-session", {"id_tag": "BURST-1", "connector_id": 1}),
                ("configuration", {"key": "MeterValueSampleInterval", "value": "30"}),
                ("authorize-id-tag", {"id_tag": "BURST-2"}),
                ("power-update", {"connector_id": 1, "power_kw": 3.5}),
                ("configuration", {"key": "HeartbeatInterval", "value": "120"}),
                ("stop-session", {"connector_id": 1}),
                ("plug-connector", {"connector_id": 1}),
                ("start-session", {"id_tag": "BURST-3", "connector_id": 1}),
                ("stop-session", {"connector_id": 1}),
                ("cache/reset", None),
                ("configuration", {"key": "MeterValueSampleInterval", "value": "60"}),
                ("authorize-id-tag", {"id_tag": "BURST-4"}),
                ("plug-connector", {"connector_id": 1}),
                ("start-session", {"id_tag": "BURST-5", "connector_id": 1}),
            ]
            t0 = time.monotonic()

            async def post(slug: str, event: dict[str, Any] | None) -> int:
                body: dict[str, Any] = {"target": target}
                if event is not None:
                    body["event"] = event
                response = await http.post(f"/ocpp/commands/{slug}", json=body)
                assert response.status_code == 202, response.text
                return int(response.json()["queued_count"])

            # All at once, as a client in a hurry would; the kill comes 0.4 s after the first.
            counts = await asyncio.gather(*(post(slug, event) for slug, event in bodies))
            accepted = sum(counts)
            await asyncio.sleep(max(0.0, 0.4 - (time.monotonic() - t0)))
        serve.kill()
        before = command_statuses(workdir / "voltlab.db", location_id)
        serve.start()
        await serve.wait_healthy()
        async with httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=20) as http:
            t1 = time.monotonic()
            while True:
                commands = await all_commands(http, location_id)
                open_now = [c for c in commands if c["status"] in OPEN_STATUSES]
                if not open_now or time.monotonic() - t1 > settle_timeout:
                    break
                await asyncio.sleep(0.5)
            settled = time.monotonic() - t1
        interrupted = sum(
            1 for c in commands if (c.get("error") or {}).get("code") == "interrupted"
        )
        return BurstOutcome(
            accepted=accepted,
            before_kill=before,
            after_restart=_count(commands),
            open_after=len(open_now),
            interrupted=interrupted,
            seconds_to_settle=round(settled, 2),
            log=serve.read_log(),
        )
    finally:
        serve.stop()


# -- scenario 2: kill -9 right after a stop reached the CSMS ---------------------------------------


@dataclass
class StopOutcome:
    version: str
    transactions: int
    stops_per_transaction: dict[str, int]
    below_sent_meter: list[str] = field(default_factory=list)
    zero_after_energy: list[str] = field(default_factory=list)
    repeated_seq_no: list[str] = field(default_factory=list)  # 2.x: a seqNo used twice
    stopped_before_kill: int = 0
    power_loss_after: int = 0
    strict_failures: int = 0


def _energy_values(sampled: list[dict[str, Any]]) -> list[float]:
    return [
        float(sv["value"])
        for sv in sampled
        if sv.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"
        and sv.get("unit", "Wh") == "Wh"
        and not sv.get("phase")
    ]


def transactions_16(peer: OcppRpcPeer, identity: str) -> dict[str, dict[str, Any]]:
    """Per transaction id: meterStart, the registers sent in MeterValues, the stops. A
    StartTransaction is paired with the CSMS's answer in wire order (ids restart with the
    process)."""
    txs: dict[str, dict[str, Any]] = {}
    pending_starts: dict[str, float] = {}
    for event in peer.frame_events(identity):
        frame = event.get("frame")
        if not isinstance(frame, list):
            continue
        if event["direction"] == "out":
            if frame[0] == 3 and frame[1] in pending_starts and isinstance(frame[2], dict):
                tx_id = str(frame[2]["transactionId"])
                tx = txs.setdefault(tx_id, {"sent": [], "stops": []})
                tx["start"] = pending_starts.pop(frame[1])
            continue
        if frame[0] != 2:
            continue
        action, payload = frame[2], frame[3]
        if action == "StartTransaction":
            pending_starts[frame[1]] = payload["meterStart"]
        elif action == "MeterValues" and "transactionId" in payload:
            tx = txs.setdefault(str(payload["transactionId"]), {"sent": [], "stops": []})
            for mv in payload["meterValue"]:
                tx["sent"].extend(_energy_values(mv["sampledValue"]))
        elif action == "StopTransaction":
            tx = txs.setdefault(str(payload["transactionId"]), {"sent": [], "stops": []})
            tx["stops"].append((payload["meterStop"], payload.get("reason", "Local")))
    return txs


def transactions_201(peer: OcppRpcPeer, identity: str) -> dict[str, dict[str, Any]]:
    txs: dict[str, dict[str, Any]] = {}
    for frame in peer.frames(identity, direction="in"):
        if frame[0] != 2 or frame[2] != "TransactionEvent":
            continue
        payload = frame[3]
        tx = txs.setdefault(
            payload["transactionInfo"]["transactionId"],
            {"sent": [], "stops": [], "start": 0.0, "seq": []},
        )
        tx["seq"].append(payload["seqNo"])
        registers = [
            v for mv in payload.get("meterValue", []) for v in _energy_values(mv["sampledValue"])
        ]
        if payload["eventType"] == "Started":
            tx["start"] = registers[0] if registers else 0.0
        elif payload["eventType"] == "Updated":
            tx["sent"].extend(registers)
        else:
            reason = payload["transactionInfo"].get("stoppedReason", "Local")
            tx["stops"].append((max(registers) if registers else None, reason))
    return txs


async def stop_then_killed(workdir: Path, peer: OcppRpcPeer, version: str) -> StopOutcome:
    """Six chargers charge; three get a stop-session; the moment the first of those stops
    reaches the CSMS, kill -9. After the restart the open ones close with PowerLoss. Per
    transaction the CSMS must see one stop, never below a register the station sent."""
    serve = ServeProcess(workdir, free_port())
    serve.start()
    try:
        await serve.wait_healthy()
        async with httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=20) as http:
            prefix = "CP-STOP16-" if version == "ocpp1.6" else "CP-STOP2-"
            location = await create_location(http, peer, 6, version, prefix)
            chargers = location["chargers"]
            identities = [c["identity"] for c in chargers]
            await wait_booted(peer, identities)
            target = {"location_id": location["location_id"]}
            for slug, event in (
                ("plug-connector", {"connector_id": 1}),
                ("start-session", {"id_tag": "CRASH-TAG", "connector_id": 1}),
            ):
                response = await http.post(
                    f"/ocpp/commands/{slug}", json={"target": target, "event": event}
                )
                assert response.status_code == 202, response.text
            sample = "MeterValues" if version == "ocpp1.6" else "TransactionEvent"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if all(len(peer.calls(i, sample)) >= 3 for i in identities):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("sessions did not send meter values")
            stopping = [c["charger_id"] for c in chargers[:3]]
            response = await http.post(
                "/ocpp/commands/stop-session",
                json={
                    "target": {"location_id": location["location_id"], "charger_ids": stopping},
                    "event": {"connector_id": 1},
                },
            )
            assert response.status_code == 202, response.text
            stop_seen = _stop_counter(peer, identities[:3], version)
            deadline = time.monotonic() + 20
            while stop_seen() == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        serve.kill()  # right after the first stop reached the CSMS
        stopped_before = stop_seen()
        await peer.sync()
        serve.start()
        await serve.wait_healthy()
        everyone = _stop_counter(peer, identities, version)
        deadline = time.monotonic() + 40
        while everyone() < len(identities) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # room for a repeated stop to show up
        await peer.sync()
    finally:
        serve.stop()
    outcome = StopOutcome(version=version, transactions=0, stops_per_transaction={})
    outcome.stopped_before_kill = stopped_before
    read = transactions_16 if version == "ocpp1.6" else transactions_201
    for identity in identities:
        for tx_id, tx in read(peer, identity).items():
            outcome.transactions += 1
            outcome.stops_per_transaction[f"{identity}/{tx_id}"] = len(tx["stops"])
            seq = tx.get("seq", [])
            if len(seq) != len(set(seq)):
                outcome.repeated_seq_no.append(f"{identity}/{tx_id}: {seq}")
            for meter_stop, reason in tx["stops"]:
                if reason == "PowerLoss":
                    outcome.power_loss_after += 1
                if meter_stop is None:
                    continue
                if tx["sent"] and meter_stop < max(tx["sent"]):
                    outcome.below_sent_meter.append(
                        f"{identity}/{tx_id}: {meter_stop} < {max(tx['sent'])}"
                    )
                if tx["sent"] and max(tx["sent"]) > tx.get("start", 0) and meter_stop == 0:
                    outcome.zero_after_energy.append(f"{identity}/{tx_id}")
    outcome.strict_failures = len(peer.strict_failures)
    return outcome


def _stop_counter(peer: OcppRpcPeer, identities: list[str], version: str):  # noqa: ANN202
    def count() -> int:
        if version == "ocpp1.6":
            return sum(1 for i in identities if peer.calls(i, "StopTransaction"))
        return sum(
            1
            for i in identities
            if any(e["eventType"] == "Ended" for e in peer.calls(i, "TransactionEvent"))
        )

    return count


# -- scenario 3: SIGTERM during a 100-station session run -----------------------------------------


@dataclass
class SigtermOutcome:
    exit_code: int | None
    traceback_in_log: bool
    frames_at_peer: int
    frames_missing: list[str]
    close_codes: dict[int, int]
    log_tail: str


def stored_frames(database: Path) -> dict[str, list[Any]]:
    """identity -> the frames the stations sent ('out'), parsed, from the frames table."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT chargers.identity, frames.frame FROM frames "
            "JOIN chargers ON chargers.id = frames.charger_id "
            "WHERE frames.direction = 'out' ORDER BY frames.id"
        ).fetchall()
    out: dict[str, list[Any]] = {}
    for identity, text in rows:
        out.setdefault(identity, []).append(json.loads(text))
    return out


async def sigterm_during_sessions(
    workdir: Path, peer: OcppRpcPeer, stations: int = 100, time_scale: str = "300"
) -> SigtermOutcome:
    """A location of `stations` chargers in sessions on a fast clock; SIGTERM while they send
    meter values. Every frame the CSMS received must be in the frame log afterwards."""
    serve = ServeProcess(workdir, free_port(), VOLTLAB_TIME_SCALE=time_scale)
    serve.start()
    try:
        await serve.wait_healthy()
        async with httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=30) as http:
            # A small virtual CPO too: its durable engine installs the event loop's thread
            # executor (and shuts it down when stopped), its chargers talk to the built-in CSMS.
            cpo = await http.post("/ocpi/cpos", json=SMALL_CPO)
            assert cpo.status_code in (201, 202), cpo.text
            location = await create_location(http, peer, stations, "ocpp1.6", "CP-TERM-")
            identities = [c["identity"] for c in location["chargers"]]
            await wait_booted(peer, identities, timeout=60)
            target = {"location_id": location["location_id"]}
            for slug, event in (
                ("plug-connector", {"connector_id": 1}),
                ("start-session", {"id_tag": "TERM-TAG", "connector_id": 1}),
            ):
                response = await http.post(
                    f"/ocpp/commands/{slug}", json={"target": target, "event": event}
                )
                assert response.status_code == 202, response.text
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if sum(1 for i in identities if peer.calls(i, "MeterValues")) == stations:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("not every station sent meter values")
            await wait_cpo_ready(http, cpo.json()["cpo_id"])
            await asyncio.sleep(0.3)  # mid-flow: samples in flight, frames buffered
        assert serve.proc is not None
        serve.proc.terminate()
        try:
            exit_code: int | None = serve.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - reported as no exit code
            exit_code = None
        serve.log.close()
        serve.proc = None
        await peer.sync()
    finally:
        serve.stop()
    log_text = (workdir / "serve.log").read_text(errors="replace")
    stored = stored_frames(workdir / "voltlab.db")
    missing: list[str] = []
    received = 0
    for identity in identities:
        have = [json.dumps(f, sort_keys=True) for f in stored.get(identity, [])]
        pool: dict[str, int] = {}
        for text in have:
            pool[text] = pool.get(text, 0) + 1
        for frame in peer.frames(identity, direction="in"):
            received += 1
            key = json.dumps(frame, sort_keys=True)
            if pool.get(key, 0) > 0:
                pool[key] -= 1
            else:
                missing.append(f"{identity}: {key[:120]}")
    codes: dict[int, int] = {}
    for event in peer.events_of("disconnected"):
        if event.get("identity") in identities:
            codes[int(event.get("code") or 0)] = codes.get(int(event.get("code") or 0), 0) + 1
    return SigtermOutcome(
        exit_code=exit_code,
        traceback_in_log="Traceback" in log_text,
        frames_at_peer=received,
        frames_missing=missing,
        close_codes=codes,
        log_tail=log_text[-3000:],
    )
