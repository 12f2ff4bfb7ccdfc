"""Reservations: ReserveNow, CancelReservation and the expiry timer.

The station model (`fleet/model/reservations.py`) decides whether a reservation is accepted; this
flow adds what happens around it: the expiry timer, storing the change, reporting the
connector status and, where the version has a message for it, telling the CSMS that a
reservation expired."""

from __future__ import annotations

from typing import cast

from voltlab.fleet.machine.effects import (
    Answer,
    CancelTimer,
    Effect,
    Persist,
    ReportStatus,
    SendCall,
    SetTimer,
)
from voltlab.fleet.machine.messages import (
    CancelReservation,
    CancelReservationAnswer,
    ReservationEnded,
    ReserveNow,
    ReserveNowAnswer,
    ReserveStatus,
)
from voltlab.fleet.model.records import Reservation
from voltlab.fleet.model.station import Station

TIMER_PREFIX = "reservation:"


def timer_name(reservation_id: int) -> str:
    return f"{TIMER_PREFIX}{reservation_id}"


def owns_timer(name: str) -> bool:
    return name.startswith(TIMER_PREFIX)


def reserve_now(
    station: Station, request: ReserveNow, now: float, *, reports_ends: bool
) -> list[Effect]:
    # Reservations already due end first, announced as if their timers had fired.
    before, after = _expire(station, now, reports_ends, fired=None)
    status = _decide(station, request, now)
    if status == "Accepted":
        before += [SetTimer(timer_name(request.reservation_id), request.expires_at), Persist()]
        if not after:
            after.append(ReportStatus())
    return [*before, Answer(ReserveNowAnswer(status)), *after]


def _decide(station: Station, request: ReserveNow, now: float) -> ReserveStatus:
    if request.connector_type is not None and request.connector_id:
        conn = station.connectors.get(request.connector_id)
        if conn is not None and conn.spec.connector_type != request.connector_type:
            return "Rejected"
    reservation = Reservation(
        reservation_id=request.reservation_id,
        connector_id=request.connector_id,
        id_tag=request.id_tag,
        parent_id_tag=request.parent_id_tag,
        expires_at=request.expires_at,
    )
    return cast(ReserveStatus, station.reserve(reservation, now))


def cancel_reservation(station: Station, request: CancelReservation) -> list[Effect]:
    if not station.cancel_reservation(request.reservation_id):
        return [Answer(CancelReservationAnswer("Rejected"))]
    return [
        CancelTimer(timer_name(request.reservation_id)),
        Persist(),
        Answer(CancelReservationAnswer("Accepted")),
        ReportStatus(),
    ]


def timer_fired(station: Station, name: str, now: float, *, reports_ends: bool) -> list[Effect]:
    """A reservation's expiry timer: every reservation due by `now` ends. A timer that fired
    a hair before its reservation's instant (float rounding) is set again."""
    before, after = _expire(station, now, reports_ends, fired=name)
    for reservation in station.reservations.values():
        if timer_name(reservation.reservation_id) == name:
            before.append(SetTimer(name, reservation.expires_at))
    return [*before, *after]


def restored(station: Station, now: float, *, reports_ends: bool) -> list[Effect]:
    """After a restart: the reservations that expired while no process hosted the station
    end now; the others get their expiry timer again."""
    expired, after = _expire(station, now, reports_ends, fired=None)
    before = [e for e in expired if not isinstance(e, CancelTimer)]  # no timer ran yet
    for reservation in station.reservations.values():
        before.append(SetTimer(timer_name(reservation.reservation_id), reservation.expires_at))
    return [*before, *after]


def _expire(
    station: Station, now: float, reports_ends: bool, *, fired: str | None
) -> tuple[list[Effect], list[Effect]]:
    """Effects of ending the reservations due by `now`: (what is done at once, what is said to
    the CSMS after, ending with the status report). Both are empty when none is due."""
    expired = station.expire_reservations(now)
    if not expired:
        return [], []
    before: list[Effect] = [
        CancelTimer(timer_name(r.reservation_id))
        for r in expired
        if timer_name(r.reservation_id) != fired
    ]
    before.append(Persist())
    after: list[Effect] = []
    if reports_ends:
        after = [SendCall(ReservationEnded(r.reservation_id, "Expired")) for r in expired]
    after.append(ReportStatus())
    return before, after
