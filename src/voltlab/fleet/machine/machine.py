"""StationMachine: the one entry point of the station's behaviour (docs/station-machine.md).

`handle(event, now)` returns the effects to execute, in order; the machine never reads a
clock, awaits or touches a socket. Migration steps 1 and 2 so far: reservations, the local
list, the authorization cache, DataTransfer and ChangeAvailability; the other flows still live
in the runner."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.effects import Effect
from voltlab.fleet.machine.events import (
    CsmsRequest,
    DownloadDone,
    Event,
    FrameLogRead,
    GatewayCommand,
    TimerFired,
    TransferFailed,
    UploadDone,
)
from voltlab.fleet.machine.flows import (
    auth_cache,
    availability,
    data_transfer,
    local_list,
    reservations,
)
from voltlab.fleet.machine.flows.maintenance import Maintenance
from voltlab.fleet.machine.flows.maintenance_rules import MaintenancePacing
from voltlab.fleet.machine.maintenance_messages import GetLog, UpdateFirmware
from voltlab.fleet.machine.messages import (
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
    def __init__(
        self,
        station: Station,
        settings: MachineSettings,
        *,
        pacing: MaintenancePacing | None = None,
    ) -> None:
        self.station = station
        self.settings = settings
        self.maintenance = Maintenance(station, pacing or MaintenancePacing())

    def handle(self, event: Event, now: float) -> list[Effect]:
        if isinstance(event, CsmsRequest):
            return self._request(event.message, now)
        if isinstance(event, GatewayCommand):
            return self._command(event.message, from_csms=False)
        if isinstance(event, TimerFired) and reservations.owns_timer(event.name):
            return reservations.timer_fired(
                self.station, event.name, now, reports_ends=self.settings.reports_reservation_ends
            )
        if isinstance(event, TimerFired) and self.maintenance.owns_timer(event.name):
            return self.maintenance.timer_fired(event.name, now)
        if isinstance(event, DownloadDone | UploadDone | FrameLogRead | TransferFailed):
            return self.maintenance.transfer_outcome(event, now)
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
            return self._command(message, from_csms=True)
        if isinstance(message, UpdateFirmware | GetLog):
            return self.maintenance.request(message, now)
        raise UnhandledEvent(f"no flow handles {message!r}")

    def _command(self, message: GatewayCommandMessage, *, from_csms: bool) -> list[Effect]:
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
        raise UnhandledEvent(f"no flow handles {message!r}")
