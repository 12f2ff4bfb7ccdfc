"""Sans-I/O OCPP 2.x state of one station: raw connector statuses and transaction ids.

The listener speaks the 1.6 connector vocabulary; `ocpp.vocabulary.connector_status`
unfolds a 2.x connectorStatus plus the chargingState of the EVSE's open transaction into
it. Connector id for the listener = EVSE id: voltlab's 2.x stations have one connector per
EVSE, and an OCPI EVSE is what the layer above maps a "connector" to anyway. An EVSE with
several connectors reports its most telling one (`EVSE_STATUS_PRIORITY`). The state lives
in the `StationRecord`, not the session, because a transaction outlives the WebSocket it
started on.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from voltlab.ocpp.vocabulary.connector_status import EVSE_STATUS_PRIORITY

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
