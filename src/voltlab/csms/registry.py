"""Sans-I/O state of the built-in CSMS: stations, connectors and transactions.

In memory, as the working copy of the stations connected to this process: with
``track_changes`` the registry marks every transaction a frame changes (`tx_changes`), the
server writes them to the database (issue 14), and a station connecting here gets its stored
transactions back first (`restore_station`), whichever process served it before. Connector
states are not stored: a station reports them again when it connects. Without a store (tests,
standalone use), a transaction the CSMS never saw is still accepted at its stop or adopted
from its MeterValues.

OCPP 2.x transactions live here too, under an integer id the registry allocates; the 2.x
bookkeeping on top (station transaction ids, chargingState) is `StationRecord.ocpp2`.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from voltlab.clock import wall_time
from voltlab.csms.events import (
    ConnectorView,
    CsmsTransaction,
    IdTagStatus,
    MeterSample,
    RejectedReading,
    StationView,
)
from voltlab.csms.ocpp201_state import Ocpp2Station
from voltlab.csms.plausibility import MeterGuard, Verdict
from voltlab.csms.timestamps import Now
from voltlab.csms.tx_changes import ChangeLog
from voltlab.ocpp.vocabulary.stop_reasons import StopReason

log = logging.getLogger(__name__)

# Seconds since this instant seed the transaction id counter: ids stay below 2**31 (what
# many CSMS and station implementations store them in) until the 2090s.
TRANSACTION_ID_EPOCH = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
MAX_CLOSED_TRANSACTIONS = 10_000  # kept for lookups after the stop; oldest forgotten first
MAX_SAMPLES_PER_TRANSACTION = 10_000  # a 60 s interval fills this in about a week
MAX_REJECTIONS_PER_TRANSACTION = 100  # kept on the record; the per-CPO counter counts all


class TransactionIds:
    """Transaction ids unique across CSMS restarts without a database.

    Each id is at least the number of wall-clock seconds since 2024-01-01, and larger than
    the previous one. A restarted CSMS therefore continues above every id the previous run
    handed out, as long as that run allocated fewer than one id per second on average since
    it started. Deployments that need a hard guarantee pass their own allocator (backed by
    the database) as ``BuiltinCsms(next_transaction_id=...)``.
    """

    def __init__(self, wall_clock: Now = wall_time) -> None:
        self._wall_clock = wall_clock
        self._last = 0

    def __call__(self) -> int:
        floor = int(self._wall_clock() - TRANSACTION_ID_EPOCH)
        self._last = max(self._last + 1, floor)
        return self._last


@dataclass(slots=True)
class ConnectorState:
    connector_id: int
    status: str
    error_code: str
    timestamp: datetime
    info: str | None = None
    vendor_error_code: str | None = None
    last_sample: MeterSample | None = None

    def view(self) -> ConnectorView:
        return ConnectorView(
            self.connector_id,
            self.status,
            self.error_code,
            self.timestamp,
            self.info,
            self.vendor_error_code,
        )


@dataclass(slots=True)
class StationRecord:
    cpo_id: str
    identity: str
    connected: bool = False
    registered: bool = False
    version: str | None = None
    boot: dict[str, Any] | None = None
    connected_at: datetime | None = None
    last_seen: datetime | None = None
    firmware_status: str | None = None
    diagnostics_status: str | None = None
    connectors: dict[int, ConnectorState] = field(default_factory=dict)
    ocpp2: Ocpp2Station = field(default_factory=Ocpp2Station)


StationKey = tuple[str, str]  # (cpo_id, identity)


class Registry:
    def __init__(
        self,
        next_transaction_id: Callable[[], int],
        guard: MeterGuard | None = None,
        *,
        track_changes: bool = False,
    ) -> None:
        self._next_transaction_id = next_transaction_id
        self.changes = ChangeLog() if track_changes else None
        # Decides which energy readings are billing truth (see `csms.plausibility`).
        self.guard = guard or MeterGuard()
        self.rejections: Counter[str] = Counter()  # implausible readings per CPO
        self._stations: dict[StationKey, StationRecord] = {}
        # Transaction ids are unique per CSMS (this registry allocates them); the cpo id is
        # checked on lookup so one CPO can never see or close another CPO's transaction.
        self._open: dict[int, CsmsTransaction] = {}
        self._closed: OrderedDict[int, CsmsTransaction] = OrderedDict()

    # -- stations -----------------------------------------------------------------------------

    def station(self, cpo_id: str, identity: str) -> StationRecord:
        """The record of a station, created on first contact."""
        key = (cpo_id, identity)
        record = self._stations.get(key)
        if record is None:
            record = StationRecord(cpo_id, identity)
            self._stations[key] = record
        return record

    def find_station(self, cpo_id: str, identity: str) -> StationRecord | None:
        return self._stations.get((cpo_id, identity))

    def station_records(self, cpo_id: str) -> list[StationRecord]:
        return [r for (cpo, _), r in self._stations.items() if cpo == cpo_id]

    def mark(self, tx: CsmsTransaction, samples: list[MeterSample] | None = None) -> None:
        """Note that a frame changed `tx` (to be written, when changes are tracked)."""
        if self.changes is not None:
            self.changes.mark(tx, samples)

    def restore_station(self, cpo_id: str, identity: str, stored: list[CsmsTransaction]) -> None:
        """Replace what this process holds of a station's transactions with the stored ones
        (another process may have served it since)."""
        for table in (self._open, self._closed):
            for tx_id in [
                i for i, tx in table.items() if tx.cpo_id == cpo_id and tx.identity == identity
            ]:
                del table[tx_id]
        for tx in stored:
            if tx.is_open:
                self._open[tx.transaction_id] = tx
            else:
                self._closed[tx.transaction_id] = tx

    def forget_cpo(self, cpo_id: str) -> None:
        if self.changes is not None:
            self.changes.forget_cpo(cpo_id)
        self.rejections.pop(cpo_id, None)
        for key in [k for k in self._stations if k[0] == cpo_id]:
            del self._stations[key]
        for table in (self._open, self._closed):
            for tx_id in [i for i, tx in table.items() if tx.cpo_id == cpo_id]:
                del table[tx_id]

    def view(self, record: StationRecord) -> StationView:
        return StationView(
            cpo_id=record.cpo_id,
            identity=record.identity,
            connected=record.connected,
            registered=record.registered,
            version=record.version,
            boot=dict(record.boot) if record.boot is not None else None,
            connected_at=record.connected_at,
            last_seen=record.last_seen,
            connectors=tuple(c.view() for _, c in sorted(record.connectors.items())),
            open_transactions=tuple(
                tx.snapshot() for tx in self.open_transactions(record.cpo_id, record.identity)
            ),
            firmware_status=record.firmware_status,
            diagnostics_status=record.diagnostics_status,
        )

    # -- transaction lookups ------------------------------------------------------------------

    def transaction(self, cpo_id: str, transaction_id: int) -> CsmsTransaction | None:
        tx = self._open.get(transaction_id) or self._closed.get(transaction_id)
        return tx if tx is not None and tx.cpo_id == cpo_id else None

    def open_transaction(
        self, cpo_id: str, identity: str, transaction_id: int
    ) -> CsmsTransaction | None:
        tx = self._open.get(transaction_id)
        if tx is None or tx.cpo_id != cpo_id or tx.identity != identity:
            return None
        return tx

    def open_transactions(self, cpo_id: str, identity: str) -> list[CsmsTransaction]:
        return [tx for tx in self._open.values() if tx.cpo_id == cpo_id and tx.identity == identity]

    def open_on_connector(
        self, cpo_id: str, identity: str, connector_id: int
    ) -> CsmsTransaction | None:
        """The newest open transaction on a connector."""
        found = [
            tx for tx in self.open_transactions(cpo_id, identity) if tx.connector_id == connector_id
        ]
        return max(found, key=lambda tx: tx.started_at) if found else None

    # -- transaction lifecycle ----------------------------------------------------------------

    def start_transaction(
        self,
        cpo_id: str,
        identity: str,
        *,
        connector_id: int,
        id_tag: str,
        meter_start_wh: float,
        started_at: datetime,
        authorization: IdTagStatus,
        reservation_id: int | None = None,
        station_transaction_id: str | None = None,
    ) -> tuple[CsmsTransaction, list[CsmsTransaction]]:
        """Open a transaction with a fresh id; return it and the transactions it superseded.

        A station that starts on a connector which, as far as the CSMS knows, still has an
        open transaction lost that transaction's StopTransaction. The stale one is closed
        here (``inferred_stop``) so it does not stay open forever: its meter stop is the new
        meter start, the best bound there is, since a meter only advances while charging.
        Connector 0 (a 2.x transaction whose EVSE is not known yet) supersedes nothing.
        """
        superseded: list[CsmsTransaction] = []
        for stale in self.open_transactions(cpo_id, identity):
            if connector_id == 0 or stale.connector_id != connector_id:
                continue
            stop_wh = meter_start_wh
            if not self._plausible(stale, "StartTransaction", meter_start_wh, started_at):
                # meter replaced or reset, or a forged start: fall back to what we last saw
                stop_wh = _last_register(stale)
            self._close(stale, stop_wh, started_at, "Other", None)
            stale.inferred_stop = True
            superseded.append(stale)
        tx = CsmsTransaction(
            transaction_id=self.allocate_id(),
            cpo_id=cpo_id,
            identity=identity,
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start_wh=meter_start_wh,
            started_at=started_at,
            id_tag_status=authorization.status,
            parent_id_tag=authorization.parent_id_tag,
            reservation_id=reservation_id,
            last_meter_wh=meter_start_wh,
            last_meter_at=started_at,
            station_transaction_id=station_transaction_id,
        )
        self._open[tx.transaction_id] = tx
        self.mark(tx)
        return tx, superseded

    def adopt(
        self,
        cpo_id: str,
        identity: str,
        transaction_id: int,
        connector_id: int,
        samples: list[MeterSample],
    ) -> CsmsTransaction | None:
        """Take over a transaction the station reports but the CSMS never saw start.

        Returns None when there is nothing to go on (no samples) or the id is already known
        (closed here, or another station's): late or bogus data must not reopen or hijack a
        transaction. The first sample stands in for the start.
        """
        if not samples or transaction_id in self._open or transaction_id in self._closed:
            return None
        first = _first_with_energy(samples)
        start_wh = first.energy_wh if first is not None and first.energy_wh is not None else 0.0
        started_at = samples[0].timestamp
        tx = CsmsTransaction(
            transaction_id=transaction_id,
            cpo_id=cpo_id,
            identity=identity,
            connector_id=connector_id,
            id_tag="",  # 1.6 MeterValues carry no id tag; StopTransaction may fill it in
            meter_start_wh=start_wh,
            started_at=started_at,
            last_meter_wh=start_wh,
            last_meter_at=started_at,
            recovered=True,
        )
        self._open[transaction_id] = tx
        self.mark(tx)
        return tx

    def record_samples(
        self, tx: CsmsTransaction, samples: list[MeterSample], source: str = "MeterValues"
    ) -> list[MeterSample]:
        """Add samples to a transaction; return them as recorded, the listener's truth.

        An implausible energy reading is recorded as a `RejectedReading` and removed from its
        sample (an implausible power reading likewise); a sample left with nothing is dropped.
        """
        accepted: list[MeterSample] = []
        for sample in samples:
            future = self.guard.from_future(sample.timestamp)
            if future is not None:  # its time would bill as charging or parking time
                self._reject(tx, source, sample.energy_wh, sample.timestamp, future)
                continue
            if sample.energy_wh is not None:
                if self._plausible(tx, source, sample.energy_wh, sample.timestamp):
                    if tx.last_meter_at is None or sample.timestamp >= tx.last_meter_at:
                        tx.last_meter_wh = sample.energy_wh
                        tx.last_meter_at = sample.timestamp
                else:
                    sample = replace(sample, energy_wh=None)
            if sample.power_w is not None and not self.guard.power_plausible(tx, sample.power_w):
                log.warning(
                    "%s/%s: transaction %d: power %g W above the connector's maximum ignored",
                    tx.cpo_id,
                    tx.identity,
                    tx.transaction_id,
                    sample.power_w,
                )
                sample = replace(sample, power_w=None)
            if _carries_nothing(sample):
                continue
            if sample.power_w is not None:
                tx.last_power_w = sample.power_w
            if sample.soc_percent is not None:
                tx.last_soc_percent = sample.soc_percent
            accepted.append(sample)
        tx.samples.extend(accepted)
        self.mark(tx, accepted)
        overflow = len(tx.samples) - MAX_SAMPLES_PER_TRANSACTION
        if overflow > 0:
            del tx.samples[1 : 1 + overflow]  # keep the first sample: it anchors the start
        return accepted

    def _plausible(self, tx: CsmsTransaction, source: str, energy_wh: float, at: datetime) -> bool:
        """Judge one register reading; an implausible one is logged and recorded."""
        verdict = self.guard.judge(tx, energy_wh, at)
        if verdict is None:
            return True
        self._reject(tx, source, energy_wh, at, verdict)
        return False

    def _reject(
        self,
        tx: CsmsTransaction,
        source: str,
        energy_wh: float | None,
        at: datetime,
        verdict: Verdict,
    ) -> None:
        kept = _last_register(tx)
        previous = tx.rejected_readings[-1] if tx.rejected_readings else None
        same = (at, energy_wh, verdict.reason)
        if (
            previous is not None
            and (previous.timestamp, previous.energy_wh, previous.reason) == same
        ):
            return  # the same reading twice (a 2.x Ended's sample and its stop reading)
        log.warning(
            "%s/%s: transaction %d: %s reading rejected (%s); billing keeps %g Wh",
            tx.cpo_id,
            tx.identity,
            tx.transaction_id,
            source,
            verdict.detail,
            kept,
        )
        self.rejections[tx.cpo_id] += 1
        if len(tx.rejected_readings) < MAX_REJECTIONS_PER_TRANSACTION:
            tx.rejected_readings.append(
                RejectedReading(source, at, energy_wh, verdict.reason, kept)
            )

    def stop_transaction(
        self,
        cpo_id: str,
        identity: str,
        transaction_id: int,
        *,
        meter_stop_wh: float,
        stopped_at: datetime,
        reason: StopReason,
        id_tag: str | None,
        samples: list[MeterSample],
    ) -> tuple[CsmsTransaction, bool]:
        """Close a transaction; return it and whether it was open until now.

        A repeated StopTransaction (the station resent it) returns the closed transaction
        and False, so the listener hears about the stop once. An unknown id yields a
        ``recovered`` transaction built from the stop and its transaction data.
        """
        tx = self.open_transaction(cpo_id, identity, transaction_id)
        if tx is None:
            done = self._closed.get(transaction_id)
            if done is not None and done.cpo_id == cpo_id and done.identity == identity:
                return done, False
            tx = self._recover_at_stop(
                cpo_id, identity, transaction_id, meter_stop_wh, stopped_at, id_tag, samples
            )
        elif tx.recovered:
            _correct_recovered_start(tx, samples, meter_stop_wh)
        source = "StopTransaction" if tx.station_transaction_id is None else "TransactionEvent"
        self.record_samples(tx, samples, source)
        future = self.guard.from_future(stopped_at)
        now = self.guard.current_time()
        if future is not None and now is not None:
            self._reject(tx, source, meter_stop_wh, stopped_at, future)
            stopped_at = now
        # The stop is the transaction's last reading whatever time it claims.
        stopped_at = max(stopped_at, tx.last_meter_at or stopped_at)
        if not self._plausible(tx, source, meter_stop_wh, stopped_at):
            meter_stop_wh = _last_register(tx)
        self._close(tx, meter_stop_wh, stopped_at, reason, id_tag)
        return tx, True

    def _recover_at_stop(
        self,
        cpo_id: str,
        identity: str,
        transaction_id: int,
        meter_stop_wh: float,
        stopped_at: datetime,
        id_tag: str | None,
        samples: list[MeterSample],
    ) -> CsmsTransaction:
        begin = next((s for s in samples if s.context == "Transaction.Begin"), None)
        if begin is None:
            begin = _first_with_energy(samples)
        start_wh = meter_stop_wh
        started_at = stopped_at
        if begin is not None:
            started_at = begin.timestamp
            if begin.energy_wh is not None and begin.energy_wh <= meter_stop_wh:
                start_wh = begin.energy_wh
        return CsmsTransaction(
            transaction_id=transaction_id,
            cpo_id=cpo_id,
            identity=identity,
            connector_id=0,
            id_tag=id_tag or "",
            meter_start_wh=start_wh,
            started_at=started_at,
            last_meter_wh=start_wh,
            last_meter_at=started_at,
            recovered=True,
        )

    def _close(
        self,
        tx: CsmsTransaction,
        meter_stop_wh: float,
        stopped_at: datetime,
        reason: StopReason,
        id_tag: str | None,
    ) -> None:
        tx.meter_stop_wh = meter_stop_wh
        tx.last_meter_wh = meter_stop_wh
        tx.stopped_at = stopped_at
        tx.stop_reason = reason
        tx.stop_id_tag = id_tag
        if not tx.id_tag and id_tag:
            tx.id_tag = id_tag
        self.mark(tx)
        if self._open.get(tx.transaction_id) is tx:
            del self._open[tx.transaction_id]
        if tx.transaction_id not in self._closed:
            self._closed[tx.transaction_id] = tx
            while len(self._closed) > MAX_CLOSED_TRANSACTIONS:
                self._closed.popitem(last=False)

    def allocate_id(self) -> int:
        """A transaction id not held here (2.x transactions first seen at their end use it)."""
        # The allocator is not aware of ids adopted from stations; skip any still held here.
        while True:
            candidate = self._next_transaction_id()
            if candidate not in self._open and candidate not in self._closed:
                return candidate


def _last_register(tx: CsmsTransaction) -> float:
    return tx.last_meter_wh if tx.last_meter_wh is not None else tx.meter_start_wh


def _carries_nothing(sample: MeterSample) -> bool:
    return all(
        value is None
        for value in (
            sample.energy_wh,
            sample.power_w,
            sample.current_a,
            sample.voltage_v,
            sample.soc_percent,
        )
    )


def _first_with_energy(samples: list[MeterSample]) -> MeterSample | None:
    return next((s for s in samples if s.energy_wh is not None), None)


def _correct_recovered_start(
    tx: CsmsTransaction, samples: list[MeterSample], meter_stop_wh: float
) -> None:
    # An adopted transaction only knew its first MeterValues; the stop's transaction data
    # may carry the real Transaction.Begin reading, which makes the energy exact again.
    begin = next((s for s in samples if s.context == "Transaction.Begin"), None)
    if begin is None or begin.energy_wh is None or begin.energy_wh > meter_stop_wh:
        return
    tx.meter_start_wh = begin.energy_wh
    tx.started_at = min(tx.started_at, begin.timestamp)
