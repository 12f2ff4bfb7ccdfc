"""The CSMS-initiated messages OCPP 2.0.1 stations answered NotImplemented before issue 17, on
the wire against the strict ocpp-rpc CSMS (2.0.1 and 2.1): each answered with its effect, seen
in what the station sends afterwards and in its state, and one malformed request of each
answered with the CALLERROR OCPP-J prescribes. A power monitor fires NotifyEvent during a
session when the power crosses it, and not otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec

VERSIONS = ["ocpp2.0.1", "ocpp2.1"]
# The ten requests 2.0.1 stations answered NotImplemented to (SetNetworkProfile, the
# eleventh, has its own wire tests: test_network_profiles_wire.py).
NEW_REQUESTS = (
    "SetVariableMonitoring",
    "ClearVariableMonitoring",
    "SetMonitoringBase",
    "SetMonitoringLevel",
    "GetMonitoringReport",
    "SetDisplayMessage",
    "GetDisplayMessages",
    "ClearDisplayMessage",
    "CustomerInformation",
    "CostUpdated",
)


@pytest.fixture(params=VERSIONS)
async def peer2x(request):
    async with OcppRpcPeer(protocols=(request.param,), strict=True) as peer:
        peer.version = request.param
        yield peer


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str):
    spec = ChargerSpec(f"dep-{identity}", "org", identity, peer.url, peer.version, "ac-22kw-2c")
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    await wait_until(lambda: len(peer.calls(identity, "StatusNotification")) >= 2)
    return runner


def monitor(evse: int, kind: str, value: float, severity: int = 5) -> dict[str, Any]:
    return {
        "value": value,
        "type": kind,
        "severity": severity,
        "component": {"name": "EVSE", "evse": {"id": evse}},
        "variable": {"name": "Power"},
    }


def events(peer: OcppRpcPeer, identity: str) -> list[dict]:
    return [e for notice in peer.calls(identity, "NotifyEvent") for e in notice["eventData"]]


async def test_every_new_request_is_answered_with_its_effect(runtime, peer2x) -> None:
    peer, ident = peer2x, "CS-201-ALL"
    runner = await boot(runtime, peer, ident)
    # Monitoring: set, report, clear, base, level; the device model shows base and level.
    set_answer = await peer.call(
        ident,
        "SetVariableMonitoring",
        {"setMonitoringData": [monitor(1, "UpperThreshold", 5000), monitor(9, "Delta", 1)]},
    )
    results = set_answer["setMonitoringResult"]
    assert [(r["status"], r.get("id")) for r in results] == [
        ("Accepted", 101),
        ("UnknownComponent", None),
    ]
    report = await peer.call(
        ident,
        "GetMonitoringReport",
        {"requestId": 3, "monitoringCriteria": ["ThresholdMonitoring"]},
    )
    assert report == {"status": "Accepted"}
    await wait_until(lambda: peer.calls(ident, "NotifyMonitoringReport"))
    [page] = peer.calls(ident, "NotifyMonitoringReport")
    ids = {m["id"] for data in page["monitor"] for m in data["variableMonitoring"]}
    assert ids == {3, 5, 7, 101}  # the presets' power thresholds, and the new one
    assert await peer.call(ident, "SetMonitoringLevel", {"severity": 4}) == {"status": "Accepted"}
    base = await peer.call(ident, "SetMonitoringBase", {"monitoringBase": "FactoryDefault"})
    assert base == {"status": "Accepted"}
    cleared = await peer.call(ident, "ClearVariableMonitoring", {"id": [101, 1, 404]})
    assert [r["status"] for r in cleared["clearMonitoringResult"]] == [
        "NotFound",  # FactoryDefault ended the custom monitor
        "Rejected",  # hard-wired
        "NotFound",
    ]
    read = await peer.call(
        ident,
        "GetVariables",
        {
            "getVariableData": [
                {"component": {"name": "MonitoringCtrlr"}, "variable": {"name": name}}
                for name in ("ActiveMonitoringBase", "ActiveMonitoringLevel")
            ]
        },
    )
    assert [r["attributeValue"] for r in read["getVariableResult"]] == ["FactoryDefault", "4"]
    # Display messages: stored, reported, cleared; the charger's view shows the screen.
    shown = {
        "id": 12,
        "priority": "InFront",
        "message": {"format": "UTF8", "content": "Welcome, charging at 11 kW", "language": "en"},
    }
    assert await peer.call(ident, "SetDisplayMessage", {"message": shown}) == {"status": "Accepted"}
    listed = await peer.call(ident, "GetDisplayMessages", {"requestId": 4, "priority": "InFront"})
    assert listed == {"status": "Accepted"}
    await wait_until(lambda: peer.calls(ident, "NotifyDisplayMessages"))
    [notified] = peer.calls(ident, "NotifyDisplayMessages")
    assert notified["messageInfo"] == [shown] and notified["requestId"] == 4
    view = runner.live_state()["display_messages"]
    assert [(m["id"], m["shown"], m["content"]) for m in view] == [
        (12, True, "Welcome, charging at 11 kW")
    ]
    assert await peer.call(ident, "ClearDisplayMessage", {"id": 12}) == {"status": "Accepted"}
    assert await peer.call(ident, "GetDisplayMessages", {"requestId": 5}) == {"status": "Unknown"}
    assert runner.live_state()["display_messages"] == []
    # A session: its cost, then what the station holds about its customer.
    await COMMANDS["start_session"](runner, {"id_tag": "CUST-7", "connector_id": 2})
    tx_id = runner.station.connectors[2].transaction.transaction_id
    assert await peer.call(ident, "CostUpdated", {"totalCost": 1.85, "transactionId": tx_id}) == {}
    connector = runner.live_state()["connectors"][1]
    assert (connector["transaction_id"], connector["total_cost"]) == (tx_id, 1.85)
    await COMMANDS["stop_session"](runner, {"connector_id": 2})
    info = await peer.call(
        ident,
        "CustomerInformation",
        {
            "requestId": 6,
            "report": True,
            "clear": True,
            "idToken": {"idToken": "CUST-7", "type": "ISO14443"},
        },
    )
    assert info == {"status": "Accepted"}
    await wait_until(lambda: peer.calls(ident, "NotifyCustomerInformation"))
    data = "".join(p["data"] for p in peer.calls(ident, "NotifyCustomerInformation"))
    assert "authorization cache: CUST-7 status=Accepted" in data
    assert f"ended transaction {tx_id} on EVSE 2" in data
    assert runner.station.auth_cache.lookup("CUST-7") is None  # cleared
    await peer.sync()
    assert peer.strict_failures == []


MALFORMED: list[tuple[str, Any, str]] = [
    ("SetVariableMonitoring", {"setMonitoringData": []}, "OccurrenceConstraintViolation"),
    ("ClearVariableMonitoring", {"id": ["7"]}, "TypeConstraintViolation"),
    ("SetMonitoringBase", {"monitoringBase": "Everything"}, "PropertyConstraintViolation"),
    ("SetMonitoringLevel", {}, "OccurrenceConstraintViolation"),
    ("GetMonitoringReport", {"requestId": "seven"}, "TypeConstraintViolation"),
    (
        "SetDisplayMessage",
        {
            "message": {
                "id": 1,
                "priority": "InFront",
                "message": {"format": "UTF8", "content": "x" * 1100},
            }
        },
        "PropertyConstraintViolation",
    ),
    ("GetDisplayMessages", [], "FormatViolation"),  # the payload is not a JSON object
    ("ClearDisplayMessage", {"id": 1.5}, "TypeConstraintViolation"),
    ("CustomerInformation", {"requestId": 1, "report": True}, "OccurrenceConstraintViolation"),
    ("CostUpdated", {"totalCost": 1, "transactionId": "t" * 37}, "PropertyConstraintViolation"),
    (
        "SetNetworkProfile",
        {"configurationSlot": "2", "connectionData": {}},
        "TypeConstraintViolation",
    ),
]


@pytest.mark.csms_misbehaves  # it sends malformed requests on purpose
async def test_one_malformed_request_of_each_gets_the_right_callerror(runtime, peer2x) -> None:
    peer, ident = peer2x, "CS-201-BAD"
    await boot(runtime, peer, ident)
    for index, (action, payload, code) in enumerate(MALFORMED):
        message_id = f"bad-{index}"
        frame = await peer.call_raw(ident, message_id, action, payload)
        assert (frame[0], frame[2]) == (4, code), (action, frame)
    # Beyond MonitoringCtrlr.ItemsPerMessage[SetVariableMonitoring] (20): N04.FR.09.
    many = {"setMonitoringData": [monitor(1, "Delta", 100 + n) for n in range(21)]}
    await peer.send_raw(ident, json.dumps([2, "too-many", "SetVariableMonitoring", many]))
    reply = await peer.wait_for_event(
        lambda e: (
            e.get("event") == "frame"
            and e.get("direction") == "in"
            and isinstance(e.get("frame"), list)
            and e["frame"][1] == "too-many"
        )
    )
    assert reply["frame"][2] == "OccurrenceConstraintViolation"
    assert set(NEW_REQUESTS) <= {action for action, _, _ in MALFORMED}


async def test_a_power_monitor_fires_during_a_session_only_when_crossed(runtime, peer2x) -> None:
    peer, ident = peer2x, "CS-201-MON"
    runner = await boot(runtime, peer, ident)
    answer = await peer.call(
        ident,
        "SetVariableMonitoring",
        {
            "setMonitoringData": [
                monitor(1, "UpperThreshold", 5000),  # an 11 kW EV crosses it
                monitor(1, "UpperThreshold", 15000, severity=6),  # it never gets there
                monitor(2, "UpperThreshold", 1000),  # nothing charges on EVSE 2
            ]
        },
    )
    assert [r["id"] for r in answer["setMonitoringResult"]] == [101, 102, 103]
    await COMMANDS["plug_connector"](runner, {"connector_id": 1, "ev_profile": "family-hatch"})
    await COMMANDS["start_session"](runner, {"id_tag": "MON-1", "connector_id": 1})
    await wait_until(lambda: events(peer, ident))
    tx_id = runner.station.connectors[1].transaction.transaction_id
    # Ten minutes of charging at 11 kW (sampled every minute): still that one event.
    now = runner.now()
    await wait_until(lambda: runner.now() > now + 600, timeout=15)
    [crossed] = events(peer, ident)
    assert crossed["variableMonitoringId"] == 101
    assert (crossed["actualValue"], crossed["cleared"], crossed["transactionId"]) == (
        "11000",
        False,
        tx_id,
    )
    # The EV draws 3 kW: back below, cleared.
    await COMMANDS["power_update"](runner, {"connector_id": 1, "power_kw": 3.0})
    await wait_until(lambda: len(events(peer, ident)) == 2)
    assert (events(peer, ident)[1]["cleared"], events(peer, ident)[1]["actualValue"]) == (
        True,
        "3000",
    )
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await peer.sync()
    assert [e["variableMonitoringId"] for e in events(peer, ident)] == [101, 101]
    assert peer.strict_failures == []
