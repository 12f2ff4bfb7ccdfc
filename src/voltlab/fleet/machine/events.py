"""What comes into the station machine. Every event is handled at a `now` the driver passes."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.messages import CsmsRequestMessage, GatewayCommandMessage


@dataclass(frozen=True)
class CsmsRequest:
    """A CSMS request, decoded by the version's codec; its answer is an `Answer` effect."""

    message: CsmsRequestMessage


@dataclass(frozen=True)
class TimerFired:
    """A timer the machine set (`SetTimer`) reached its instant."""

    name: str


@dataclass(frozen=True)
class GatewayCommand:
    """A command from the Gateway API the machine decides on; its `Answer` is the result."""

    message: GatewayCommandMessage


Event = CsmsRequest | TimerFired | GatewayCommand
