"""OCPP 2.x TransactionEvent handling: one 2.x transaction becomes one `CsmsTransaction`.

A 2.x transaction is a series of events (Started, Updated..., Ended) numbered by ``seqNo``
and named by a string the station chose. The CSMS gives it an integer id (the registry's,
as for 1.6) and keeps the string in ``CsmsTransaction.station_transaction_id`` and in
``StationRecord.ocpp2.transactions`` (string -> `StationTx`).

What the listener hears, and when:

* ``transaction_started`` once the transaction is identified -- an event carries its idToken
  (at Started, or in a later Updated when TxStartPoint is EVConnected or the start was
  remote) -- or is charging, and at the latest just before ``transaction_stopped``. A
  transaction opened at plug-in thus reaches the layer above with its id tag, as a 1.6
  StartTransaction does, and an EV plugged in and out without authorizing still shows up.
* ``meter_values`` for the samples of each later event; ``transaction_stopped`` at Ended
  (``stoppedReason`` read by `stop_reason_from_2x`; absent means Local, per the spec).

Meter start is the first energy register reading (Transaction.Begin preferred); a Started
event without one leaves it pending until the first reading arrives. An event whose seqNo
was already processed (a resend after a lost answer) is answered again but changes nothing.
Events the station queued while offline (``offline``) update the transaction like any other
-- each carries its own timestamp -- but do not re-derive connector statuses: they describe
the past, and the station reports its present connector statuses itself.

Events for an id the CSMS never saw (it restarted) are adopted: an Updated opens a
``recovered`` transaction from what it carries; an Ended yields a recovered, closed one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voltlab.csms.events import CsmsTransaction, IdTagStatus, MeterSample
from voltlab.csms.metering import parse_meter_values
from voltlab.csms.notify import (
    MeterValuesReceived,
    Notification,
    TransactionStarted,
    TransactionStopped,
)
from voltlab.csms.ocpp201_payloads import id_token_info
from voltlab.csms.ocpp201_state import StationTx
from voltlab.csms.registry import Registry, StationRecord
from voltlab.ocpp.vocabulary.stop_reasons import StopReason, stop_reason_from_2x
from voltlab.ocpp.vocabulary.timestamps import parse_datetime_or

log = logging.getLogger(__name__)

NO_AUTHORIZATION = "NoAuthorization"  # IdTokenEnumType: the station identified nobody


@dataclass(frozen=True, slots=True)
class _Event:
    """The parts of a TransactionEventRequest the CSMS acts on."""

    kind: str  # Started / Updated / Ended
    station_transaction_id: str
    seq_no: int
    timestamp: datetime
    evse_id: int | None
    samples: list[MeterSample]
    token: dict[str, Any] | None
    status: IdTagStatus | None  # the decision on ``token``; None: none could be had
    charging_state: str | None
    stopped_reason: StopReason
    reservation_id: int | None
    offline: bool

    @property
    def id_tag(self) -> str | None:
        """The token's identifier, None when there is none to record."""
        if self.token is None or self.token["type"] == NO_AUTHORIZATION:
            return None
        return str(self.token["idToken"]) or None


