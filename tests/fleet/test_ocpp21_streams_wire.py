"""OCPP 2.1 periodic event streams against the strict ocpp-rpc CSMS (2.1 schemas): a periodic
power monitor set with `periodicEventStream` opens a stream (OpenPeriodicEventStream), whose
NotifyPeriodicEventStream SEND frames come at the stream's interval with the power the meter
values show; GetPeriodicEventStream lists it, AdjustPeriodicEventStream changes its frames,
ClearVariableMonitoring closes it (ClosePeriodicEventStream); a stream the CSMS refuses leaves
the monitor reporting with NotifyEvent."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

POWER = "Power.Active.Import"


@pytest.fixture
async def peer21():
    async with OcppRpcPeer(protocols=("ocpp2.1",), strict=True) as peer:
        yield peer


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str):
    spec = ChargerSpec(f"dep-{identity}", "org", identity, peer.url, "ocpp2.1", "ac-22kw-2c")
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    await wait_until(lambda: len(peer.calls(identity, "StatusNotification")) >= 2)
    return runner


def power_monitor(period: float, stream: dict[str, int] | None) -> dict[str, Any]:
    """A periodic monitor of EVSE 1's power while a transaction runs on it."""
    body: dict[str, Any] = {
        "value": period,
        "type": "Periodic",
        "severity": 8,
        "transaction": True,
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
    }
    if stream is not None:
        body["periodicEventStream"] = stream
    return body


def points(frames: list[dict]) -> list[tuple[float, float]]:
    """(instant, value) of every data point of the frames, in order."""
    return [
        (parse_timestamp(frame["basetime"]) + point["t"], float(point["v"]))
        for frame in frames
        for point in frame["data"]
    ]


def meter_powers(peer: OcppRpcPeer, identity: str) -> list[tuple[float, float]]:
    """(instant, power) of the meter values the CSMS received, in time order."""
    found = [
        (parse_timestamp(meter_value["timestamp"]), float(sample["value"]))
        for event in peer.calls(identity, "TransactionEvent")
        for meter_value in event.get("meterValue", [])
        for sample in meter_value["sampledValue"]
        if sample.get("measurand") == POWER
    ]
    return sorted(found)


