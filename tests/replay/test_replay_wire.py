"""Replay on the wire (issue 16's acceptance): a session captured from the strict ocpp-rpc CSMS
by a real voltlab charger replays against the same CSMS without a divergence, at the captured
pace and 60 times faster; a CSMS that answers one Authorize differently is reported with both
frames; a log of the Python ocpp library replays too."""

from __future__ import annotations

import json
import time
from pathlib import Path

from replay.conftest import Lab
from support import wait_until


def frames_of(capture: str) -> list[dict]:
    return [json.loads(line) for line in capture.splitlines() if line.strip()]


def actions(frames: list[list], kind: int = 2) -> list[str]:
    return [frame[2] for frame in frames if frame[0] == kind]


async def test_a_captured_session_replays_without_divergence_at_1x_and_60x(lab: Lab) -> None:
    capture = await lab.capture_session("CAP-16")
    lines = frames_of(capture)
    assert {line["identity"] for line in lines} == {"CAP-16"}
    assert {line["ocpp_version"] for line in lines} == {"ocpp1.6"}
    captured = actions([line["frame"] for line in lines if line["direction"] == "out"])
    for action in ("BootNotification", "Authorize", "StartTransaction", "StopTransaction"):
        assert action in captured
    assert captured.count("MeterValues") >= 2
    first_tx = next(
        line["frame"][2]["transactionId"]
        for line in lines
        if line["direction"] == "in" and "transactionId" in line["frame"][2]
    )
    since = len(lab.peer.events)

    began = time.monotonic()
    slow = await lab.replay(capture)
    took_1x = time.monotonic() - began
    assert slow["status"] == "passed", slow["findings"]
    assert slow["findings"] == []
    counts = slow["counts"]
    assert counts["divergences"] == 0
    assert counts["played"] == counts["station_calls"] == len(captured)
    assert counts["answers_compared"] == len(captured)
    span = slow["capture_span_seconds"]
    assert 3 <= span < 15
    # The captured pace: the replay takes the capture's time, not less.
    assert slow["duration_seconds"] >= span * 0.95

    # What the peer received: the captured CALLs in order, with new message ids, times shifted
    # to now, and the transaction id this CSMS gave (not the captured one) in what followed.
    await lab.peer.sync()
    received = [e["frame"] for e in lab.peer.frame_events("CAP-16", "in")[-len(captured) :]]
    assert actions(received) == captured
    captured_ids = {line["frame"][1] for line in lines}
    assert not captured_ids & {frame[1] for frame in received}
    live_tx = slow["bindings"]["transactionId"][0]
    assert live_tx["captured"] == first_tx and live_tx["live"] != first_tx
    stop = lab.peer.calls("CAP-16", "StopTransaction")[-1]
    assert stop["transactionId"] == live_tx["live"]
    meter = lab.peer.calls("CAP-16", "MeterValues")[-1]
    assert meter["transactionId"] == live_tx["live"]
    boot_time = lab.peer.calls("CAP-16", "StartTransaction")[-1]["timestamp"]
    assert abs(_epoch(boot_time) - time.time()) < span + 10
    assert lab.peer.strict_failures == []
    assert [e for e in lab.peer.events[since:] if e.get("event") == "bad_message"] == []

    began = time.monotonic()
    fast = await lab.replay(capture, speed=60)
    took_60x = time.monotonic() - began
    assert fast["status"] == "passed", fast["findings"]
    assert fast["counts"]["divergences"] == 0
    assert fast["duration_seconds"] < span / 2
    print(
        f"\nreplay figures: capture span {span:.2f} s, {len(captured)} station CALLs; "
        f"1x {slow['duration_seconds']:.2f} s (wall {took_1x:.2f} s), "
        f"60x {fast['duration_seconds']:.2f} s (wall {took_60x:.2f} s); divergences 0 / 0"
    )
    assert lab.peer.strict_failures == []


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_an_authorize_answered_differently_is_reported_with_both_frames(lab: Lab) -> None:
    capture = await lab.capture_session("CAP-AUTH")
    lines = frames_of(capture)
    authorize = next(line["frame"] for line in lines if line["frame"][:3][2:] == ["Authorize"])
    captured_answer = next(
        line["frame"]
        for line in lines
        if line["direction"] == "in" and line["frame"][0] == 3 and line["frame"][1] == authorize[1]
    )
    assert captured_answer[2] == {"idTagInfo": {"status": "Accepted"}}
    # The CSMS under test refuses the tag at the next Authorize (and only there, once).
    await lab.peer.set_response(
        "Authorize", {"idTagInfo": {"status": "Invalid"}}, identity="CAP-AUTH", once=True
    )

    run = await lab.replay(capture, speed=60)

    assert run["status"] == "diverged"
    assert run["counts"]["divergences"] == 1
    [finding] = run["findings"]
    assert finding["kind"] == "answer-differs" and finding["action"] == "Authorize"
    assert finding["differences"] == [
        {
            "path": "idTagInfo.status",
            "problem": "value",
            "expected": "Accepted",
            "actual": "Invalid",
        }
    ]
    assert "idTagInfo.status: expected 'Accepted', got 'Invalid'" in finding["detail"]
    # Both frames side by side: the captured answer as captured, the CSMS's as it came.
    assert finding["expected"]["frame"] == captured_answer
    assert finding["expected"]["direction"] == "in"
    assert (
        finding["expected"]["line"]
        == lines.index(next(line for line in lines if line["frame"] == captured_answer)) + 1
    )
    await lab.peer.sync()
    answered = [
        frame
        for frame in lab.peer.frames("CAP-AUTH", direction="out")
        if frame[0] == 3 and frame[2] == {"idTagInfo": {"status": "Invalid"}}
    ]
    assert finding["actual"]["frame"] == answered[-1]
    assert finding["request"]["frame"][2:] == ["Authorize", {"idTag": "TAG-REPLAY"}]
    assert finding["request"]["frame"][1] == answered[-1][1] != authorize[1]
    # The rest of the session still went as captured (StartTransaction was Accepted).
    assert run["counts"]["played"] == run["counts"]["station_calls"]
    # The CSMS answers as before again: so does the next replay.
    again = await lab.replay(capture, speed=60)
    assert again["status"] == "passed", again["findings"]
    assert lab.peer.strict_failures == []


