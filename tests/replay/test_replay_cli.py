"""`voltlab replay FILE --csms URL` as a user runs it: a child process embedding the server,
the strict ocpp-rpc CSMS as the target; exit 0 when it answered as captured, 1 on divergences
(shown with both frames), 2 when the replay is refused."""

from __future__ import annotations

import json
from pathlib import Path

from peers.ocpp_rpc_peer import OcppRpcPeer
from scenarios.test_scenario_cli import voltlab

LOG = Path(__file__).parent / "data" / "python_ocpp_station.log"


async def remote_start_after_available(peer: OcppRpcPeer) -> None:
    """What the CSMS of the capture did: start the session once connector 1 was Available."""
    await peer.set_reaction(
        "StatusNotification",
        "RemoteStartTransaction",
        {"idTag": "LOG-TAG-1", "connectorId": 1},
        when={"connectorId": 1, "status": "Available"},
        identity="PYCP-1",
        delay=0.2,
        once=False,
    )


async def test_a_log_that_replays_as_captured_exits_0(peer: OcppRpcPeer, tmp_path: Path) -> None:
    await remote_start_after_available(peer)
    code, output = await voltlab(
        "replay", str(LOG), "--csms", peer.url, "--speed", "10", cwd=tmp_path
    )
    assert code == 0, output
    assert "passed" in output
    assert "10 station CALL(s) played, 10 answer(s) compared, 1 CSMS CALL(s), 0 divergence(s)" in (
        " ".join(output.split())
    )
    assert peer.strict_failures == []


async def test_divergences_exit_1_with_both_frames(peer: OcppRpcPeer, tmp_path: Path) -> None:
    await remote_start_after_available(peer)
    await peer.set_response("Authorize", {"idTagInfo": {"status": "Blocked"}}, identity="PYCP-1")
    code, output = await voltlab(
        "replay", str(LOG), "--csms", peer.url, "--speed", "10", "--json", cwd=tmp_path
    )
    assert code == 1, output
    run = json.loads(output[output.index("{") :])
    assert run["status"] == "diverged"
    [finding] = run["findings"]
    assert finding["kind"] == "answer-differs" and finding["action"] == "Authorize"
    assert finding["expected"]["frame"][2] == {"idTagInfo": {"status": "Accepted"}}
    assert finding["actual"]["frame"][2] == {"idTagInfo": {"status": "Blocked"}}

    code, output = await voltlab(
        "replay", str(LOG), "--csms", peer.url, "--speed", "10", cwd=tmp_path
    )
    assert code == 1, output
    assert "answer-differs" in output and "expected (capture)" in output
    assert "actual (CSMS)" in output and '"Blocked"' in output and "line 10" in output


async def test_a_capture_it_cannot_read_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"direction": "out", "frame": [2, "a", "Heartbeat", {}]}\nnot json\n')
    code, output = await voltlab(
        "replay", str(broken), "--csms", "ws://127.0.0.1:1/ocpp", "--identity", "CP-1",
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 2, output
    assert "body.capture: line 2: not JSON" in output
