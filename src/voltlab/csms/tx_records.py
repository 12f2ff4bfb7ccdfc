"""A CSMS transaction as stored (issue 14): `CsmsTransaction` and its 2.x bookkeeping
(`StationTx`) to JSON-able records and back; pure functions, no I/O.

The samples are stored one row each (appended, so a MeterValues writes only its own); the
record holds everything else, the rejected readings (at most
`registry.MAX_REJECTIONS_PER_TRANSACTION`) included."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, cast

from voltlab.csms.events import CsmsTransaction, MeterSample, RejectedReading
from voltlab.csms.ocpp201_state import StationTx
from voltlab.ocpp.vocabulary.stop_reasons import StopReason


class SampleRecord(TypedDict):
    timestamp: str
    energy_wh: float | None
    power_w: float | None
    current_a: float | None
    voltage_v: float | None
    soc_percent: float | None
    context: str | None


class RejectedRecord(TypedDict):
    source: str
    timestamp: str
    energy_wh: float | None
    reason: str
    kept_wh: float


class StationTxRecord(TypedDict):
    seq_nos: list[int]
    charging_state: str | None
    reported: bool
    start_pending: bool


class TransactionRecord(TypedDict):
    connector_id: int
    id_tag: str
    meter_start_wh: float
    started_at: str
    id_tag_status: str
    parent_id_tag: str | None
    reservation_id: int | None
    last_meter_wh: float | None
    last_meter_at: str | None
    last_power_w: float | None
    last_soc_percent: float | None
    meter_stop_wh: float | None
    stopped_at: str | None
    stop_reason: str | None
    stop_id_tag: str | None
    recovered: bool
    inferred_stop: bool
    station_transaction_id: str | None
    rejected_readings: list[RejectedRecord]
    ocpp2: StationTxRecord | None


@dataclass(frozen=True)
class TransactionChange:
    """What to write for one transaction: its record now and the samples added since the
    last write."""

    transaction_id: int
    cpo_id: str
    identity: str
    is_open: bool
    record: TransactionRecord
    new_samples: list[SampleRecord] = field(default_factory=list)


@dataclass(frozen=True)
class StoredTransaction:
    transaction_id: int
    cpo_id: str
    identity: str
    record: TransactionRecord
    samples: list[SampleRecord]


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def sample_record(sample: MeterSample) -> SampleRecord:
    return {
        "timestamp": sample.timestamp.isoformat(),
        "energy_wh": sample.energy_wh,
        "power_w": sample.power_w,
        "current_a": sample.current_a,
        "voltage_v": sample.voltage_v,
        "soc_percent": sample.soc_percent,
        "context": sample.context,
    }


def sample_of(record: SampleRecord) -> MeterSample:
    return MeterSample(
        datetime.fromisoformat(record["timestamp"]),
        record["energy_wh"],
        record["power_w"],
        record["current_a"],
        record["voltage_v"],
        record["soc_percent"],
        record["context"],
    )


def transaction_record(tx: CsmsTransaction, state: StationTx | None) -> TransactionRecord:
    return {
        "connector_id": tx.connector_id,
        "id_tag": tx.id_tag,
        "meter_start_wh": tx.meter_start_wh,
        "started_at": tx.started_at.isoformat(),
        "id_tag_status": tx.id_tag_status,
        "parent_id_tag": tx.parent_id_tag,
        "reservation_id": tx.reservation_id,
        "last_meter_wh": tx.last_meter_wh,
        "last_meter_at": _time(tx.last_meter_at),
        "last_power_w": tx.last_power_w,
        "last_soc_percent": tx.last_soc_percent,
        "meter_stop_wh": tx.meter_stop_wh,
        "stopped_at": _time(tx.stopped_at),
        "stop_reason": tx.stop_reason,
        "stop_id_tag": tx.stop_id_tag,
        "recovered": tx.recovered,
        "inferred_stop": tx.inferred_stop,
        "station_transaction_id": tx.station_transaction_id,
        "rejected_readings": [
            {
                "source": r.source,
                "timestamp": r.timestamp.isoformat(),
                "energy_wh": r.energy_wh,
                "reason": r.reason,
                "kept_wh": r.kept_wh,
            }
            for r in tx.rejected_readings
        ],
        "ocpp2": None
        if state is None
        else {
            "seq_nos": sorted(state.seq_nos),
            "charging_state": state.charging_state,
            "reported": state.reported,
            "start_pending": state.start_pending,
        },
    }


def transaction_of(stored: StoredTransaction, max_samples: int) -> CsmsTransaction:
    """The transaction back; at most `max_samples` samples, the first (it anchors the start)
    and the newest, as the registry keeps them."""
    r = stored.record
    samples = stored.samples
    if len(samples) > max_samples:
        samples = samples[:1] + samples[len(samples) - max_samples + 1 :]
    started_at = datetime.fromisoformat(r["started_at"])
    return CsmsTransaction(
        transaction_id=stored.transaction_id,
        cpo_id=stored.cpo_id,
        identity=stored.identity,
        connector_id=r["connector_id"],
        id_tag=r["id_tag"],
        meter_start_wh=r["meter_start_wh"],
        started_at=started_at,
        id_tag_status=r["id_tag_status"],
        parent_id_tag=r["parent_id_tag"],
        reservation_id=r["reservation_id"],
        last_meter_wh=r["last_meter_wh"],
        last_meter_at=_parse(r["last_meter_at"]),
        last_power_w=r["last_power_w"],
        last_soc_percent=r["last_soc_percent"],
        samples=[sample_of(s) for s in samples],
        meter_stop_wh=r["meter_stop_wh"],
        stopped_at=_parse(r["stopped_at"]),
        stop_reason=cast(StopReason | None, r["stop_reason"]),
        stop_id_tag=r["stop_id_tag"],
        recovered=r["recovered"],
        inferred_stop=r["inferred_stop"],
        station_transaction_id=r["station_transaction_id"],
        rejected_readings=[
            RejectedReading(
                x["source"],
                datetime.fromisoformat(x["timestamp"]),
                x["energy_wh"],
                x["reason"],
                x["kept_wh"],
            )
            for x in r["rejected_readings"]
        ],
    )


def station_tx_of(stored: StoredTransaction) -> StationTx | None:
    state = stored.record["ocpp2"]
    if state is None:
        return None
    return StationTx(
        stored.transaction_id,
        set(state["seq_nos"]),
        state["charging_state"],
        reported=state["reported"],
        start_pending=state["start_pending"],
    )


def as_record(value: Any) -> TransactionRecord:
    """A record read back from the database (JSON, written by `transaction_record`)."""
    return cast(TransactionRecord, value)
