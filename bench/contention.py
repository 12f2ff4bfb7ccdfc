"""Run a command (the test suite by default) while busy loops saturate the CPUs.

Starts N busy-loop processes (one per core by default), each bounded in time so none can
outlive the run, runs the command K times in a row (stopping at the first failure), then
stops the busy loops by the PIDs it recorded: SIGTERM, then SIGKILL. Cleanup also runs on
Ctrl-C, SIGTERM and interpreter exit. Exits with the command's exit code.

    python3 bench/contention.py [--loops N] [--runs K] [--max-seconds S] [-- CMD ...]
    python3 bench/contention.py --runs 3 -- python3 -m pytest -q -p no:cacheprovider tests/fleet
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import subprocess
import sys
import time
from types import FrameType

DEFAULT_COMMAND = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

# The busy loop checks the deadline every million iterations so its own exit costs nothing.
BUSY_LOOP = (
    "import time\n"
    "deadline = time.monotonic() + {seconds}\n"
    "while time.monotonic() < deadline:\n"
    "    for _ in range(1_000_000):\n"
    "        pass\n"
)


class BusyLoops:
    """Busy-loop child processes, remembered by PID and stopped only by that PID."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int, max_seconds: float) -> None:
        code = BUSY_LOOP.format(seconds=float(max_seconds))
        for _ in range(count):
            process = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.processes.append(process)
        pids = ", ".join(str(process.pid) for process in self.processes)
        print(f"contention: {count} busy loop(s) started, PIDs {pids}", flush=True)

    def stop(self, grace_seconds: float = 3.0) -> None:
        if not self.processes:
            return
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in self.processes:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        pids = ", ".join(str(process.pid) for process in self.processes)
        print(f"contention: busy loops stopped, PIDs {pids}", flush=True)
        self.processes = []


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--loops",
        type=int,
        default=os.cpu_count() or 1,
        help="busy-loop processes (default: one per core)",
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="run the command this many times in a row"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=3600.0,
        help="each busy loop stops by itself after this long (default 3600)",
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="command to run after `--` (default: pytest -q -p no:cacheprovider); "
        "arguments not starting with a command are appended to the default pytest",
    )
    arguments = parser.parse_args(argv)
    command = list(arguments.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        command = list(DEFAULT_COMMAND)
    elif command[0].startswith("-") or os.path.exists(command[0].split("::")[0]):
        # Options or test paths only: pass them through to the default pytest.
        command = list(DEFAULT_COMMAND) + command
    arguments.command = command
    if arguments.loops < 0 or arguments.runs < 1 or arguments.max_seconds <= 0:
        parser.error("--loops must be >= 0, --runs >= 1, --max-seconds > 0")
    return arguments


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    loops = BusyLoops()
    atexit.register(loops.stop)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        loops.stop()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    results: list[tuple[int, int, float]] = []
    exit_code = 0
    try:
        loops.start(arguments.loops, arguments.max_seconds)
        for run in range(1, arguments.runs + 1):
            print(
                f"contention: run {run}/{arguments.runs}: {' '.join(arguments.command)}", flush=True
            )
            started = time.monotonic()
            exit_code = subprocess.call(arguments.command)
            elapsed = time.monotonic() - started
            results.append((run, exit_code, elapsed))
            verdict = "pass" if exit_code == 0 else f"FAIL (exit {exit_code})"
            print(f"contention: run {run}: {verdict} in {elapsed:.1f} s", flush=True)
            if exit_code != 0:
                break
    except KeyboardInterrupt:
        exit_code = 130
    finally:
        loops.stop()
    for run, code, elapsed in results:
        verdict = "pass" if code == 0 else f"FAIL (exit {code})"
        print(f"contention: summary run {run}: {verdict}, {elapsed:.1f} s")
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
