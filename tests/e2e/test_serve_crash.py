"""`voltlab serve` killed in the middle of work (kill -9, SIGTERM) and started again, against
the strict ocpp-rpc CSMS: no command is left queued or running, no stop is repeated or
invented, a graceful stop loses no frame. The scenarios live in crash_support.py (the crash
loop in bench/ runs them ten times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer

from .crash_support import burst_killed, sigterm_during_sessions, stop_then_killed

# Runs of the burst scenario until one kill lands mid-burst (below).
BURST_ATTEMPTS = 3


async def test_burst_of_commands_killed_leaves_none_queued_or_running(tmp_path: Path) -> None:
    # The kill comes 0.4 s after the burst began, or once all 150 are accepted if that takes
    # longer. On a loaded machine the server can finish every command while it still accepts
    # the last ones, so the kill finds nothing pending (seen with two such tests at once). That
    # run must still leave nothing open; the scenario then runs again (a new server and CSMS),
    # and at least one of BURST_ATTEMPTS kills must come mid-burst.
    pending_at_kill = []
    for attempt in range(BURST_ATTEMPTS):
        workdir = tmp_path / f"attempt-{attempt}"
        workdir.mkdir()
        async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as peer:
            outcome = await burst_killed(workdir, peer)
        print(outcome)
        assert outcome.accepted == 150
        # running means started: at most one command per charger (ten chargers) at a time
        assert outcome.before_kill.get("running", 0) <= 10
        assert outcome.open_after == 0, outcome.after_restart
        assert sum(outcome.after_restart.values()) == 150
        assert set(outcome.after_restart) <= {"succeeded", "failed", "timed_out"}
        assert "Traceback" not in outcome.log, outcome.log
        pending_at_kill.append(
            outcome.before_kill.get("queued", 0) + outcome.before_kill.get("running", 0)
        )
        if pending_at_kill[-1] > 0:
            break
    # the kill really came mid-burst: some work was still pending
    assert pending_at_kill[-1] > 0, pending_at_kill


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_stop_that_reached_the_csms_is_never_repeated(tmp_path: Path, version: str) -> None:
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        outcome = await stop_then_killed(tmp_path, peer, version)
    print(outcome)
    assert outcome.stopped_before_kill >= 1
    assert outcome.transactions == 6
    assert set(outcome.stops_per_transaction.values()) == {1}, outcome.stops_per_transaction
    assert outcome.below_sent_meter == []
    assert outcome.zero_after_energy == []
    assert outcome.repeated_seq_no == []
    # the ones still charging at the kill were closed with PowerLoss after the restart
    assert outcome.power_loss_after >= 6 - 3
    assert outcome.strict_failures == 0


async def test_sigterm_during_100_sessions_exits_0_and_logs_every_frame(
    tmp_path: Path, peer16: OcppRpcPeer
) -> None:
    outcome = await sigterm_during_sessions(tmp_path, peer16, stations=100)
    print(
        f"exit {outcome.exit_code}, {outcome.frames_at_peer} frames at the peer, "
        f"{len(outcome.frames_missing)} missing, close codes {outcome.close_codes}"
    )
    assert outcome.exit_code == 0, outcome.log_tail
    assert not outcome.traceback_in_log, outcome.log_tail
    assert outcome.frames_at_peer > 100 * 5
    assert outcome.frames_missing == [], outcome.frames_missing[:10]
    assert outcome.close_codes == {1001: 100}
