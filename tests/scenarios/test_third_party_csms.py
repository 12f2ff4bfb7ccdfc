"""The library scenarios against a CSMS nobody on the project wrote (PyPI `ocpp-csms`, 1.6,
installed by the test setup in a venv of its own): what it supports passes with no finding of
any severity, and a scenario that needs what it does not do fails at that step, saying so."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from peers.ocpp_csms_peer import ThirdPartyCsms
from scenarios.conftest import Lab, explain, failed_step


@pytest.fixture
async def peer() -> AsyncIterator[ThirdPartyCsms]:
    """The `lab` fixture's system under test: here the third-party CSMS."""
    async with ThirdPartyCsms() as csms:
        yield csms


@pytest.mark.parametrize("scenario", ["boot-storm", "fault-mid-charge", "offline-queue-drain"])
async def test_what_it_supports_passes_with_no_finding(lab: Lab, scenario: str) -> None:
    run = await lab.run(scenario, "ocpp1.6")
    assert run["verdict"] == "passed", explain(run)
    assert run["findings_available"] is True
    assert run["findings"] == []  # of any severity: it keeps every rule voltlab checks here


async def test_a_csms_that_accepts_at_once_fails_boot_pending_at_its_first_check(
    lab: Lab,
) -> None:
    run = await lab.run("boot-pending-accepted", "ocpp1.6")
    assert run["verdict"] == "failed"
    step = failed_step(run)
    assert step["name"] == "first boot answered Pending with an interval", explain(run)
    assert "Accepted" in step["message"], step["message"]
    assert run["findings"] == []
