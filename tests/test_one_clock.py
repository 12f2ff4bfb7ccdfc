"""One clock: only src/voltlab/clock.py reads the time (issue 11), and simulated time resumes
where the previous process left it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from voltlab.clock import Clock, ClockReading, resumed_origin, wall_time

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "voltlab"

# Every form of reading the time that the ruff rule must refuse, one per line.
VIOLATIONS = """\
import datetime as dt
import time
from datetime import UTC, date, datetime
from time import monotonic as mono

time.time()
time.monotonic()
time.time_ns()
time.perf_counter()
datetime.now(UTC)
datetime.utcnow()
datetime.today()
date.today()
dt.datetime.now(dt.UTC)
mono()
time.strftime("%H:%M")
default_clock = time.time
"""
# `mono()` (line 15) is refused where `monotonic` is imported under that name (line 4).
VIOLATION_LINES = [
    n for n, line in enumerate(VIOLATIONS.splitlines(), 1) if n >= 6 and line != "mono()"
]


def _banned_lines(pretend_path: str) -> list[int]:
    """Lines of VIOLATIONS that ruff, configured by pyproject.toml, flags as TID251 when the
    text is checked as if it were the file at `pretend_path`."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "json"]
        + ["--stdin-filename", pretend_path, "-"],
        input=VIOLATIONS,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    findings = json.loads(result.stdout)
    return sorted({f["location"]["row"] for f in findings if f["code"] == "TID251"})


def test_ruff_refuses_time_reads_outside_the_clock_module() -> None:
    assert _banned_lines("src/voltlab/cpo/example.py") == [4, *VIOLATION_LINES]


def test_the_clock_module_may_read_the_time() -> None:
    assert _banned_lines("src/voltlab/clock.py") == []


def _loop_clock_reads(path: Path) -> list[int]:
    """`loop.time()` / `get_running_loop().time()`: the event loop's clock, which ruff's
    banned-api rule cannot see (it is a method of an object, not a module's function)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and not node.args
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "time"
            and "loop" in ast.unparse(node.func.value)
        ):
            lines.append(node.lineno)
    return lines


# api/virtual_cpos.py's shutdown grace period still reads the loop's clock (it is being
# reworked for the bounded shutdown drain); it moves to voltlab.clock.monotonic with it.
LOOP_CLOCK_ALLOWED = {"api/virtual_cpos.py"}


def test_no_event_loop_clock_reads_outside_the_clock_module() -> None:
    found = {
        str(path.relative_to(SRC)): lines
        for path in SRC.rglob("*.py")
        if path.name != "clock.py" and (lines := _loop_clock_reads(path))
    }
    assert set(found) <= LOOP_CLOCK_ALLOWED, found


def test_the_loop_clock_check_finds_a_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import asyncio\nx = asyncio.get_running_loop().time() + 1\n")
    assert _loop_clock_reads(sample) == [2]


# -- resuming simulated time after a restart ------------------------------------------------


def test_first_start_and_scale_one_are_the_wall_clock() -> None:
    assert resumed_origin(1000.0, 60.0, None) == 1000.0
    ahead = ClockReading(simulated=50_000.0, wall=990.0, time_scale=60.0)
    # Scale 1 is the wall clock even after a faster run left simulated time far ahead.
    assert resumed_origin(1000.0, 1.0, ahead) == 1000.0


def test_a_faster_run_continues_through_the_downtime_at_its_scale() -> None:
    last = ClockReading(simulated=5000.0, wall=990.0, time_scale=60.0)
    # 10 real seconds down at scale 60: 600 simulated seconds later, whatever the new scale.
    assert resumed_origin(1000.0, 60.0, last) == 5600.0
    assert resumed_origin(1000.0, 10.0, last) == 5600.0


def test_never_earlier_than_the_wall_clock_nor_the_last_reading() -> None:
    behind = ClockReading(simulated=900.0, wall=950.0, time_scale=2.0)
    assert resumed_origin(1000.0, 2.0, behind) == 1000.0  # 900 + 50 * 2 = 1000, not behind
    stepped_back = ClockReading(simulated=5000.0, wall=2000.0, time_scale=60.0)
    # The wall clock was set back below the last reading's: no negative downtime.
    assert resumed_origin(1000.0, 60.0, stepped_back) == 5000.0


def test_clock_resume_moves_now_and_readings_forward() -> None:
    last = ClockReading(simulated=wall_time() + 86_400.0, wall=wall_time(), time_scale=100.0)
    clock = Clock(100.0)
    assert clock.now() < last.simulated
    clock.resume(last)
    now = clock.now()
    assert now >= last.simulated
    assert now < last.simulated + 3600  # continued, not wildly ahead
    reading = clock.reading()
    assert reading.simulated >= now and reading.time_scale == 100.0
    wall = Clock(1.0)
    wall.resume(last)
    assert abs(wall.now() - wall_time()) < 5  # scale 1 stays the wall clock


def test_time_scale_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Clock(0)
