"""The kill -9 scenarios of tests/e2e/test_serve_crash.py, run N times each, with the counts
issue 10 asks for: commands left queued/running after the restart, StopTransactions (2.x:
TransactionEvent Ended) per transaction, meterStop below a meter value the station sent.

    python3 bench/crash_loop.py [--runs 10] [--versions ocpp1.6,ocpp2.0.1] [--skip-burst]

Each run starts `voltlab serve` in a fresh temporary directory against a fresh strict ocpp-rpc
CSMS on loopback; every wait is bounded in time."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from e2e.crash_support import burst_killed, stop_then_killed  # noqa: E402
from peers.ocpp_rpc_peer import OcppRpcPeer  # noqa: E402


async def burst_runs(runs: int) -> int:
    bad = 0
    print("burst of 150 commands, kill -9 at 0.4 s, restart")
    print("run  before kill (queued/running/done)  after restart               open  interrupted")
    for run in range(1, runs + 1):
        with tempfile.TemporaryDirectory(prefix="voltlab-crash-") as workdir:
            async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as peer:
                outcome = await burst_killed(Path(workdir), peer)
        before = outcome.before_kill
        done = sum(v for k, v in before.items() if k not in ("queued", "running"))
        print(
            f"{run:>3}  {before.get('queued', 0):>3}/{before.get('running', 0):>3}/{done:>3}"
            f"{'':>22}{dict(sorted(outcome.after_restart.items()))!s:<28}"
            f"{outcome.open_after:>4}  {outcome.interrupted:>4}"
            f"   (settled {outcome.seconds_to_settle} s after healthy)"
        )
        bad += outcome.open_after > 0
    return bad


async def stop_runs(runs: int, version: str) -> int:
    bad = 0
    print(f"\n{version}: six sessions, stop-session on three, kill -9 when the first stop arrives")
    print("run  stopped before kill  stops per transaction  PowerLoss after  below sent  zero")
    for run in range(1, runs + 1):
        with tempfile.TemporaryDirectory(prefix="voltlab-crash-") as workdir:
            async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
                outcome = await stop_then_killed(Path(workdir), peer, version)
        per_tx = Counter(outcome.stops_per_transaction.values())
        shape = ", ".join(f"{count}x{stops}" for stops, count in sorted(per_tx.items()))
        print(
            f"{run:>3}  {outcome.stopped_before_kill:>19}  {shape:<21}  "
            f"{outcome.power_loss_after:>15}  {len(outcome.below_sent_meter):>10}  "
            f"{len(outcome.zero_after_energy):>4}"
        )
        for line in outcome.below_sent_meter:
            print(f"       below: {line}")
        for line in outcome.repeated_seq_no:
            print(f"       seqNo repeated: {line}")
        ok = (
            set(outcome.stops_per_transaction.values()) == {1}
            and outcome.transactions == 6
            and not outcome.below_sent_meter
            and not outcome.zero_after_energy
            and not outcome.repeated_seq_no
        )
        bad += not ok
    return bad


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--versions", default="ocpp1.6,ocpp2.0.1")
    parser.add_argument("--skip-burst", action="store_true")
    args = parser.parse_args()
    failures = {}
    if not args.skip_burst:
        failures["burst"] = await burst_runs(args.runs)
    for version in filter(None, args.versions.split(",")):
        failures[version] = await stop_runs(args.runs, version)
    print("\nruns with a defect:", failures)
    raise SystemExit(1 if any(failures.values()) else 0)


if __name__ == "__main__":
    asyncio.run(main())
