"""StationMachine: the one entry point of the station's behaviour (docs/station-machine.md).

`handle(event, now)` returns the effects to execute, in order; the machine never reads a
clock, awaits or touches a socket. Migration step 1: reservations; the other flows still live
in the runner."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.effects import Effect
from voltlab.fleet.machine.events import CsmsRequest, Event, TimerFired
from voltlab.fleet.machine.flows import reservations
from voltlab.fleet.machine.messages import CancelReservation, ReserveNow
from voltlab.fleet.station import Station


@dataclass(frozen=True)
class MachineSettings:
    """What differs between OCPP versions as behaviour, decided once per station."""

    # 2.x sends ReservationStatusUpdate when a reservation expires; 1.6 has no such message.
    reports_reservation_ends: bool


class UnhandledEvent(TypeError):
    """An event the machine has no flow for: a driver bug, never a CSMS's fault."""


class StationMachine:
    def __init__(self, station: Station, settings: MachineSettings) -> None:
        self.station = station
        self.settings = settings

    def handle(self, event: Event, now: float) -> list[Effect]:
        if isinstance(event, CsmsRequest):
            return self._request(event, now)
        if isinstance(event, TimerFired) and reservations.owns_timer(event.name):
            return reservations.timer_fired(
                self.station, event.name, now, reports_ends=self.settings.reports_reservation_ends
            )
        raise UnhandledEvent(f"no flow handles {event!r}")

    def _request(self, event: CsmsRequest, now: float) -> list[Effect]:
        message = event.message
        if isinstance(message, ReserveNow):
            return reservations.reserve_now(
                self.station, message, now, reports_ends=self.settings.reports_reservation_ends
            )
        if isinstance(message, CancelReservation):
            return reservations.cancel_reservation(self.station, message)
        raise UnhandledEvent(f"no flow handles {message!r}")
