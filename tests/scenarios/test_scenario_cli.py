"""`voltlab scenario ...` as a user runs it: a child process that embeds the server (or talks to
a `voltlab serve`), the strict ocpp-rpc CSMS as the target, the JUnit file read by junitparser."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml
from typer.testing import CliRunner

from e2e.serve_support import API_KEY, ServeProcess, free_port
from peers.ocpp_rpc_peer import OcppRpcPeer
from voltlab.cli import app as cli
from voltlab.scenarios.library import library

SRC = Path(__file__).resolve().parents[2] / "src"


def python_path() -> str:
    """This tree's sources first: the children run elsewhere (a relative PYTHONPATH=src would
    not reach them, and the installed package may be another checkout's)."""
    return os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])


async def voltlab(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = python_path()
    environment.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voltlab",
        *args,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 180)
    return int(proc.returncode or 0), output.decode()


async def test_boot_storm_embedded_writes_junit(tmp_path: Path) -> None:
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as csms:
        code, output = await voltlab(
            "scenario", "run", "boot-storm",
            "--csms", f"ws://127.0.0.1:{csms.port}/ocpp",
            "--ocpp-version", "ocpp1.6",
            "--junit", "out.xml",
            cwd=tmp_path,
            VOLTLAB_TIME_SCALE="60",
        )  # fmt: skip
        assert code == 0, output
        assert "boot-storm: passed" in output
        # the live display named each step as it ended
        assert "every station registered" in output
        assert len(csms.calls(None, "BootNotification")) == 20
    xml = JUnitXml.fromfile(str(tmp_path / "out.xml"))
    suites = list(xml)
    assert [suite.name for suite in suites] == ["boot-storm"]
    cases = list(suites[0])
    assert len(cases) == len(library()["boot-storm"].steps)
    assert suites[0].tests == len(cases) and suites[0].failures == 0 and suites[0].errors == 0
    assert all(case.classname == "voltlab.scenarios.boot-storm" for case in cases)
    # the JUnit schema's timestamp: a date-time without zone or fraction
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suites[0].timestamp)
    outcomes = [type(r) for case in cases for r in case.result]
    assert outcomes == [], outcomes  # no failure, error or skipped step
    names = [case.name for case in cases]
    assert "no finding of severity error" in names and "no finding csms-boot-interval" in names


async def test_a_failing_run_exits_1_with_the_failure_in_junit(tmp_path: Path) -> None:
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as csms:
        await csms.set_boot("Rejected", interval=60)
        code, output = await voltlab(
            "scenario", "run", "boot-storm",
            "--csms", csms.url,
            "--param", "stations=4",
            "--junit", str(tmp_path / "out.xml"),
            "--report", str(tmp_path / "report.md"),
            "--time-scale", "60",
            cwd=tmp_path,
        )  # fmt: skip
    assert code == 1, output
    assert "boot-storm: failed" in output
    assert len(csms.calls(None, "BootNotification")) >= 4
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "out.xml"))))
    assert suite.failures == 1
    failure = next(r for case in suite for r in case.result if isinstance(r, Failure))
    assert "with status 'Rejected', expected 'Accepted'" in failure.message
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Scenario `boot-storm`: FAILED")
    assert "expected 'Accepted'" in report


async def test_run_against_a_server_with_a_scenario_file(tmp_path: Path) -> None:
    scenario = tmp_path / "mine.yaml"
    scenario.write_text(
        "name: two-boots\n"
        "steps:\n"
        "  - do: create_chargers\n"
        "    count: 2\n"
        "  - do: expect_answer\n"
        "    action: BootNotification\n"
        "    status: Accepted\n"
    )
    server = ServeProcess(tmp_path, free_port(), PYTHONPATH=python_path())
    server.start()
    try:
        await server.wait_healthy()
        async with OcppRpcPeer(protocols=("ocpp2.0.1",), strict=True) as csms:
            code, output = await voltlab(
                "scenario", "run", str(scenario),
                "--csms", csms.url, "--ocpp-version", "ocpp2.0.1",
                "--server", server.base,
                cwd=tmp_path,
                VOLTLAB_KEY=API_KEY,
            )  # fmt: skip
            assert code == 0, output + server.read_log()
            assert "two-boots: passed" in output
            assert len(csms.calls(None, "BootNotification")) == 2
    finally:
        server.stop()


def test_list_and_bad_files(tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["scenario", "list"])
    assert listed.exit_code == 0, listed.output
    for name in library():
        assert name in listed.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nsteps:\n  - do: advance_time\n    seconds: -5\n")
    result = runner.invoke(
        cli, ["scenario", "run", str(bad), "--csms", "ws://127.0.0.1:1/ocpp", "--time-scale", "1"]
    )
    assert result.exit_code == 2
    # the inline scenario is refused by the API with the field named
    assert "steps" in result.output and "seconds" in result.output


@pytest.mark.parametrize("missing", ["nope", "./no-such-file.yaml"])
def test_unknown_scenario(missing: str) -> None:
    result = CliRunner().invoke(cli, ["scenario", "run", missing, "--csms", "ws://x:1/o"])
    assert result.exit_code == 2
    assert "neither a library scenario" in result.output
