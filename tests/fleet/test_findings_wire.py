"""Findings about the CSMS on the wire: the ocpp-rpc peer in its misbehaving mode commits each
rule's violation on purpose, and each is reported exactly once, through the HTTP API and in
the `findings` rows, with the action and message id of the offending frame in its evidence."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from peers.ocpp_rpc_peer import OcppRpcPeer, PeerCallError
from support import wait_until
from voltlab.api.app import create_app
from voltlab.clock import Clock
from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.ocpp.findings import RULES
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.finding_models import FindingRecord

pytestmark = pytest.mark.csms_misbehaves

TIME_SCALE = 100.0


@dataclass
class Lab:
    http: httpx.AsyncClient
    headers: dict[str, str]
    fleet: FleetRuntime
    database: Database
    peer: OcppRpcPeer

    async def charger(self, identity: str, version: str = "ocpp1.6") -> tuple[str, str]:
        """A location with one charger of that identity, connected: (charger id, location)."""
        response = await self.http.post(
            "/ocpp/locations",
            headers=self.headers,
            json={
                "name": identity,
                "csms_url": self.peer.url,
                "ocpp_version": version,
                "chargers": 1,
                "identity_prefix": identity,
                "auto_start": True,
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        [charger] = body["chargers"]
        return charger["charger_id"], body["location_id"]

    def runner(self, charger_id: str) -> StationRunner:
        runner = self.fleet.runner(charger_id)
        assert runner is not None
        return runner

    async def findings(self, charger_id: str, **params: str) -> list[dict[str, Any]]:
        response = await self.http.get(
            f"/ocpp/chargers/{charger_id}/findings",
            headers=self.headers,
            params={"limit": 500, **params},
        )
        assert response.status_code == 200, response.text
        return response.json()["findings"]

    def rows(self, charger_id: str) -> list[FindingRecord]:
        with self.database.session() as session:
            return list(
                session.scalars(select(FindingRecord).where(FindingRecord.charger_id == charger_id))
            )

    async def wait_for_rule(self, charger_id: str, rule: str, count: int = 1) -> None:
        async def enough() -> bool:
            found = await self.findings(charger_id, rule=rule)
            return len(found) >= count

        for _ in range(200):
            if await enough():
                return
            await self.peer.sync()
        raise AssertionError(f"no {count} finding(s) of {rule}")


@pytest.fixture
async def lab(tmp_path, monkeypatch) -> AsyncIterator[Lab]:
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    database = Database(f"sqlite:///{tmp_path / 'findings.db'}")
    database.migrate()
    fleet = FleetRuntime(database, Clock(TIME_SCALE))
    app = create_app(database, fleet, virtual_cpos=False)
    async with OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1"), strict=True) as peer:
        await peer.set_boot("Accepted", interval=3600)  # no heartbeat of its own in a test
        async with app.router.lifespan_context(app):
            with database.session() as session:
                org = repo.get_or_create_org(session, "lab")
                key = repo.add_api_key(session, org.id, "admin")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield Lab(http, {"Authorization": f"Bearer {key}"}, fleet, database, peer)
    database.dispose()


def _identity(charger_id: str, lab: Lab) -> str:
    return lab.runner(charger_id).identity


def _ids(finding: dict[str, Any]) -> set[tuple[str | None, str | None]]:
    return {(e["action"], e["message_id"]) for e in finding["evidence"]}


async def _online(lab: Lab, charger_id: str) -> StationRunner:
    runner = lab.runner(charger_id)
    await wait_until(lambda: runner.link.online)
    await wait_until(lambda: not runner.machine.context.reporting_statuses)
    return runner


def _out_calls(peer: OcppRpcPeer, identity: str, action: str) -> list[list]:
    return peer.frames(identity, direction="out", action=action)


async def _trigger(peer: OcppRpcPeer, identity: str, message: str) -> None:
    assert await peer.call(identity, "TriggerMessage", {"requestedMessage": message}) == {
        "status": "Accepted"
    }


async def test_rpc_framework_violations_are_reported_once_each(lab: Lab) -> None:
    charger_id, location_id = await lab.charger("CP-RPC-")
    identity = _identity(charger_id, lab)
    runner = await _online(lab, charger_id)
    runner.link.call_timeout = 1.0  # the CSMS that never answers: a short wait in a test
    peer = lab.peer
    await peer.misbehave(
        identity,
        [
            {"on": "Heartbeat", "answer": "invalid_result", "result": {"currentTime": 5}},
            {"on": "Heartbeat", "answer": "twice"},
            {"on": "Heartbeat", "answer": "none"},
            {"on": "Heartbeat", "answer": "callerror", "code": "NoSuchCode"},
        ],
    )
    for _ in range(4):
        await _trigger(peer, identity, "Heartbeat")
        count = len(peer.violations(identity))
        await wait_until(lambda count=count: len(peer.violations(identity)) >= count)
        await wait_until(lambda: runner.link._rpc is not None and not runner.link._rpc._calling)
    # Frames that answer nothing: an answer to an id never sent, a frame that is not OCPP-J, an
    # unknown action, and a second CALL while the first is unanswered (one TCP write).
    await peer.send_raw(identity, '[3,"never-sent-1",{}]')
    await peer.send_raw(identity, "this is not OCPP-J")
    await peer.send_raw(identity, '[2,"ua-1","FlyToTheMoon",{}]')
    await peer.send_raw_together(
        identity,
        ['[2,"cc-1","GetLocalListVersion",{}]', '[2,"cc-2","GetLocalListVersion",{}]'],
    )
    await lab.wait_for_rule(charger_id, "rpc-concurrent-call")
    await peer.close_station(identity, code=4001, reason="misbehaving")
    await lab.wait_for_rule(charger_id, "rpc-abnormal-close")

    violations = {v["kind"]: v for v in peer.violations(identity)}
    expected = {
        "rpc-invalid-result": {("Heartbeat", violations["invalid_result"]["message_id"])},
        "rpc-unknown-message-id": {
            (None, violations["twice"]["message_id"]),
            (None, "never-sent-1"),
        },
        "rpc-call-timeout": {("Heartbeat", violations["none"]["message_id"])},
        "rpc-invalid-callerror": {(None, violations["callerror"]["message_id"])},
        "rpc-invalid-frame": {(None, None)},
        "rpc-unknown-action": {("FlyToTheMoon", "ua-1")},
        "rpc-concurrent-call": {("GetLocalListVersion", "cc-2")},
        "rpc-abnormal-close": {(None, None)},
    }
    findings = await lab.findings(charger_id)
    by_rule = Counter(f["rule"] for f in findings)
    assert by_rule == {rule: len(ids) for rule, ids in expected.items()}, findings
    for rule, ids in expected.items():
        of_rule = [f for f in findings if f["rule"] == rule]
        found = set().union(*(_ids(f) for f in of_rule))
        assert ids <= found, (rule, found)
        for finding in of_rule:
            assert finding["severity"] == RULES[rule].severity
            assert finding["spec_ref"].startswith("OCPP-J 1.6 §")
            assert finding["at"].endswith("Z") and finding["detail"]
    # The invalid result's evidence holds the frame the peer sent, as sent.
    [invalid] = [f for f in findings if f["rule"] == "rpc-invalid-result"]
    answer = [e for e in invalid["evidence"] if e["direction"] == "in"]
    assert json.loads(answer[0]["frame"]) == json.loads(violations["invalid_result"]["frame"])
    # The same rows in the database, and counted per rule for the location and the charger.
    assert Counter(row.rule for row in lab.rows(charger_id)) == by_rule
    located = await lab.http.get(f"/ocpp/locations/{location_id}/findings", headers=lab.headers)
    assert located.json()["counts"] == dict(sorted(by_rule.items()))
    charger = await lab.http.get(f"/ocpp/chargers/{charger_id}", headers=lab.headers)
    assert charger.json()["findings"] == sum(by_rule.values())
    errors = await lab.findings(charger_id, severity="warning")
    assert [f["rule"] for f in errors] == ["rpc-abnormal-close"]


async def test_csms_behaviour_rules_on_a_16_station(lab: Lab) -> None:
    peer = lab.peer
    await peer.set_boot("Pending", interval=3600)
    charger_id, _ = await lab.charger("CP-BEH-")
    identity = _identity(charger_id, lab)
    runner = lab.runner(charger_id)
    await wait_until(lambda: runner.machine.registration.status == "Pending")
    # A remote start while Pending (1.6 §4.2 forbids it): a finding, however it is answered.
    await peer.call(identity, "RemoteStartTransaction", {"idTag": "T1"})
    pending_start = _out_calls(peer, identity, "RemoteStartTransaction")[-1][1]
    # Accepted with a heartbeat interval of zero.
    await peer.set_boot("Accepted", interval=0)
    await _trigger(peer, identity, "BootNotification")
    await wait_until(lambda: runner.link.online)
    boot_id = peer.frames(identity, direction="in", action="BootNotification")[-1][1]
    # A remote start on a connector the station does not have.
    unknown = {"connectorId": 9, "idTag": "T1"}
    assert (await peer.call(identity, "RemoteStartTransaction", unknown))["status"] == "Rejected"
    unknown_start = _out_calls(peer, identity, "RemoteStartTransaction")[-1][1]
    # A TxProfile without a transaction on the connector (1.6 §5.16: rejected).
    profile = {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 5,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
            },
        },
    }
    assert (await peer.call(identity, "SetChargingProfile", profile))["status"] == "Rejected"
    profile_id = _out_calls(peer, identity, "SetChargingProfile")[-1][1]
    # The same transactionId for two transactions.
    await peer.set_response(
        "StartTransaction", {"transactionId": 77, "idTagInfo": {"status": "Accepted"}}
    )
    # (connector 1 waits for the cable of the remote start above: both on connector 2)
    await runner.plug(2)
    await runner.start_transaction(2, "T2")
    await runner.stop_transaction(2, "Local")
    await runner.start_transaction(2, "T3")
    second_start = peer.frames(identity, direction="in", action="StartTransaction")[-1][1]
    # A CALL the station does not support (a station-to-CSMS action sent the wrong way).
    with pytest.raises(PeerCallError):
        await peer.call(identity, "StatusNotification", _status_payload())
    unsupported = _out_calls(peer, identity, "StatusNotification")[-1][1]

    await lab.wait_for_rule(charger_id, "csms-unsupported-feature")
    findings = await lab.findings(charger_id)
    expected = {
        "csms-call-before-accepted": ("RemoteStartTransaction", pending_start),
        "csms-boot-interval": ("BootNotification", boot_id),
        "csms-unknown-connector": ("RemoteStartTransaction", unknown_start),
        "csms-invalid-charging-profile": ("SetChargingProfile", profile_id),
        "csms-transaction-id-reused": ("StartTransaction", second_start),
        "csms-unsupported-feature": ("StatusNotification", unsupported),
    }
    assert Counter(f["rule"] for f in findings) == dict.fromkeys(expected, 1), findings
    for finding in findings:
        assert expected[finding["rule"]] in _ids(finding), finding
        assert finding["spec_ref"].startswith("OCPP 1.6")
    assert Counter(row.rule for row in lab.rows(charger_id)) == dict.fromkeys(expected, 1)


def _status_payload() -> dict[str, Any]:
    return {"connectorId": 1, "errorCode": "NoError", "status": "Available"}


async def test_an_id_tag_answered_two_ways_in_one_session(lab: Lab) -> None:
    charger_id, _ = await lab.charger("CP-TAG-")
    identity = _identity(charger_id, lab)
    runner = await _online(lab, charger_id)
    peer = lab.peer
    await peer.set_auth("TAG-9", "Accepted")
    await peer.set_response(
        "StartTransaction",
        {"transactionId": 901, "idTagInfo": {"status": "Blocked"}},
        identity=identity,
    )
    await runner.plug(1)
    decision = await runner.authorize("TAG-9")
    assert decision.info.status == "Accepted"
    await runner.start_transaction(1, "TAG-9")  # Blocked at the start: the station stops it
    start_id = peer.frames(identity, direction="in", action="StartTransaction")[-1][1]
    await lab.wait_for_rule(charger_id, "csms-id-token-contradiction")
    findings = await lab.findings(charger_id)
    assert [f["rule"] for f in findings] == ["csms-id-token-contradiction"]
    assert ("StartTransaction", start_id) in _ids(findings[0])


async def test_unsupported_feature_and_slow_answers_on_a_201_station(lab: Lab) -> None:
    charger_id, _ = await lab.charger("CP-201-", "ocpp2.0.1")
    identity = _identity(charger_id, lab)
    runner = await _online(lab, charger_id)
    peer = lab.peer
    # A local controller's request (a station answers every other 2.0.1 CSMS request).
    with pytest.raises(PeerCallError) as refused:
        await peer.call(identity, "UnpublishFirmware", {"checksum": "0" * 32})
    assert refused.value.code == "NotSupported"
    clear_id = _out_calls(peer, identity, "UnpublishFirmware")[-1][1]
    # Answers slower than the threshold: a warning once p95 is above it, and only once.
    runner.findings.times.threshold = 0.05
    await peer.set_delay("Heartbeat", 0.1)
    for _ in range(14):
        await _trigger(peer, identity, "Heartbeat")
        await wait_until(lambda: runner.link._rpc is not None and not runner.link._rpc._calling)
    await lab.wait_for_rule(charger_id, "csms-slow-responses")
    findings = await lab.findings(charger_id)
    assert Counter(f["rule"] for f in findings) == {
        "csms-unsupported-feature": 1,
        "csms-slow-responses": 1,
    }
    [unsupported] = [f for f in findings if f["rule"] == "csms-unsupported-feature"]
    assert ("UnpublishFirmware", clear_id) in _ids(unsupported)
    assert unsupported["spec_ref"].startswith("OCPP 2.0.1")
    body = (await lab.http.get(f"/ocpp/chargers/{charger_id}/findings", headers=lab.headers)).json()
    heartbeat = body["response_times"]["Heartbeat"]
    assert heartbeat["count"] >= 14 and heartbeat["p95_ms"] >= 100 and heartbeat["max_ms"] >= 100


async def test_a_handshake_without_the_subprotocol(tmp_path, monkeypatch) -> None:
    database = Database(f"sqlite:///{tmp_path / 'sub.db'}")
    database.migrate()
    fleet = FleetRuntime(database, Clock(TIME_SCALE))
    await fleet.start()
    try:
        async with OcppRpcPeer(protocols=("ocpp2.0.1",), allow_no_protocol=True) as peer:
            from voltlab.fleet.hosting.runtime_api import ChargerSpec

            spec = ChargerSpec("dep-SUB", "org", "CP-SUB", peer.url, "ocpp1.6", "ac-22kw-2c")
            await fleet.start_charger(spec)
            await peer.wait_connected("CP-SUB")
            await wait_until(lambda: len(fleet.writer._findings) >= 1)
            await fleet.stop_charger("dep-SUB")
            await fleet.flush()
            handshakes = len(peer.events_of("connected", "CP-SUB"))
        with database.session() as session:
            rows = list(session.scalars(select(FindingRecord)))
        assert [row.rule for row in rows] == ["rpc-subprotocol"] * handshakes
        assert "ocpp1.6" in rows[0].detail and rows[0].charger_id == "dep-SUB"
    finally:
        await fleet.shutdown()
        database.dispose()
