"""Neutral CSMS messages the station machine reads and writes, whatever the OCPP version.

The codecs (`fleet/codecs/`) turn them into a version's actions and payloads. Times are POSIX
seconds on the station's clock; words are the station's (catalog, model), not a version's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# ReserveNow's answer words are the same in 1.6 and 2.x.
ReserveStatus = Literal["Accepted", "Faulted", "Occupied", "Rejected", "Unavailable"]
CancelStatus = Literal["Accepted", "Rejected"]
ReservationEndReason = Literal["Expired", "Removed"]


@dataclass(frozen=True)
class ReserveNow:
    """Reserve a connector (0: any connector of the station) for an id tag until `expires_at`."""

    reservation_id: int
    connector_id: int
    id_tag: str
    parent_id_tag: str | None
    expires_at: float
    # The connector type asked for (2.x only), in catalog words; a type no catalog word
    # stands for keeps its wire spelling and so matches no connector.
    connector_type: str | None = None


@dataclass(frozen=True)
class ReserveNowAnswer:
    status: ReserveStatus


@dataclass(frozen=True)
class CancelReservation:
    reservation_id: int


@dataclass(frozen=True)
class CancelReservationAnswer:
    status: CancelStatus


@dataclass(frozen=True)
class ReservationEnded:
    """The station tells the CSMS a reservation ended without being used (2.x
    ReservationStatusUpdate; 1.6 has no message, the connector status says it)."""

    reservation_id: int
    reason: ReservationEndReason


CsmsRequestMessage = ReserveNow | CancelReservation
CsmsAnswerMessage = ReserveNowAnswer | CancelReservationAnswer
StationMessage = ReservationEnded
