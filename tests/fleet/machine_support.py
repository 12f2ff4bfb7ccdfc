"""Helpers for driving the station machine in tests."""

from __future__ import annotations

from collections.abc import Sequence

from voltlab.fleet.machine.effects import Effect, SendCall
from voltlab.fleet.machine.events import CallAnswered, Connected, GatewayCommand
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import BootAnswer, BootRequest
from voltlab.fleet.machine.session_messages import (
    ChargingStateChanged,
    Received,
    ReportStatuses,
    StatusReport,
)

Report = StatusReport | ChargingStateChanged


def register(machine: StationMachine, at: float, *, report_all: bool = True) -> None:
    """Connect and have the BootNotification accepted, with a heartbeat a day away so that no
    heartbeat timer comes before the timers a test is about; then report every status, as
    the driver does once registered."""
    [boot] = machine.handle(Connected(), at)
    assert isinstance(boot, SendCall) and isinstance(boot.message, BootRequest)
    machine.handle(CallAnswered(boot.call_id or 0, BootAnswer("Accepted", 86_400, None)), at)
    assert machine.online
    if report_all:
        command = GatewayCommand(ReportStatuses(again=True))
        answer_statuses(machine, machine.handle(command, at), at)


def answer_statuses(
    machine: StationMachine, effects: Sequence[Effect], at: float
) -> tuple[list[Effect], list[Report]]:
    """Answer the status reports at the end of `effects` (and of what follows them) until
    the flow does something else: the other effects in order, and what was reported."""
    others: list[Effect] = []
    reports: list[Report] = []
    effects = list(effects)
    while effects:
        *before, last = effects
        others.extend(before)
        if isinstance(last, SendCall) and isinstance(
            last.message, StatusReport | ChargingStateChanged
        ):
            reports.append(last.message)
            effects = list(machine.handle(CallAnswered(last.call_id or 0, Received()), at))
        else:
            others.append(last)
            break
    return others, reports


def statuses(reports: Sequence[Report]) -> list[tuple[int, str]]:
    return [(r.connector_id, r.status) for r in reports if isinstance(r, StatusReport)]