class TransactionEvents:
    """Mixin for the 2.x session: the TransactionEvent handler and its bookkeeping."""

    cpo_id: str
    identity: str
    version: str
    registry: Registry
    record: StationRecord
    _emit: Callable[[Notification], None]
    _now: Callable[[], datetime]

    # Provided by the class this is mixed into (declared for the type checker only).
    if TYPE_CHECKING:

        async def _token_status(
            self, token: dict[str, Any], known: CsmsTransaction | None
        ) -> IdTagStatus | None: ...

        def _refresh_evse(self, evse_id: int, timestamp: datetime) -> None: ...

    async def _on_transaction_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        info = payload["transactionInfo"]
        station_tx_id = str(info["transactionId"])
        token = payload.get("idToken")
        status: IdTagStatus | None = None
        if token is not None:
            state = self.record.ocpp2.transactions.get(station_tx_id)
            status = await self._token_status(token, self._transaction_of(state))
        timestamp = parse_datetime_or(payload.get("timestamp"), self._now())
        evse = payload.get("evse")
        event = _Event(
            kind=payload["eventType"],
            station_transaction_id=station_tx_id,
            seq_no=int(payload["seqNo"]),
            timestamp=timestamp,
            evse_id=int(evse["id"]) if evse else None,
            samples=parse_meter_values(payload.get("meterValue") or [], timestamp, ocpp2=True),
            token=token,
            status=status,
            charging_state=info.get("chargingState"),
            stopped_reason=stop_reason_from_2x(info.get("stoppedReason")),
            reservation_id=payload.get("reservationId"),
            offline=bool(payload.get("offline")),
        )
        self._apply(event)
        return {} if token is None else {"idTokenInfo": id_token_info(status, self.version)}

    def _apply(self, event: _Event) -> None:
        self._apply_event(event)
        # Whatever the event changed (seqNos, chargingState, the EVSE, the id tag) is written.
        tx = self._transaction_of(self.record.ocpp2.transactions.get(event.station_transaction_id))
        if tx is not None:
            self.registry.mark(tx)

    def _apply_event(self, event: _Event) -> None:
        # Looked up after the authorization await: the state may have moved meanwhile.
        state = self.record.ocpp2.transactions.get(event.station_transaction_id)
        if state is None:
            if event.kind == "Ended":
                self._recover_at_end(event)
            else:
                self._begin(event, recovered=event.kind == "Updated")
            return
        if event.seq_no in state.seq_nos:
            log.info(
                "%s/%s: TransactionEvent %s seqNo %d already processed",
                self.cpo_id,
                self.identity,
                event.station_transaction_id,
                event.seq_no,
            )
            return
        state.seq_nos.add(event.seq_no)
        tx = self._transaction_of(state)
        if tx is None or not tx.is_open:
            log.info(
                "%s/%s: %s event for closed transaction %s ignored",
                self.cpo_id,
                self.identity,
                event.kind,
                event.station_transaction_id,
            )
        elif event.kind == "Ended":
            self._end(tx, state, event)
        else:  # Updated, or a Started resent with a new seqNo
            self._update(tx, state, event)

    # -- lifecycle ----------------------------------------------------------------------------

    def _begin(self, event: _Event, *, recovered: bool) -> None:
        evse_id = event.evse_id or 0
        begin = _start_reading(event.samples)
        started_at = event.timestamp
        if recovered and event.samples:  # what the first event shows is all there is to go on
            started_at = min(started_at, event.samples[0].timestamp)
        tx, superseded = self.registry.start_transaction(
            self.cpo_id,
            self.identity,
            connector_id=evse_id,
            id_tag=event.id_tag or "",
            meter_start_wh=begin if begin is not None else 0.0,
            started_at=started_at,
            authorization=_authorization(event),
            reservation_id=event.reservation_id,
            station_transaction_id=event.station_transaction_id,
        )
        tx.recovered = recovered
        for stale in superseded:
            log.warning(
                "%s/%s: transaction %d on EVSE %d never ended; closed by the CSMS",
                self.cpo_id,
                self.identity,
                stale.transaction_id,
                stale.connector_id,
            )
            self._report_closed(stale)
        state = StationTx(
            tx.transaction_id,
            {event.seq_no},
            event.charging_state,
            start_pending=begin is None,
        )
        self.record.ocpp2.remember(event.station_transaction_id, state)
        self.record.ocpp2.finishing.discard(evse_id)
        self.registry.record_samples(tx, event.samples, "TransactionEvent")
        if _identifies(tx, event):
            state.reported = True
            self._emit(TransactionStarted(tx.snapshot()))
        self._refresh(tx, event)

    def _update(self, tx: CsmsTransaction, state: StationTx, event: _Event) -> None:
        self._learn(tx, event)
        if event.charging_state is not None:
            state.charging_state = event.charging_state
        _settle_start(tx, state, event.samples)
        recorded = self.registry.record_samples(tx, event.samples, "TransactionEvent")
        if not state.reported:
            if _identifies(tx, event) or state.charging_state == "Charging":
                state.reported = True
                self._emit(TransactionStarted(tx.snapshot()))
        elif recorded:  # implausible readings never reach the listener
            self._emit(MeterValuesReceived(tx.snapshot(), recorded))
        self._refresh(tx, event)

    def _end(self, tx: CsmsTransaction, state: StationTx, event: _Event) -> None:
        self._learn(tx, event)
        _settle_start(tx, state, event.samples)
        if not state.reported:
            state.reported = True
            self._emit(TransactionStarted(tx.snapshot()))
        closed, newly = self.registry.stop_transaction(
            self.cpo_id,
            self.identity,
            tx.transaction_id,
            meter_stop_wh=_stop_reading(event.samples, tx),
            stopped_at=event.timestamp,
            reason=event.stopped_reason,
            id_tag=event.id_tag,
            samples=event.samples,
        )
        state.charging_state = None
        if newly:
            self._emit(TransactionStopped(closed.snapshot()))
        self._mark_finishing(closed.connector_id)
        self._refresh(closed, event)

    def _recover_at_end(self, event: _Event) -> None:
        transaction_id = self.registry.allocate_id()
        tx, _ = self.registry.stop_transaction(
            self.cpo_id,
            self.identity,
            transaction_id,
            meter_stop_wh=_stop_reading(event.samples, None),
            stopped_at=event.timestamp,
            reason=event.stopped_reason,
            id_tag=event.id_tag,
            samples=event.samples,
        )
        tx.station_transaction_id = event.station_transaction_id
        tx.connector_id = event.evse_id or 0
        tx.id_tag_status = _authorization(event).status
        state = StationTx(transaction_id, {event.seq_no}, reported=True)
        self.record.ocpp2.remember(event.station_transaction_id, state)
        self._emit(TransactionStopped(tx.snapshot()))
        self._mark_finishing(tx.connector_id)
        self._refresh(tx, event)

    # -- helpers ------------------------------------------------------------------------------

    def _transaction_of(self, state: StationTx | None) -> CsmsTransaction | None:
        if state is None:
            return None
        tx = self.registry.transaction(self.cpo_id, state.transaction_id)
        return tx if tx is not None and tx.identity == self.identity else None

    def _learn(self, tx: CsmsTransaction, event: _Event) -> None:
        """Fill in what the Started event lacked: the EVSE, the id tag."""
        if tx.connector_id == 0 and event.evse_id:
            tx.connector_id = event.evse_id
        id_tag = event.id_tag
        if id_tag is not None and not tx.id_tag:
            tx.id_tag = id_tag
            authorization = _authorization(event)
            tx.id_tag_status = authorization.status
            tx.parent_id_tag = authorization.parent_id_tag

    def _report_closed(self, tx: CsmsTransaction) -> None:
        # A superseded 2.x transaction the listener never heard of: its whole story at once.
        sid = tx.station_transaction_id
        state = self.record.ocpp2.transactions.get(sid) if sid is not None else None
        if state is not None and not state.reported:
            state.reported = True
            self._emit(TransactionStarted(tx.snapshot()))
        self._emit(TransactionStopped(tx.snapshot()))

    def _mark_finishing(self, evse_id: int) -> None:
        if evse_id and self.record.ocpp2.evse_status(evse_id) == "Occupied":
            self.record.ocpp2.finishing.add(evse_id)

    def _refresh(self, tx: CsmsTransaction, event: _Event) -> None:
        if tx.connector_id and not event.offline:
            self._refresh_evse(tx.connector_id, event.timestamp)


