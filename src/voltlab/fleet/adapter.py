"""What the station runner needs from an OCPP version adapter. Adapters translate the
protocol-neutral model into frames of one OCPP version and CSMS requests back into runner calls."""

from __future__ import annotations

from typing import Any, Protocol

from voltlab.fleet.auth import IdTagInfo
from voltlab.fleet.machine.messages import StationAnswerMessage, StationMessage
from voltlab.fleet.station import MeterReading, StatusChange, Transaction
from voltlab.ocpp.connection import Reply


class ProtocolAdapter(Protocol):
    version: str
    supported_actions: frozenset[str]

    async def send_status(self, change: StatusChange) -> None: ...

    async def start_transaction(self, tx: Transaction, reading: MeterReading) -> IdTagInfo | None:
        """Announce the transaction; sets tx.transaction_id; returns the CSMS's view of the tag
        (None when the transaction has no id tag yet)."""
        ...

    async def authorize_transaction(self, tx: Transaction, reading: MeterReading) -> IdTagInfo:
        """An open transaction got its id tag (2.x); returns the CSMS's view of it."""
        ...

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

    def encode_call(self, message: StationMessage) -> tuple[str, dict[str, Any]]:
        """A machine's message to the CSMS as this version's action and payload."""
        ...

    def decode_answer(
        self, message: StationMessage, payload: dict[str, Any]
    ) -> StationAnswerMessage:
        """The CSMS's answer to `message`, for the flow that waits for it."""
        ...

    async def queued_result(
        self, message: Any, answer: dict[str, Any] | None, error: Exception | None
    ) -> None:
        """A transaction message queued while offline was delivered (or dropped)."""
        ...

    def forget_statuses(self) -> None:
        """After a (re)boot every status is reported again."""
        ...

    async def meter_values(
        self, connector_id: int, tx: Transaction | None, reading: MeterReading, context: str
    ) -> None: ...

    async def stop_transaction(
        self, tx: Transaction, reading: MeterReading, begin: MeterReading | None
    ) -> IdTagInfo | None: ...

    async def handle(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | Reply: ...
