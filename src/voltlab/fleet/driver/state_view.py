"""The live state of a hosted station as the Gateway API shows it."""

from __future__ import annotations

from typing import Any, Protocol

from voltlab.fleet.driver.findings import StationFindings
from voltlab.fleet.driver.link import StationLink
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.model.records import Transaction
from voltlab.fleet.model.station import Station
from voltlab.fleet.model.tariff_variables import DECIMALS, number
from voltlab.ocpp.vocabulary.timestamps import format_timestamp


class HostedStation(Protocol):
    """What the views read of a running station (`StationRunner`)."""

    @property
    def station(self) -> Station: ...

    @property
    def machine(self) -> StationMachine: ...

    @property
    def link(self) -> StationLink: ...

    @property
    def findings(self) -> StationFindings: ...

    def now(self) -> float: ...


def stored_state(runner: HostedStation) -> dict[str, Any]:
    """What the store keeps beside the station's snapshot, at every flush that finds the
    station changed: its connectors as the API shows them, connection and registration."""
    runner.station.advance(runner.now())
    return {
        "connectors": _connectors(runner.station),
        "connection": runner.link.connection,
        "registration": runner.machine.registration.status,
    }


def status_view(runner: HostedStation) -> tuple[str, str | None, tuple[str, ...]]:
    """Connection, registration and connector statuses without advancing the station (a
    summary of 10 000 stations reads this for each; a full `live_state` costs ~20x more).
    Statuses are as of the station's last step: a power change is a step."""
    station = runner.station
    return (
        runner.link.connection,
        runner.machine.registration.status,
        tuple(station.connector_status(cid).status for cid in station.connectors),
    )


def live_state(runner: HostedStation) -> dict[str, Any]:
    station = runner.station
    now = runner.now()
    station.advance(now)
    faults = []
    if station.station_fault is not None:
        faults.append({"connector_id": 0, **vars(station.station_fault)})
    for connector_id, conn in station.connectors.items():
        if conn.fault is not None:
            faults.append({"connector_id": connector_id, **vars(conn.fault)})
    return {
        "connection": runner.link.connection,
        "registration": runner.machine.registration.status,
        # The security profile of the open connection (a CSMS may have raised it).
        "security_profile": runner.link.connected_profile,
        # The link's (connecting) or, while connected, the machine's (BootNotification).
        "last_error": runner.link.last_error or runner.machine.registration.last_error,
        "station_status": station.connector_status(0).status,
        "connectors": _connectors(station),
        "faults": faults,
        # How fast the CSMS answered this station's CALLs (per action, ms; this process).
        "response_times": runner.findings.response_times(),
        "reservations": [
            {
                "reservation_id": r.reservation_id,
                "connector_id": r.connector_id,
                "id_tag": r.id_tag,
                "expires_at": format_timestamp(r.expires_at),
            }
            for r in station.reservations.values()
        ],
        "local_list_version": station.local_list.version,
        "auth_cache_size": len(station.auth_cache.entries),
        "heartbeat_interval": station.config.get_int("HeartbeatInterval"),
        "simulated_time": format_timestamp(now),
        # Limits an EMS set (the set-charging-limit command) and the display's messages, the
        # ones on screen now first (2.x SetDisplayMessage).
        "external_limits": [
            {
                "connector_id": limit.connector_id,
                "limit_w": round(limit.limit_w, 1),
                "source": limit.source,
                "grid_critical": limit.grid_critical,
            }
            for limit in station.external_limits.all()
        ],
        "display_messages": display_messages_view(station, now),
        # 2.1: the default tariffs a CSMS installed, and the open periodic event streams.
        "tariffs": tariffs_view(station, now),
        "event_streams": [
            {
                "id": stream.id,
                "variable_monitoring_id": stream.monitor_id,
                "interval": stream.params.interval,
                "values": stream.params.values,
                "waiting": len(stream.points),
            }
            for stream in sorted(station.event_streams.streams.values(), key=lambda s: s.id)
        ],
        # 2.1 DER controls a CSMS set (SetDERControl), the ones in force marked.
        "der_controls": der_controls_view(station, now),
    }


