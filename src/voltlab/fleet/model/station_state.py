"""What of a station is stored between runs (its snapshot) and how it comes back.

Kept beside the station model rather than in it: the snapshot's shape is the store's contract
(rows written by earlier releases must still restore), the station's methods are behaviour."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

from voltlab.fleet.model.ev import ElectricVehicle
from voltlab.fleet.model.records import Connector, Fault, Reservation, Transaction
from voltlab.fleet.model.station import Station
from voltlab.fleet.model.tariff_cost import restore_costs, snapshot_costs


class ConnectorState(TypedDict):
    connector_id: int
    register_wh: float
    operative: bool
    fault: dict[str, Any] | None
    # What is plugged in (since issue 14): a charger another process takes over continues its
    # sessions, so the cable, the EV and the lock come back with it.
    plugged: NotRequired[bool]
    ev: NotRequired[dict[str, object] | None]
    ev_wants_energy: NotRequired[bool]
    ev_power_cap_w: NotRequired[float | None]
    locked: NotRequired[bool]
    # The export register (V2X, issue 17), when the connector ever exported.
    export_wh: NotRequired[float]


class OpenTransaction(TypedDict):
    local_id: int
    connector_id: int
    id_tag: str | None
    started_at: float
    meter_start_wh: float
    transaction_id: str | int | None
    seq_no: int
    # Since issue 14: running (not left open by an earlier restart) and how it was running.
    live: NotRequired[bool]
    confirmed: NotRequired[bool]
    deauthorized: NotRequired[bool]
    parent_id_tag: NotRequired[str | None]
    remote_start_id: NotRequired[int | None]
    duration_limit_s: NotRequired[float | None]
    energy_limit_wh: NotRequired[float | None]
    total_cost: NotRequired[float | None]


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
    # 2.x state, present only when the station holds some (issue 17).
    monitors: NotRequired[dict[str, Any]]
    display_messages: NotRequired[list[dict[str, Any]]]
    network_profiles: NotRequired[dict[str, Any]]
    external_limits: NotRequired[list[dict[str, Any]]]
    # 2.1 bidirectional power transfer: external setpoints by connector, the DER controls.
    v2x: NotRequired[dict[str, Any]]
    # 2.1 state (issue 17): default tariffs and running cost meters; periodic event streams.
    tariffs: NotRequired[dict[str, Any]]
    event_streams: NotRequired[dict[str, Any]]


def station_snapshot(station: Station) -> StationSnapshot:
    snapshot: StationSnapshot = {
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
                "plugged": c.plugged,
                "ev": None if c.ev is None else c.ev.snapshot(),
                "ev_wants_energy": c.ev_wants_energy,
                "ev_power_cap_w": c.ev_power_cap_w,
                "locked": c.locked,
            }
            for c in station.connectors.values()
        ],
        "reservations": [vars(r) for r in station.reservations.values()],
        "charging_profiles": station.profiles.snapshot(),
        "firmware_version": station.firmware_version,
        # Transactions open at snapshot time: after a crash or restart of a single process they
        # are closed towards the CSMS with reason PowerLoss, as a rebooted charger does; a
        # charger another process of a cluster takes over continues the live ones.
        "open_transactions": [
            *(_open(tx, live=True) for tx in station.transactions()),
            # Also one without an id yet: its StartTransaction may have reached the CSMS.
            *(_open(tx, live=False) for tx in station.interrupted),
        ],
    }
    monitors = station.monitors.snapshot()
    if monitors is not None:
        snapshot["monitors"] = monitors
    messages = station.display_messages.snapshot()
    if messages is not None:
        snapshot["display_messages"] = messages
    network = station.network.snapshot()
    if network is not None:
        snapshot["network_profiles"] = network
    limits = station.external_limits.snapshot()
    if limits is not None:
        snapshot["external_limits"] = limits
    for state, conn in zip(snapshot["connectors"], station.connectors.values(), strict=True):
        if conn.export_wh:
            state["export_wh"] = round(conn.export_wh, 3)
    v2x = _v2x_snapshot(station)
    if v2x is not None:
        snapshot["v2x"] = v2x
    tariffs = snapshot_costs(station.tariffs, station.cost_meters)
    if tariffs is not None:
        snapshot["tariffs"] = tariffs
    streams = station.event_streams.snapshot()
    if streams is not None:
        snapshot["event_streams"] = streams
    return snapshot


def _v2x_snapshot(station: Station) -> dict[str, Any] | None:
    body: dict[str, Any] = {}
    if station.v2x.setpoints:
        body["setpoints"] = {str(cid): w for cid, w in station.v2x.setpoints.items()}
    der = station.v2x.der.snapshot()
    if der is not None:
        body["der"] = der
    return body or None


def _open(tx: Transaction, *, live: bool) -> OpenTransaction:
    body: OpenTransaction = {
        "local_id": tx.local_id,
        "connector_id": tx.connector_id,
        "id_tag": tx.id_tag,
        "started_at": tx.started_at,
        "meter_start_wh": tx.meter_start_wh,
        "transaction_id": tx.transaction_id,
        "seq_no": tx.seq_no,
        "live": live,
        "confirmed": tx.confirmed,
        "deauthorized": tx.deauthorized,
        "parent_id_tag": tx.parent_id_tag,
        "remote_start_id": tx.remote_start_id,
        "duration_limit_s": tx.duration_limit_s,
        "energy_limit_wh": tx.energy_limit_wh,
    }
    if tx.total_cost is not None:
        body["total_cost"] = tx.total_cost
    return body


# What every release stored of an open transaction (the rest is `_continue`'s).
_RESTORED_FIELDS = (
    "local_id",
    "connector_id",
    "id_tag",
    "started_at",
    "meter_start_wh",
    "transaction_id",
    "seq_no",
)


def restore_station(
    station: Station, body: Mapping[str, Any], *, continue_transactions: bool = False
) -> None:
    """Bring back what `station_snapshot` stored (a JSON round trip of it, possibly written by
    an earlier release: every field has a default). `continue_transactions`: the charger moves
    to another process of a cluster, it did not lose power: the transactions that were running
    with their EV plugged in run on (their sampling resumes after the registration), the
    others are closed with PowerLoss as after a restart."""
    station.local_list.restore(body.get("local_list", {}))
    station.auth_cache.restore(body.get("auth_cache", {}))
    station.tx_counter = int(body.get("tx_counter", 0))
    station.station_operative = bool(body.get("station_operative", True))
    for item in body.get("connectors", []):
        conn = station.connectors.get(int(item.get("connector_id", 0)))
        if conn is None:
            continue
        conn.register_wh = float(item.get("register_wh", 0.0))
        conn.export_wh = float(item.get("export_wh", 0.0))
        conn.operative = bool(item.get("operative", True))
        if item.get("fault"):
            conn.fault = Fault(**item["fault"])
        if continue_transactions:
            _plug(conn, item)
    for item in body.get("reservations", []):
        reservation = Reservation(**item)
        station.reservations[reservation.reservation_id] = reservation
    station.interrupted = []
    for item in body.get("open_transactions", []):
        tx = Transaction(**{key: item[key] for key in _RESTORED_FIELDS if key in item})
        conn = station.connectors.get(tx.connector_id)
        if continue_transactions and item.get("live") and conn is not None and conn.plugged:
            _continue(conn, tx, item)
        else:
            station.interrupted.append(tx)
    for tx in [*station.interrupted, *station.transactions()]:
        # 2.x: a meter value leaves right after the flush that stored its state, before its
        # seqNo is counted; the next number may be taken. A gap is allowed, a repeat is not.
        tx.seq_no += 1
    station.firmware_version = str(body.get("firmware_version") or station.firmware_version)
    if body.get("charging_profiles"):
        station.profiles.restore(body["charging_profiles"])
    if body.get("monitors"):
        station.monitors.restore(body["monitors"])
    if body.get("display_messages"):
        station.display_messages.restore(body["display_messages"])
    if body.get("network_profiles"):
        station.network.restore(body["network_profiles"])
    if body.get("external_limits"):
        station.external_limits.restore(body["external_limits"])
    v2x = body.get("v2x") or {}
    station.v2x.setpoints = {int(cid): float(w) for cid, w in v2x.get("setpoints", {}).items()}
    if v2x.get("der"):
        station.v2x.der.restore(v2x["der"])
    if body.get("tariffs"):
        restore_costs(body["tariffs"], station.tariffs, station.cost_meters)
        kept = {tx.local_id for tx in [*station.interrupted, *station.transactions()]}
        for local_id in [key for key in station.cost_meters if key not in kept]:
            del station.cost_meters[local_id]
    if body.get("event_streams"):
        station.event_streams.restore(body["event_streams"])
    station.recompute_power()


def _plug(conn: Connector, item: Mapping[str, Any]) -> None:
    ev = item.get("ev")
    conn.plugged = bool(item.get("plugged", False)) and isinstance(ev, dict)
    if conn.plugged:
        assert isinstance(ev, dict)
        conn.ev = ElectricVehicle.restore(ev)
        conn.ev_wants_energy = bool(item.get("ev_wants_energy", True))
        cap = item.get("ev_power_cap_w")
        conn.ev_power_cap_w = None if cap is None else float(cap)
        conn.locked = bool(item.get("locked", False))


def _continue(conn: Connector, tx: Transaction, item: Mapping[str, Any]) -> None:
    tx.confirmed = bool(item.get("confirmed", True))
    tx.deauthorized = bool(item.get("deauthorized", False))
    tx.parent_id_tag = item.get("parent_id_tag")
    tx.remote_start_id = item.get("remote_start_id")
    tx.duration_limit_s = item.get("duration_limit_s")
    tx.energy_limit_wh = item.get("energy_limit_wh")
    tx.total_cost = item.get("total_cost")
    conn.transaction = tx
    conn.locked = True
