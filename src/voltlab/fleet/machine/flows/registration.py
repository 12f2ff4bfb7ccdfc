"""Registration and heartbeat: on every connection the station sends BootNotification until
the CSMS accepts it (Pending/Rejected: again after the interval the CSMS gave; no answer: after
DEFAULT_RETRY_INTERVAL), and nothing else before; once accepted it adopts the interval as
HeartbeatInterval and sends Heartbeat every HeartbeatInterval seconds. TriggerMessage asks
for either message again (`triggered`, from flows/triggers); a HeartbeatInterval change
re-arms the heartbeat timer.

Timers: `boot` (the next BootNotification) and `heartbeat` (the next Heartbeat). Flows read
the time through `now` because they are resumed at the instant the answer arrives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voltlab.fleet.machine import csms_rules
from voltlab.fleet.machine.effects import (
    CancelTimer,
    Effect,
    Persist,
    Registered,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.events import (
    ConfigurationChanged,
    Connected,
    Disconnected,
    Event,
    Rebooting,
    TimerFired,
)
from voltlab.fleet.machine.flow import Call, CallFailure, Flow, FlowStepper, no_result
from voltlab.fleet.machine.messages import (
    BootAnswer,
    BootRequest,
    HeartbeatRequest,
    RegistrationStatus,
)
from voltlab.fleet.model.station import Station

BOOT_TIMER = "boot"
HEARTBEAT_TIMER = "heartbeat"
DEFAULT_RETRY_INTERVAL = 30  # seconds before booting again when the CSMS gave no interval
# Nothing waits for a Heartbeat's answer: its currentTime is not adopted (see `boot`), and it
# is an idle fleet's most frequent CALL.
HEARTBEAT = SendCall(HeartbeatRequest())
Now = Callable[[], float]


@dataclass(slots=True)
class Registration:
    """The station's standing with its CSMS."""

    connected: bool = False
    # The last BootNotification answer on this connection (None: none yet).
    status: RegistrationStatus | None = None
    # Counts connections: an answer that arrives for an earlier one changes nothing.
    connection: int = 0
    # Why the next boot happens (2.x BootNotification reason).
    boot_reason: str = "PowerUp"
    # Why the last BootNotification brought no answer (live state).
    last_error: str | None = None

    @property
    def online(self) -> bool:
        """Connected and accepted: messages other than BootNotification may be sent."""
        return self.connected and self.status == "Accepted"


def owns(event: Event) -> bool:
    if isinstance(event, TimerFired):
        return event.name in (BOOT_TIMER, HEARTBEAT_TIMER)
    return isinstance(event, Connected | Disconnected | ConfigurationChanged | Rebooting)


def handle(
    reg: Registration, station: Station, flows: FlowStepper, event: Event, now: Now
) -> list[Effect]:
    """The machine's entry for the events `owns` says are registration's."""
    if isinstance(event, Disconnected):
        return disconnected(reg)
    if isinstance(event, Rebooting):
        reg.boot_reason = event.reason
        return []
    if isinstance(event, ConfigurationChanged):
        return configuration_changed(reg, station, event.key, now())
    if isinstance(event, Connected):
        flow = connected(reg, station, now)
    elif isinstance(event, TimerFired) and event.name == BOOT_TIMER:
        flow = boot_due(reg, station, now)
    else:
        return heartbeat_due(reg, station, now())
    return flows.start(flow, no_result)


def boot_request(station: Station, reason: str) -> BootRequest:
    model = station.model
    return BootRequest(
        vendor=model.vendor,
        model=model.model,
        serial_number=station.identity,
        firmware_version=station.firmware_version,
        meter_type=f"{model.vendor} {model.current_type} meter",
        reason=reason,
    )


def connected(reg: Registration, station: Station, now: Now) -> Flow[None]:
    """A new connection: not registered on it yet, so boot."""
    reg.connected = True
    reg.connection += 1
    reg.status = None
    reg.last_error = None
    yield from boot(reg, station, now, reg.boot_reason)


def disconnected(reg: Registration) -> list[Effect]:
    reg.connected = False
    reg.status = None
    return [CancelTimer(BOOT_TIMER), CancelTimer(HEARTBEAT_TIMER), Persist()]


def boot(reg: Registration, station: Station, now: Now, reason: str) -> Flow[None]:
    connection = reg.connection
    answer = yield Call(boot_request(station, reason))
    if not reg.connected or reg.connection != connection:
        return  # the connection it was sent on is gone; the next one boots anew
    if isinstance(answer, CallFailure):
        if answer.reason in ("not_connected", "connection_lost"):
            return  # `Disconnected` follows
        reg.last_error = f"BootNotification failed: {answer.detail or answer.reason}"
        yield Persist()
        if not reg.online:  # a triggered boot that failed leaves an accepted station as it was
            yield SetTimer(BOOT_TIMER, now() + DEFAULT_RETRY_INTERVAL)
        return
    assert isinstance(answer, BootAnswer)
    observed = csms_rules.boot_interval(answer)
    if observed is not None:
        yield observed
    was_online = reg.online
    reg.status = answer.status
    if answer.status != "Accepted":
        # Not registered (again): nothing but BootNotification until accepted.
        yield Persist()
        yield CancelTimer(HEARTBEAT_TIMER)
        yield SetTimer(BOOT_TIMER, now() + (answer.interval or DEFAULT_RETRY_INTERVAL))
        return
    reg.boot_reason = "PowerUp"
    if answer.interval > 0:
        station.config.set_local("HeartbeatInterval", str(answer.interval))
    # currentTime is not adopted: every station of a fleet runs on the fleet's one clock.
    yield Persist()
    yield CancelTimer(BOOT_TIMER)
    yield schedule_heartbeat(station, now())
    if not was_online:
        yield Registered()


def boot_due(reg: Registration, station: Station, now: Now) -> Flow[None]:
    if reg.connected and not reg.online:
        yield from boot(reg, station, now, reg.boot_reason)


def schedule_heartbeat(station: Station, now: float) -> Effect:
    interval = station.config.get_int("HeartbeatInterval")
    if interval > 0:
        return SetTimer(HEARTBEAT_TIMER, now + interval)
    return CancelTimer(HEARTBEAT_TIMER)


def heartbeat_due(reg: Registration, station: Station, now: float) -> list[Effect]:
    if not reg.online:
        return []
    # The next one is armed first, so a slow answer does not delay it.
    return [schedule_heartbeat(station, now), HEARTBEAT]


def triggered(reg: Registration, station: Station, now: Now, requested: str) -> Flow[None]:
    """TriggerMessage: a BootNotification on the open connection (registered or not), or a
    Heartbeat once accepted."""
    if requested == "BootNotification" and reg.connected:
        yield from boot(reg, station, now, "Triggered")
    elif requested == "Heartbeat" and reg.online:
        yield HEARTBEAT


def configuration_changed(
    reg: Registration, station: Station, key: str, now: float
) -> list[Effect]:
    if key == "HeartbeatInterval" and reg.online:
        return [schedule_heartbeat(station, now)]
    return []
