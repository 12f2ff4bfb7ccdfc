"""Sans-I/O OCPP 2.x state of one station, and its connector statuses in 1.6 words.

The listener speaks the 1.6 connector vocabulary (Available, Preparing, Charging, ...). A 2.x
station reports far less: ``connectorStatus`` Available / Occupied / Reserved / Unavailable /
Faulted per connector, while what happens on an occupied connector travels in the
``chargingState`` of its TransactionEvents. This module folds both back together.

Connector id for the listener = EVSE id: voltlab's 2.x stations have one connector per EVSE,
and an OCPI EVSE is what the layer above maps a "connector" to anyway. An EVSE with several
connectors reports its most telling one (`EVSE_STATUS_PRIORITY`).

Occupied becomes, by the state of the EVSE's open transaction:

    chargingState Charging                  -> Charging
    chargingState SuspendedEV / SuspendedEVSE -> SuspendedEV / SuspendedEVSE (same words)
    EVConnected, Idle, not reported yet     -> Preparing
    no open transaction                     -> Preparing, or Finishing once a transaction
                                               ended on the EVSE and the EV is still there

Faulted carries the 1.6 error code OtherError (2.x reports the cause via NotifyEvent, not
here); every other status NoError. The state lives in the `StationRecord`, not the session,
because a transaction outlives the WebSocket it started on.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

# 2.x ConnectorStatusEnumType, most telling first: a session on any connector makes the EVSE
# busy; one working connector keeps it usable; a fault says more than a plain Unavailable.
EVSE_STATUS_PRIORITY: tuple[str, ...] = (
    "Occupied",
    "Reserved",
    "Available",
    "Faulted",
    "Unavailable",
)
CONNECTOR_STATUSES: frozenset[str] = frozenset(EVSE_STATUS_PRIORITY)

# chargingState of the EVSE's open transaction -> the 1.6 status of an Occupied connector.
_OCCUPIED_BY_CHARGING_STATE: dict[str, str] = {
    "Charging": "Charging",
    "SuspendedEV": "SuspendedEV",
    "SuspendedEVSE": "SuspendedEVSE",
    "EVConnected": "Preparing",
    "Idle": "Preparing",
}

# Closed transactions remembered per station, so a resent Ended is recognised as such.
MAX_REMEMBERED_TRANSACTIONS = 1_000


@dataclass(slots=True)
class StationTx:
    """What the CSMS tracks about one 2.x transaction beyond its `CsmsTransaction`."""

    transaction_id: int  # the CsmsTransaction's id
    seq_nos: set[int] = field(default_factory=set)
    charging_state: str | None = None
    # The listener hears of a transaction once it is identified (idToken) or charging, or
    # at its end, so that it starts with an id tag as a 1.6 StartTransaction does.
    reported: bool = False
    # No energy register reading yet: the first one becomes the meter start.
    start_pending: bool = False


@dataclass(slots=True)
class Ocpp2Station:
    """Per-station 2.x state: raw connector statuses and the station's transaction ids."""

    connector_statuses: dict[tuple[int, int], str] = field(default_factory=dict)
    finishing: set[int] = field(default_factory=set)  # EVSEs whose EV outstayed its tx
    transactions: OrderedDict[str, StationTx] = field(default_factory=OrderedDict)

    def set_connector_status(self, evse_id: int, connector_id: int, status: str) -> None:
        self.connector_statuses[(evse_id, connector_id)] = status
        if self.evse_status(evse_id) != "Occupied":
            self.finishing.discard(evse_id)  # the EV left: nothing is finishing any more

    def evse_status(self, evse_id: int) -> str | None:
        """The EVSE's 2.x status (see EVSE_STATUS_PRIORITY); None when never reported."""
        present = {s for (evse, _), s in self.connector_statuses.items() if evse == evse_id}
        return next((s for s in EVSE_STATUS_PRIORITY if s in present), None)

    def remember(self, station_transaction_id: str, state: StationTx) -> None:
        self.transactions[station_transaction_id] = state
        while len(self.transactions) > MAX_REMEMBERED_TRANSACTIONS:
            self.transactions.popitem(last=False)


def legacy_status(
    evse_status: str, charging_state: str | None, has_transaction: bool, finishing: bool
) -> tuple[str, str]:
    """(1.6 status, 1.6 error code) of an EVSE; see the module docstring for the mapping."""
    if evse_status == "Occupied":
        if has_transaction:
            return _OCCUPIED_BY_CHARGING_STATE.get(charging_state or "", "Preparing"), "NoError"
        return ("Finishing" if finishing else "Preparing"), "NoError"
    if evse_status == "Faulted":
        return "Faulted", "OtherError"
    return evse_status, "NoError"
