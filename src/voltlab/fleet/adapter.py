"""What the station runner needs from an OCPP version adapter. Adapters translate the
protocol-neutral model into frames of one OCPP version and CSMS requests back into runner calls."""

from __future__ import annotations

from typing import Any, Protocol

from voltlab.ocpp.connection import Reply


class ProtocolAdapter(Protocol):
    version: str
    supported_actions: frozenset[str]

    def opens_transaction_on_plug(self) -> bool:
        """Does plugging in open the transaction (2.x TxStartPoint EVConnected)?"""
        ...

    def stops_transaction_on_unplug(self) -> bool: ...

    # Does the version tell the CSMS that a reservation ended (2.x ReservationStatusUpdate)?
    reports_reservation_ends: bool
    # Does GetLocalListVersion answer -1 while the list is disabled (1.6)?
    hides_disabled_local_list: bool
    # Is ClearCache rejected while the cache is disabled (2.x)?
    clear_cache_needs_enabled_cache: bool
    # Are statuses folded into 2.x ConnectorStatus, per EVSE, with charging-state events?
    folds_statuses_2x: bool
    # Does UnlockConnector leave an authorized transaction alone (2.0.1)?
    unlock_keeps_authorized_transaction: bool
    # Does the station name its transactions (2.x) rather than the CSMS (1.6)?
    station_names_transactions: bool
    # What a transaction's start and end carry when StopTxnSampledData is empty.
    default_transaction_measurands: tuple[str, ...]

    async def handle(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | Reply: ...
