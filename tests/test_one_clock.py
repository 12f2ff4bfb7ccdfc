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
from voltlab.fleet.hosting.persistence import FleetWriter
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.store import repo
from voltlab.store.clock_state import load_clock_reading, save_clock_reading
from voltlab.store.db import Database
from voltlab.store.models import Charger

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


def test_no_event_loop_clock_reads_outside_the_clock_module() -> None:
    found = {
        str(path.relative_to(SRC)): lines
        for path in SRC.rglob("*.py")
        if path.name != "clock.py" and (lines := _loop_clock_reads(path))
    }
    assert found == {}


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


# -- the stored reading: the fleet resumes from it and keeps it current ---------------------


def _stored(database: Database) -> ClockReading | None:
    with database.session() as session:
        return load_clock_reading(session)


async def test_the_fleet_resumes_from_the_stored_reading_and_stores_its_own(
    database: Database,
) -> None:
    wall = wall_time()
    with database.session() as session:
        save_clock_reading(session, ClockReading(wall + 3600.0, wall, 100.0))
    fleet = FleetRuntime(database, Clock(100.0))
    await fleet.start()
    try:
        resumed = fleet.clock.now()
        assert resumed >= wall + 3600.0  # an hour ahead of the wall clock, as it was left
        started = _stored(database)
        assert started is not None and started.simulated >= wall + 3600.0
    finally:
        await fleet.shutdown()
    stopped = _stored(database)
    assert stopped is not None and stopped.simulated >= resumed
    assert stopped.time_scale == 100.0


async def test_at_scale_one_the_fleet_runs_on_the_wall_clock(database: Database) -> None:
    wall = wall_time()
    with database.session() as session:
        save_clock_reading(session, ClockReading(wall + 3600.0, wall, 100.0))
    fleet = FleetRuntime(database, Clock(1.0))
    await fleet.start()
    try:
        assert abs(fleet.clock.now() - wall_time()) < 60
    finally:
        await fleet.shutdown()
    stopped = _stored(database)
    assert stopped is not None and stopped.time_scale == 1.0
    assert abs(stopped.simulated - stopped.wall) < 60


async def test_a_flush_with_frames_stores_the_clock_reading(database: Database) -> None:
    with database.session() as session:
        save_clock_reading(session, ClockReading(1.0, 1.0, 100.0))
    reading = ClockReading(simulated=2_000_000_000.0, wall=1_900_000_000.0, time_scale=100.0)
    writer = FleetWriter(database, lambda charger_id: None, lambda: reading)
    await writer.flush()  # nothing buffered: no write
    assert _stored(database) == ClockReading(1.0, 1.0, 100.0)
    with database.session() as session:
        org = repo.get_or_create_org(session, "clock")
        session.add(
            Charger(
                id="ch_clock",
                org_id=org.id,
                identity="CP-CLOCK",
                csms_url="ws://127.0.0.1:9/ocpp",
                ocpp_version="ocpp1.6",
                model="ac-7kw-1c",
            )
        )
    writer.frame("ch_clock", reading.simulated, "out", '[2,"1","Heartbeat",{}]')
    await writer.flush()
    assert _stored(database) == reading