async def test_an_ocpp201_capture_replays_without_divergence(lab: Lab) -> None:
    capture = await lab.capture_session("CAP-201", "ocpp2.0.1")
    events = [
        line["frame"][3]["eventType"]
        for line in frames_of(capture)
        if line["direction"] == "out" and line["frame"][:3][2:] == ["TransactionEvent"]
    ]
    assert events[0] == "Started" and events[-1] == "Ended" and "Updated" in events
    run = await lab.replay(capture, speed=60)
    assert run["status"] == "passed", run["findings"]
    assert run["ocpp_version"] == "ocpp2.0.1"
    assert run["counts"]["divergences"] == 0
    assert run["counts"]["answers_compared"] == run["counts"]["station_calls"]
    assert lab.peer.strict_failures == []


DATA = Path(__file__).parent / "data"


async def test_a_python_ocpp_library_log_replays_with_its_csms_call(lab: Lab) -> None:
    log = (DATA / "python_ocpp_station.log").read_text(encoding="utf-8")
    # The CSMS of the capture started the session remotely once the connector was Available.
    await lab.peer.set_reaction(
        "StatusNotification",
        "RemoteStartTransaction",
        {"idTag": "LOG-TAG-1", "connectorId": 1},
        when={"connectorId": 1, "status": "Available"},
        identity="PYCP-1",
        delay=0.2,
        once=False,
    )
    first = await lab.replay(log, speed=5)
    assert first["status"] == "passed", first["findings"]
    assert (first["format"], first["identity"], first["ocpp_version"]) == (
        "python-ocpp-log",
        "PYCP-1",
        "ocpp1.6",
    )
    assert first["counts"]["csms_calls_received"] == first["counts"]["csms_calls"] == 1
    assert first["counts"]["played"] == 10
    reactions = lab.peer.events_of("reaction", "PYCP-1")
    assert reactions[-1]["ok"] and reactions[-1]["result"] == {"status": "Accepted"}

    # Again: this CSMS now gives transaction 2 where the log has 1; what follows carries 2.
    second = await lab.replay(log, speed=5)
    assert second["status"] == "passed", second["findings"]
    assert second["bindings"]["transactionId"] == [{"captured": 1, "live": 2}]
    await lab.peer.sync()
    assert lab.peer.calls("PYCP-1", "StopTransaction")[-1]["transactionId"] == 2
    assert [c["transactionId"] for c in lab.peer.calls("PYCP-1", "MeterValues")[-2:]] == [2, 2]
    assert lab.peer.strict_failures == []