def _authorization(event: _Event) -> IdTagStatus:
    if event.token is None or event.token["type"] == NO_AUTHORIZATION:
        return IdTagStatus.accept()
    # No decision could be had: the listener-facing record says Invalid, as for 1.6.
    return event.status or IdTagStatus.invalid()


def _identifies(tx: CsmsTransaction, event: _Event) -> bool:
    return bool(tx.id_tag) or event.token is not None or event.charging_state == "Charging"


def _energy_samples(samples: list[MeterSample]) -> list[MeterSample]:
    return [s for s in samples if s.energy_wh is not None]


def _start_reading(samples: list[MeterSample]) -> float | None:
    readings = _energy_samples(samples)
    begin = next((s for s in readings if s.context == "Transaction.Begin"), None)
    chosen = begin or (readings[0] if readings else None)
    return None if chosen is None else chosen.energy_wh


def _stop_reading(samples: list[MeterSample], tx: CsmsTransaction | None) -> float:
    readings = _energy_samples(samples)
    end = next((s for s in reversed(readings) if s.context == "Transaction.End"), None)
    chosen = end or (readings[-1] if readings else None)
    if chosen is not None and chosen.energy_wh is not None:
        return chosen.energy_wh
    if tx is None:
        return 0.0
    return tx.last_meter_wh if tx.last_meter_wh is not None else tx.meter_start_wh


def _settle_start(tx: CsmsTransaction, state: StationTx, samples: list[MeterSample]) -> None:
    """A meter start still pending takes the first energy reading there is."""
    if not state.start_pending:
        return
    reading = _start_reading(samples)
    if reading is not None:
        tx.meter_start_wh = reading
        tx.last_meter_wh = reading
        state.start_pending = False