def der_controls_view(station: Station, now: float) -> list[dict[str, Any]]:
    der = station.v2x.der
    return [
        {
            "control_id": control.control_id,
            "control_type": control.control_type,
            "is_default": control.is_default,
            "priority": control.priority,
            "superseded": control.superseded,
            "in_force": der.effective(control.control_type, now) == control,
        }
        for control in der.all()
    ]


def tariffs_view(station: Station, now: float) -> list[dict[str, Any]]:
    tariffs = station.tariffs
    if not tariffs.installed:
        return []
    in_force = {
        evse_id: tariff.tariff_id
        for evse_id in station.connectors
        if (tariff := tariffs.in_force(evse_id, now)) is not None
    }
    return [
        {
            "tariff_id": a.tariff.tariff_id,
            "currency": a.tariff.currency,
            "evse_ids": list(a.evse_ids),
            "in_force_on": [e for e in a.evse_ids if in_force.get(e) == a.tariff.tariff_id],
            "valid_from": None
            if a.tariff.valid_from is None
            else format_timestamp(a.tariff.valid_from),
            "description": a.tariff.description[0].content if a.tariff.description else None,
        }
        for a in tariffs.assignments(None)
    ]


def display_messages_view(station: Station, now: float) -> list[dict[str, Any]]:
    """The display's messages at `now`, those on screen first in screen order."""
    messages = station.display_messages
    if not len(messages):
        return []
    running = {str(tx.transaction_id) for tx in station.transactions()}
    shown = messages.shown(now, display_state(station), running)
    stored = messages.all(now)
    ordered = sorted(stored, key=lambda m: shown.index(m.id) if m.id in shown else len(shown))
    return [
        {
            "id": message.id,
            "priority": message.priority,
            "state": message.state,
            "format": message.message_format,
            "language": message.language,
            "content": message.content,
            "start": None if message.start is None else format_timestamp(message.start),
            "end": None if message.end is None else format_timestamp(message.end),
            "transaction_id": message.transaction_id,
            "shown": message.id in shown,
        }
        for message in ordered
    ]


def display_state(station: Station) -> str:
    """The station's state as a display message's `state` names it (MessageStateEnumType)."""
    status = station.connector_status(0).status
    if status == "Faulted":
        return "Faulted"
    if status == "Unavailable":
        return "Unavailable"
    return "Charging" if station.transactions() else "Idle"


def _connectors(station: Station) -> list[dict[str, Any]]:
    connectors = []
    for connector_id, conn in station.connectors.items():
        status = station.connector_status(connector_id)
        tx = conn.transaction
        connectors.append(
            {
                "connector_id": connector_id,
                "connector_type": conn.spec.connector_type,
                "max_power_w": conn.spec.max_power_w,
                "status": status.status,
                "error_code": status.error_code or "NoError",
                "plugged": conn.plugged,
                "locked": conn.locked,
                "operative": conn.operative,
                "transaction_id": None if tx is None else tx.transaction_id,
                "id_tag": None if tx is None else tx.id_tag,
                "transaction_energy_wh": None
                if tx is None
                else round(tx.energy_wh(conn.register_wh), 1),
                "meter_wh": round(conn.register_wh, 1),
                # V2X: what the EV gave back, and the external setpoint (`discharge`) held.
                "export_wh": round(conn.export_wh, 1),
                "discharge_setpoint_w": station.v2x.setpoints.get(connector_id),
                "power_w": round(conn.power_w, 1),
                "soc_percent": None if conn.ev is None else round(conn.ev.soc_percent, 1),
                "ev": None if conn.ev is None else conn.ev.profile.name,
                # The running cost the CSMS sent (2.x CostUpdated), in its currency.
                "total_cost": None if tx is None else tx.total_cost,
                # 2.1: the running cost the station calculates itself (local cost).
                "local_cost": _local_cost(station, tx),
            }
        )
    return connectors


def _local_cost(station: Station, tx: Transaction | None) -> dict[str, Any] | None:
    meter = None if tx is None else station.cost_meters.get(tx.local_id)
    if meter is None:
        return None
    details = meter.details(number(station, DECIMALS))
    totals = details.totals
    return {
        "tariff_id": meter.tariff_id,
        "currency": totals.currency,
        "total_excl_tax": totals.excl_tax,
        "total_incl_tax": totals.incl_tax,
        "energy_wh": details.energy_wh,
    }
