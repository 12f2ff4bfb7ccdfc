"""The station model without sockets: physics, status machine, reservations, authorization
state, configuration. Time is passed in explicitly, so nothing sleeps."""

from __future__ import annotations

import pytest

from voltlab.fleet.model.auth import IdTagInfo, LocalAuthList, LocalListError
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.config import ConfigurationEntry, StationConfig
from voltlab.fleet.model.ev import EV_PROFILES, ElectricVehicle
from voltlab.fleet.model.station import Fault, Reservation, Station, StationError
from voltlab.fleet.model.station_state import restore_station, station_snapshot

T0 = 1_800_000_000.0


def start(station: Station, connector_id: int, id_tag: str, now: float, **kw):
    """Begin a transaction and confirm it, as the CSMS's StartTransaction answer does."""
    tx = station.begin_transaction(connector_id, id_tag, now, **kw)
    station.confirm(tx, now)
    return tx


def ac22() -> Station:
    return Station("CP-1", CATALOG["ac-22kw-2c"], seed=1)


def dc150() -> Station:
    return Station("CP-DC", CATALOG["dc-150kw-2ccs"], seed=1)


def test_energy_integrates_power_over_time_and_never_decreases() -> None:
    station = ac22()
    station.plug(1, T0)
    tx = start(station, 1, "TAG", T0)
    power = station.connectors[1].power_w
    assert power == min(station.connectors[1].ev.profile.max_ac_w, 22_000)
    readings = []
    for minute in range(1, 11):
        station.advance(T0 + 60 * minute)
        readings.append(station.connectors[1].register_wh)
    assert readings == sorted(readings)
    assert station.connectors[1].register_wh == pytest.approx(power * 600 / 3600, rel=1e-9)
    assert tx.energy_wh(station.connectors[1].register_wh) == pytest.approx(power / 6, rel=1e-9)


def test_no_energy_before_the_csms_confirms() -> None:
    station = ac22()
    station.plug(1, T0)
    tx = station.begin_transaction(1, "TAG", T0)
    station.advance(T0 + 5)
    assert station.connectors[1].register_wh == 0
    station.confirm(tx, T0 + 5)
    station.advance(T0 + 65)
    assert station.connectors[1].register_wh > 0


def test_power_is_min_of_ev_connector_and_cap() -> None:
    station = ac22()
    station.plug(1, T0)
    start(station, 1, "TAG", T0)
    station.set_ev_demand(1, T0, power_cap_w=3_700)
    assert station.connectors[1].power_w == 3_700
    assert station.connector_status(1).status == "Charging"
    station.set_ev_demand(1, T0 + 1, wants_energy=False)
    assert station.connectors[1].power_w == 0
    assert station.connector_status(1).status == "SuspendedEV"


def test_dc_taper_above_80_percent() -> None:
    ev = ElectricVehicle(EV_PROFILES[2], 50.0)
    peak = ev.acceptance_w(dc=True)
    ev.soc_percent = 90.0
    tapered = ev.acceptance_w(dc=True)
    ev.soc_percent = 100.0
    assert tapered < peak * 0.6
    assert ev.acceptance_w(dc=True) == 0.0


def test_dc_session_reports_soc_and_reaches_suspended_ev_when_full() -> None:
    station = dc150()
    station.plug(1, T0)
    conn = station.connectors[1]
    conn.ev.soc_percent = 99.9
    start(station, 1, "TAG", T0)
    reading = station.reading(1, T0)
    assert reading.soc_percent == pytest.approx(99.9)
    for second in range(1, 600):
        station.advance(T0 + second)
    assert conn.ev.full
    assert station.connector_status(1).status == "SuspendedEV"


def test_station_power_is_shared_between_connectors() -> None:
    station = Station("CP-50", CATALOG["dc-50kw-ccs-chademo"], seed=3)
    for cid in (1, 2):
        station.plug(cid, T0)
        station.connectors[cid].ev.soc_percent = 20.0
        start(station, cid, f"T{cid}", T0)
    total = sum(c.power_w for c in station.connectors.values())
    assert total <= 50_000
    assert station.connectors[1].power_w > 0


def test_1_6_status_sequence_of_a_session() -> None:
    station = ac22()
    seen = [c.status for c in station.status_changes()]
    assert seen == ["Available", "Available", "Available"]  # connector 0, 1, 2
    station.plug(2, T0)
    assert [(c.connector_id, c.status) for c in station.status_changes()] == [(2, "Preparing")]
    start(station, 2, "TAG", T0)
    assert [c.status for c in station.status_changes()] == ["Charging"]
    station.end_transaction(2, T0 + 60, "Local")
    assert [c.status for c in station.status_changes()] == ["Finishing"]
    station.unplug(2, T0 + 70)
    assert [c.status for c in station.status_changes()] == ["Available"]
    assert station.status_changes() == []


def test_start_requires_cable_and_leaves_state_unchanged() -> None:
    station = ac22()
    with pytest.raises(StationError) as info:
        start(station, 1, "TAG", T0)
    assert info.value.code == "not_plugged"
    assert station.connectors[1].transaction is None
    with pytest.raises(StationError) as info:
        station.plug(3, T0)
    assert info.value.code == "unknown_connector"


