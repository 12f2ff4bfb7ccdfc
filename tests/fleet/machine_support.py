"""Helpers for driving the station machine in tests."""

from __future__ import annotations

from voltlab.fleet.machine.effects import SendCall
from voltlab.fleet.machine.events import CallAnswered, Connected
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import BootAnswer, BootRequest


def register(machine: StationMachine, at: float) -> None:
    """Connect and have the BootNotification accepted, with a heartbeat a day away so that no
    heartbeat timer comes before the timers a test is about."""
    [boot] = machine.handle(Connected(), at)
    assert isinstance(boot, SendCall) and isinstance(boot.message, BootRequest)
    machine.handle(CallAnswered(boot.call_id or 0, BootAnswer("Accepted", 86_400, None)), at)
    assert machine.online
