"""StationMachine: the one entry point of the station's behaviour (docs/station-machine.md).

`handle(event, now)` returns the effects to execute, in order; the machine never reads a
clock, awaits or touches a socket. Flows that wait for the CSMS are generators
(`machine.flow`): the machine keeps them under a call id until the answer comes back as an
event. Migrated so far: reservations, the local list, the authorization cache, DataTransfer,
ChangeAvailability, authorization, registration and heartbeat; the other flows still live in
the runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from voltlab.fleet.machine.effects import Answer, Effect
from voltlab.fleet.machine.events import (
    CallAnswered,
    CallFailed,
    CsmsRequest,
    Event,
    GatewayCommand,
    TimerFired,
)
from voltlab.fleet.machine.flow import CallFailure, FailureReason, FlowStepper
from voltlab.fleet.machine.flows import (
    auth_cache,
    authorization,
    availability,
    data_transfer,
    local_list,
    registration,
    reservations,
)
from voltlab.fleet.machine.messages import (
    AuthorizationDecision,
    AuthorizeIdTag,
    CancelReservation,
    ChangeAvailability,
    ClearCache,
    ClearLocalList,
    CsmsRequestMessage,
    DataTransfer,
    GatewayCommandMessage,
    GetLocalListVersion,
    ReserveNow,
    SendLocalList,
)
from voltlab.fleet.station import Station


@dataclass(frozen=True)
class MachineSettings:
    """What differs between OCPP versions as behaviour, decided once per station."""

    # 2.x sends ReservationStatusUpdate when a reservation expires; 1.6 has no such message.
    reports_reservation_ends: bool
    # 1.6 answers GetLocalListVersion with -1 while LocalAuthListEnabled is false; 2.x has no
    # such answer.
    hides_disabled_local_list: bool = False
    # 2.x rejects ClearCache while the cache is disabled; 1.6 always clears it.
    clear_cache_needs_enabled_cache: bool = False


class UnhandledEvent(TypeError):
    """An event the machine has no flow for: a driver bug, never a CSMS's fault."""


class StationMachine:
    def __init__(self, station: Station, settings: MachineSettings) -> None:
        self.station = station
        self.settings = settings
        self.registration = registration.Registration()
        self.flows = FlowStepper()
        # The instant of the event being handled: a flow resumed by an answer reads it.
        self.now = 0.0

    @property
    def online(self) -> bool:
        """Connected and accepted by the CSMS."""
        return self.registration.online

    def handle(self, event: Event, now: float) -> list[Effect]:
        self.now = now
        if registration.owns(event):
            return registration.handle(
                self.registration, self.station, self.flows, event, lambda: self.now
            )
        if isinstance(event, CsmsRequest):
            return self._request(event.message, now)
        if isinstance(event, GatewayCommand):
            return self._command(event.message, now, from_csms=False)
        if isinstance(event, CallAnswered):
            return self.flows.resume(event.call_id, event.answer)
        if isinstance(event, CallFailed):
            reason = cast(FailureReason, event.reason)
            return self.flows.resume(event.call_id, CallFailure(reason, event.detail))
        if isinstance(event, TimerFired) and reservations.owns_timer(event.name):
            return reservations.timer_fired(
                self.station, event.name, now, reports_ends=self.settings.reports_reservation_ends
            )
        raise UnhandledEvent(f"no flow handles {event!r}")

    def _request(self, message: CsmsRequestMessage, now: float) -> list[Effect]:
        if isinstance(message, ReserveNow):
            return reservations.reserve_now(
                self.station, message, now, reports_ends=self.settings.reports_reservation_ends
            )
        if isinstance(message, CancelReservation):
            return reservations.cancel_reservation(self.station, message)
        if isinstance(message, GetLocalListVersion):
            return local_list.get_local_list_version(
                self.station, message, hides_disabled_list=self.settings.hides_disabled_local_list
            )
        if isinstance(message, ChangeAvailability):
            return availability.change_availability(self.station, message, now)
        if isinstance(message, DataTransfer):
            return data_transfer.data_transfer(message)
        if isinstance(message, SendLocalList | ClearCache):
            return self._command(message, now, from_csms=True)
        raise UnhandledEvent(f"no flow handles {message!r}")

    def _command(
        self, message: GatewayCommandMessage, now: float, *, from_csms: bool
    ) -> list[Effect]:
        """What the CSMS and the gateway may both ask for, decided the same way (except that
        the gateway's cache reset clears a disabled cache too, as it always did)."""
        if isinstance(message, SendLocalList):
            return local_list.send_local_list(self.station, message)
        if isinstance(message, ClearLocalList):
            return local_list.clear_local_list(self.station, message)
        if isinstance(message, ClearCache):
            return auth_cache.clear_cache(
                self.station,
                message,
                needs_enabled_cache=from_csms and self.settings.clear_cache_needs_enabled_cache,
            )
        if isinstance(message, AuthorizeIdTag):
            flow = authorization.authorize(self.station, message.id_tag, now, online=self.online)
            return self.flows.start(flow, _answer_with)
        raise UnhandledEvent(f"no flow handles {message!r}")


def _answer_with(decision: AuthorizationDecision) -> list[Effect]:
    return [Answer(decision)]