async def test_a_stream_carries_the_sessions_power_at_its_interval(runtime, peer21) -> None:
    peer, ident = peer21, "CS-21-STREAM"
    runner = await boot(runtime, peer, ident)
    # A point every 10 s, a frame every 30 s (at most 20 points each).
    answer = await peer.call(
        ident,
        "SetVariableMonitoring",
        {"setMonitoringData": [power_monitor(10, {"interval": 30, "values": 20})]},
    )
    [result] = answer["setMonitoringResult"]
    assert (result["status"], result["id"]) == ("Accepted", 101)
    await wait_until(lambda: peer.calls(ident, "OpenPeriodicEventStream"))
    [opened] = peer.calls(ident, "OpenPeriodicEventStream")
    stream = opened["constantStreamData"]
    assert stream["variableMonitoringId"] == 101
    assert stream["params"] == {"interval": 30, "values": 20}
    listed = await peer.call(ident, "GetPeriodicEventStream", {})
    assert listed == {"constantStreamData": [stream]}
    view = runner.live_state()["event_streams"]
    assert [(s["id"], s["variable_monitoring_id"]) for s in view] == [(stream["id"], 101)]

    await COMMANDS["plug_connector"](runner, {"connector_id": 1, "ev_profile": "family-hatch"})
    await COMMANDS["start_session"](runner, {"id_tag": "STREAM-1", "connector_id": 1})
    now = runner.now()
    await wait_until(lambda: runner.now() > now + 300, timeout=15)
    await COMMANDS["power_update"](runner, {"connector_id": 1, "power_kw": 3.7})
    await wait_until(lambda: runner.now() > now + 600, timeout=15)
    frames = peer.sends(ident, "NotifyPeriodicEventStream")
    assert len(frames) >= 15, len(frames)
    assert {frame["id"] for frame in frames} == {stream["id"]}
    assert {frame["pending"] for frame in frames} == {0}
    # At the interval: a frame every 30 s (the first as soon as a point came, 30 s having
    # passed since the stream opened), each with the points taken every 10 s since the one
    # before: the points follow each other 10 s apart across frames, three to a frame. (The
    # simulated clock runs 100 times real time, so a busy machine delays a timer by whole
    # simulated seconds now and then: the medians are what the station keeps to.)
    steady = frames[2:]
    starts = [parse_timestamp(frame["basetime"]) for frame in steady]
    spacing = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert statistics.median(spacing) == pytest.approx(30, abs=2), spacing
    taken = [at for at, _ in points(steady)]
    gaps = [later - earlier for earlier, later in zip(taken, taken[1:], strict=False)]
    assert statistics.median(gaps) == pytest.approx(10, abs=1), gaps
    assert min(gaps) > 8  # one point per period, never two
    assert statistics.median(len(frame["data"]) for frame in steady) == 3
    # The values are the meter's: each point equals the power of the meter value before or
    # after it (the power is constant between them but at the change to 3.7 kW).
    meters = meter_powers(peer, ident)
    streamed = points(frames)
    checked = 0
    for at, value in streamed:
        before = [power for when, power in meters if when <= at]
        after = [power for when, power in meters if when >= at]
        if before and after:
            assert value in (before[-1], after[0]), (at, value, before[-1], after[0])
            checked += 1
    assert checked >= 40
    assert {value for _, value in streamed} >= {11000.0, 3700.0}

    # Adjusted: a frame every 60 s, at most 4 points each (six come per minute: 4, then 2).
    adjusted = await peer.call(
        ident,
        "AdjustPeriodicEventStream",
        {"id": stream["id"], "params": {"interval": 60, "values": 4}},
    )
    assert adjusted == {"status": "Accepted"}
    unknown = await peer.call(
        ident, "AdjustPeriodicEventStream", {"id": 999, "params": {"interval": 5}}
    )
    assert unknown["status"] == "Rejected"
    sent = len(frames)
    later = runner.now()
    await wait_until(lambda: runner.now() > later + 250, timeout=15)
    after_adjust = peer.sends(ident, "NotifyPeriodicEventStream")[sent + 1 :]
    assert after_adjust and all(1 <= len(frame["data"]) <= 4 for frame in after_adjust)
    assert any(len(frame["data"]) == 4 for frame in after_adjust)

    # The monitor cleared: what waited goes, then the stream closes.
    cleared = await peer.call(ident, "ClearVariableMonitoring", {"id": [101]})
    assert cleared["clearMonitoringResult"][0]["status"] == "Accepted"
    await wait_until(lambda: peer.calls(ident, "ClosePeriodicEventStream"))
    assert peer.calls(ident, "ClosePeriodicEventStream") == [{"id": stream["id"]}]
    assert await peer.call(ident, "GetPeriodicEventStream", {}) == {}
    assert runner.live_state()["event_streams"] == []
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await peer.sync()
    assert peer.calls(ident, "NotifyEvent") == []  # the stream carried every report
    assert peer.strict_failures == [] and peer.bad_messages == []


async def test_a_refused_stream_leaves_the_monitor_reporting_events(runtime, peer21) -> None:
    peer, ident = peer21, "CS-21-NOSTREAM"
    await peer.command(
        "set_response", method="OpenPeriodicEventStream", result={"status": "Rejected"}
    )
    runner = await boot(runtime, peer, ident)
    answer = await peer.call(
        ident,
        "SetVariableMonitoring",
        {"setMonitoringData": [power_monitor(30, {"interval": 60, "values": 0})]},
    )
    assert answer["setMonitoringResult"][0]["status"] == "Accepted"
    await wait_until(lambda: peer.calls(ident, "OpenPeriodicEventStream"))
    assert await peer.call(ident, "GetPeriodicEventStream", {}) == {}
    await COMMANDS["plug_connector"](runner, {"connector_id": 1, "ev_profile": "family-hatch"})
    await COMMANDS["start_session"](runner, {"id_tag": "EVENTS-1", "connector_id": 1})
    await wait_until(lambda: len(peer.calls(ident, "NotifyEvent")) >= 3, timeout=15)
    events = [e for n in peer.calls(ident, "NotifyEvent") for e in n["eventData"]]
    assert {(e["trigger"], e["variableMonitoringId"]) for e in events} == {("Periodic", 101)}
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await peer.sync()
    assert peer.sends(ident, "NotifyPeriodicEventStream") == []
    assert peer.strict_failures == []
