"""What comes into the station machine. Every event is handled at a `now` the driver passes."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.messages import (
    CsmsRequestMessage,
    GatewayCommandMessage,
    StationAnswerMessage,
)


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


@dataclass(frozen=True)
class CallAnswered:
    """The CSMS answered the call a flow waits for (`SendCall.call_id`), decoded by the codec."""

    call_id: int
    answer: StationAnswerMessage


@dataclass(frozen=True)
class CallFailed:
    """The call a flow waits for brought no answer (see `flow.FailureReason`)."""

    call_id: int
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Connected:
    """The link opened a WebSocket to the CSMS; nothing is sent on it yet. The machine
    boots (registration is per connection)."""


@dataclass(frozen=True)
class Disconnected:
    """The connection is gone. Calls still on their way fail by themselves (`CallFailed`)."""


@dataclass(frozen=True)
class Triggered:
    """TriggerMessage asked for `requested` and its Accepted is on the wire; the machine sends
    what it owns (BootNotification, Heartbeat). The adapters answer TriggerMessage until it
    moves into the machine."""

    requested: str


@dataclass(frozen=True)
class ConfigurationChanged:
    """A configuration value changed (ChangeConfiguration, SetVariables, the gateway): what
    depends on it follows (HeartbeatInterval: the heartbeat timer)."""

    key: str


@dataclass(frozen=True)
class Rebooting:
    """The station is about to restart (Reset): its next BootNotification says `reason`."""

    reason: str


Event = (
    CsmsRequest
    | TimerFired
    | GatewayCommand
    | CallAnswered
    | CallFailed
    | Connected
    | Disconnected
    | Triggered
    | ConfigurationChanged
    | Rebooting
)
