"""Reservations of a station (ReserveNow / CancelReservation / expiry), as a part of the
station model: `Station` mixes this in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltlab.fleet.model.records import Reservation

if TYPE_CHECKING:
    from voltlab.fleet.model.records import Connector, Fault


class ReservationBook:
    reservations: dict[int, Reservation]
    connectors: dict[int, Connector]
    station_fault: Fault | None
    station_operative: bool

    def config_allows_connector_zero(self) -> bool:
        return bool(self.config.get_bool("ReserveConnectorZeroSupported"))  # type: ignore[attr-defined]

    # -- reservations -------------------------------------------------------------------------

    def reservation_for(self, connector_id: int) -> Reservation | None:
        for reservation in self.reservations.values():
            if reservation.connector_id == connector_id:
                return reservation
        # A connector-0 reservation holds the last free connector of the station.
        for reservation in self.reservations.values():
            if reservation.connector_id == 0 and self._free_connectors() <= 1:
                return reservation
        return None

    def _free_connectors(self) -> int:
        return sum(
            1
            for conn in self.connectors.values()
            if conn.transaction is None
            and not conn.plugged
            and conn.fault is None
            and conn.operative
            and not any(r.connector_id == conn.connector_id for r in self.reservations.values())
        )

    def reserve(self, reservation: Reservation, now: float) -> str:
        """ReserveNow semantics: Accepted, Faulted, Occupied, Rejected or Unavailable."""
        self.expire_reservations(now)
        existing = self.reservations.get(reservation.reservation_id)
        if reservation.connector_id == 0:
            if not self.config_allows_connector_zero():
                return "Rejected"
            if self.station_fault is not None and self.station_fault.blocks_charging:
                return "Faulted"
            if not self.station_operative:
                return "Unavailable"
            if self._free_connectors() == 0 and existing is None:
                return "Occupied"
            self.reservations[reservation.reservation_id] = reservation
            return "Accepted"
        conn = self.connectors.get(reservation.connector_id)
        if conn is None:
            return "Rejected"
        if conn.fault is not None and conn.fault.blocks_charging:
            return "Faulted"
        if not conn.operative or not self.station_operative:
            return "Unavailable"
        held = self.reservation_for(conn.connector_id)
        if held is not None and held.reservation_id != reservation.reservation_id:
            return "Occupied"
        if conn.transaction is not None or conn.plugged:
            return "Occupied"
        self.reservations[reservation.reservation_id] = reservation
        return "Accepted"

    def cancel_reservation(self, reservation_id: int) -> bool:
        return self.reservations.pop(reservation_id, None) is not None

    def expire_reservations(self, now: float) -> list[Reservation]:
        expired = [r for r in self.reservations.values() if r.expires_at <= now]
        for reservation in expired:
            del self.reservations[reservation.reservation_id]
        return expired


def _holds(reservation: Reservation, id_tag: str, parent_id_tag: str | None) -> bool:
    if reservation.id_tag == id_tag:
        return True
    return reservation.parent_id_tag is not None and reservation.parent_id_tag == parent_id_tag