async def test_a_csms_call_missing_and_one_not_in_the_capture_are_reported(lab: Lab) -> None:
    log = (DATA / "python_ocpp_station.log").read_text(encoding="utf-8")
    # No remote start this time, and a TriggerMessage the capture never had.
    await lab.peer.set_reaction(
        "BootNotification",
        "TriggerMessage",
        {"requestedMessage": "Heartbeat"},
        identity="PYCP-1",
        delay=0.0,
    )
    run = await lab.replay(log, speed=5, csms_call_timeout_seconds=1)
    assert run["status"] == "diverged"
    kinds = sorted((f["kind"], f["action"]) for f in run["findings"])
    assert kinds == [
        ("missing-call", "RemoteStartTransaction"),
        ("unexpected-call", "TriggerMessage"),
    ]
    missing = next(f for f in run["findings"] if f["kind"] == "missing-call")
    assert missing["expected"]["frame"][2:] == [
        "RemoteStartTransaction",
        {"idTag": "LOG-TAG-1", "connectorId": 1},
    ]
    assert missing["expected"]["line"] == 7 and missing["actual"] is None
    unexpected = next(f for f in run["findings"] if f["kind"] == "unexpected-call")
    assert unexpected["expected"] is None
    assert unexpected["actual"]["frame"][2:] == [
        "TriggerMessage",
        {"requestedMessage": "Heartbeat"},
    ]
    # Answered all the same (the capture has no answer to copy: NotSupported), and the rest
    # of the session played on.
    reaction = lab.peer.events_of("reaction", "PYCP-1")[-1]
    assert reaction["ok"] is False and reaction["error"]["code"] == "NotSupported"
    assert run["counts"]["played"] == run["counts"]["station_calls"] == 10
    assert lab.peer.strict_failures == []


async def test_a_connection_the_csms_closes_mid_session_is_reported(lab: Lab) -> None:
    log = (DATA / "python_ocpp_station.log").read_text(encoding="utf-8")
    await lab.peer.set_reaction(
        "StatusNotification",
        "RemoteStartTransaction",
        {"idTag": "LOG-TAG-1", "connectorId": 1},
        when={"connectorId": 1, "status": "Available"},
        identity="PYCP-1",
        delay=0.2,
    )
    run_id = await lab.start_replay(log)  # the captured pace: a second to the first meter value
    # Charging (the third status) is answered; the first meter value is a second away.
    await wait_until(lambda: len(lab.peer.calls("PYCP-1", "StatusNotification")) >= 3)
    await lab.peer.close_station("PYCP-1", code=1000)
    run = await lab.finished(run_id)
    assert run["status"] == "diverged"
    [closed] = run["findings"]
    assert closed["kind"] == "connection-closed"
    # Where it ended: before the session's first captured meter value.
    assert closed["action"] == "MeterValues" and closed["expected"]["line"] == 15
    assert run["counts"]["played"] < run["counts"]["station_calls"]


async def test_a_broken_rule_of_ocpp_j_is_reported_with_the_frame(lab: Lab) -> None:
    log = (DATA / "python_ocpp_station.log").read_text(encoding="utf-8")
    await lab.peer.set_reaction(
        "StatusNotification",
        "RemoteStartTransaction",
        {"idTag": "LOG-TAG-1", "connectorId": 1},
        when={"connectorId": 1, "status": "Available"},
        identity="PYCP-1",
        delay=0.2,
    )
    await lab.peer.misbehave("PYCP-1", [{"on": "Authorize", "answer": "twice"}])
    run = await lab.replay(log, speed=10)
    assert run["status"] == "diverged"
    [twice] = run["findings"]
    assert twice["kind"] == "rpc-violation"
    assert twice["detail"].startswith("rpc-unknown-message-id: a second answer")
    [committed] = lab.peer.violations("PYCP-1")
    assert twice["actual"]["frame"] == json.loads(committed["frame"])