def test_fault_blocks_charging_and_clearing_restores_status() -> None:
    station = ac22()
    station.plug(1, T0)
    start(station, 1, "TAG", T0)
    station.set_fault(1, Fault("GroundFault", "E42", "leak"), T0 + 10)
    change = station.connector_status(1)
    assert (change.status, change.error_code, change.vendor_error_code) == (
        "Faulted",
        "GroundFault",
        "E42",
    )
    assert station.connectors[1].power_w == 0
    station.end_transaction(1, T0 + 11, "EmergencyStop")
    station.clear_fault(1, T0 + 20)
    assert station.connector_status(1).status == "Finishing"
    station.set_fault(2, Fault("WeakSignal"), T0)
    assert station.connector_status(2).status == "Available"
    assert station.connector_status(2).error_code == "WeakSignal"


def test_change_availability_is_scheduled_during_a_transaction() -> None:
    station = ac22()
    station.plug(1, T0)
    start(station, 1, "TAG", T0)
    assert station.change_availability(1, False, T0) == "Scheduled"
    assert station.connector_status(1).status == "Charging"
    station.end_transaction(1, T0 + 5, "Local")
    assert station.connector_status(1).status == "Unavailable"
    assert station.change_availability(2, False, T0) == "Accepted"
    assert station.connector_status(2).status == "Unavailable"


def test_reservation_admits_only_its_tag_or_parent_and_expires() -> None:
    station = ac22()
    reservation = Reservation(7, 1, "OWNER", "FLEET", T0 + 300)
    assert station.reserve(reservation, T0) == "Accepted"
    assert station.connector_status(1).status == "Reserved"
    station.plug(1, T0)
    with pytest.raises(StationError) as info:
        start(station, 1, "STRANGER", T0)
    assert info.value.code == "reserved"
    tx = start(station, 1, "SIBLING", T0, parent_id_tag="FLEET")
    assert tx.reservation_id == 7
    assert 7 not in station.reservations
    assert station.reserve(Reservation(8, 2, "X", None, T0 + 10), T0) == "Accepted"
    assert [r.reservation_id for r in station.expire_reservations(T0 + 11)] == [8]
    assert station.connector_status(2).status == "Available"


def test_reservation_rejections() -> None:
    station = ac22()
    station.set_fault(2, Fault("InternalError"), T0)
    assert station.reserve(Reservation(1, 2, "A", None, T0 + 60), T0) == "Faulted"
    station.plug(1, T0)
    assert station.reserve(Reservation(2, 1, "A", None, T0 + 60), T0) == "Occupied"
    assert station.reserve(Reservation(3, 9, "A", None, T0 + 60), T0) == "Rejected"


def test_local_list_full_and_differential_updates() -> None:
    local = LocalAuthList(max_length=3)
    local.update(1, "Full", [("A", IdTagInfo("Accepted")), ("B", IdTagInfo("Blocked"))])
    assert local.lookup("B").status == "Blocked"
    with pytest.raises(LocalListError) as info:
        local.update(1, "Differential", [("C", IdTagInfo("Accepted"))])
    assert info.value.status == "VersionMismatch"
    local.update(2, "Differential", [("C", IdTagInfo("Accepted")), ("A", None)])
    assert sorted(local.entries) == ["B", "C"]
    with pytest.raises(LocalListError):
        local.update(3, "Differential", [(t, IdTagInfo("Accepted")) for t in "DEF"])
    assert local.version == 2 and sorted(local.entries) == ["B", "C"]


def test_change_configuration_rules() -> None:
    config = StationConfig()
    assert config.set_by_csms("HeartbeatInterval", "60") == "Accepted"
    assert config.get_int("HeartbeatInterval") == 60
    assert config.set_by_csms("HeartbeatInterval", "soon") == "Rejected"
    assert config.set_by_csms("NumberOfConnectors", "4") == "Rejected"
    assert config.set_by_csms("NoSuchKey", "1") == "NotSupported"
    assert config.set_by_csms("WebSocketPingInterval", "30") == "RebootRequired"
    assert config.set_by_csms("MeterValuesSampledData", "Voltage,Bogus") == "Rejected"
    found, unknown = config.entries(["HeartbeatInterval", "Nope", "AuthorizationKey"])
    assert unknown == ["Nope"]
    assert ConfigurationEntry("HeartbeatInterval", False, "60") in found
    assert ConfigurationEntry("AuthorizationKey", False, None) in found  # write-only: no value


def test_snapshot_round_trip_keeps_registers_and_lists() -> None:
    station = ac22()
    station.plug(1, T0)
    start(station, 1, "TAG", T0)
    station.advance(T0 + 3600)
    station.local_list.update(4, "Full", [("A", IdTagInfo("Accepted"))])
    station.config.set_local("HeartbeatInterval", "42")
    snap = station_snapshot(station)
    again = Station("CP-1", CATALOG["ac-22kw-2c"], config=snap["config"])
    restore_station(again, snap)
    assert again.connectors[1].register_wh == pytest.approx(
        station.connectors[1].register_wh, abs=1e-3
    )
    assert again.local_list.version == 4
    assert again.config.get_int("HeartbeatInterval") == 42
