"""What of a station is stored between runs (its snapshot) and how it comes back.

Kept beside the station model rather than in it: the snapshot's shape is the store's contract
(rows written by earlier releases must still restore), the station's methods are behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from voltlab.fleet.model.records import Fault, Reservation, Transaction
from voltlab.fleet.model.station import Station


class ConnectorState(TypedDict):
    connector_id: int
    register_wh: float
    operative: bool
    fault: dict[str, Any] | None


class OpenTransaction(TypedDict):
    local_id: int
    connector_id: int
    id_tag: str | None
    started_at: float
    meter_start_wh: float
    transaction_id: str | int | None
    seq_no: int


class StationSnapshot(TypedDict):
    config: dict[str, Any]
    local_list: dict[str, Any]
    auth_cache: dict[str, Any]
    tx_counter: int
    station_operative: bool
    connectors: list[ConnectorState]
    reservations: list[dict[str, Any]]
    charging_profiles: dict[str, Any]
    firmware_version: str
    open_transactions: list[OpenTransaction]


def station_snapshot(station: Station) -> StationSnapshot:
    return {
        "config": station.config.snapshot(),
        "local_list": station.local_list.snapshot(),
        "auth_cache": station.auth_cache.snapshot(),
        "tx_counter": station.tx_counter,
        "station_operative": station.station_operative,
        "connectors": [
            {
                "connector_id": c.connector_id,
                "register_wh": round(c.register_wh, 3),
                "operative": c.operative,
                "fault": None if c.fault is None else vars(c.fault),
            }
            for c in station.connectors.values()
        ],
        "reservations": [vars(r) for r in station.reservations.values()],
        "charging_profiles": station.profiles.snapshot(),
        "firmware_version": station.firmware_version,
        # Transactions open at snapshot time: after a crash or restart they are closed towards
        # the CSMS with reason PowerLoss, as a rebooted charger does.
        "open_transactions": [
            {
                "local_id": tx.local_id,
                "connector_id": tx.connector_id,
                "id_tag": tx.id_tag,
                "started_at": tx.started_at,
                "meter_start_wh": tx.meter_start_wh,
                "transaction_id": tx.transaction_id,
                "seq_no": tx.seq_no,
            }
            # Also one without an id yet: its StartTransaction may have reached the CSMS.
            for tx in [*station.transactions(), *station.interrupted]
        ],
    }


def restore_station(station: Station, body: Mapping[str, Any]) -> None:
    """Bring back what `station_snapshot` stored (a JSON round trip of it, possibly written by
    an earlier release: every field has a default)."""
    station.local_list.restore(body.get("local_list", {}))
    station.auth_cache.restore(body.get("auth_cache", {}))
    station.tx_counter = int(body.get("tx_counter", 0))
    station.station_operative = bool(body.get("station_operative", True))
    for item in body.get("connectors", []):
        conn = station.connectors.get(int(item.get("connector_id", 0)))
        if conn is None:
            continue
        conn.register_wh = float(item.get("register_wh", 0.0))
        conn.operative = bool(item.get("operative", True))
        if item.get("fault"):
            conn.fault = Fault(**item["fault"])
    for item in body.get("reservations", []):
        reservation = Reservation(**item)
        station.reservations[reservation.reservation_id] = reservation
    station.interrupted = [Transaction(**item) for item in body.get("open_transactions", [])]
    for tx in station.interrupted:
        # 2.x: a meter value leaves right after the flush that stored its state, before its
        # seqNo is counted; the next number may be taken. A gap is allowed, a repeat is not.
        tx.seq_no += 1
    station.firmware_version = str(body.get("firmware_version") or station.firmware_version)
    if body.get("charging_profiles"):
        station.profiles.restore(body["charging_profiles"])
