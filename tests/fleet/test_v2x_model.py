"""Bidirectional power transfer on the station model (fleet/model/v2x.py, der_controls.py):
an EV that discharges, the import and export registers, the 2.1 operation modes of a
schedule period, the DER controls in force, and the profile rules per version."""

from __future__ import annotations

import pytest

from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.charging_profile import (
    REASON_INVALID_SCHEDULE,
    ChargingProfile,
    SchedulePeriod,
)
from voltlab.fleet.model.der_controls import DerControl, DerControls
from voltlab.fleet.model.ev import PROFILES_BY_NAME, ElectricVehicle
from voltlab.fleet.model.records import Fault
from voltlab.fleet.model.station import Station
from voltlab.fleet.model.station_state import restore_station, station_snapshot
from voltlab.fleet.model.v2x import follow_curve
from voltlab.ocpp.versions import OCPP21, OCPP201

T0 = 1_800_000_000.0
V2X_DC = PROFILES_BY_NAME["v2x-dc-crossover"]  # 64 kWh, 10 kW back, V2X floor 30 %


def v2x_station(soc: float = 70.0, model: str = "dc-150kw-2ccs") -> Station:
    """A station with a V2X EV charging on connector 1 (a confirmed transaction)."""
    station = Station("CP-V2X", CATALOG[model], seed=3)
    station.advance(T0)
    station.plug(1, T0, ev=ElectricVehicle(V2X_DC, soc))
    tx = station.begin_transaction(1, "TAG", T0)
    tx.transaction_id = "tx-1"
    station.confirm(tx, T0)
    return station


def tx_profile(*periods: SchedulePeriod, unit: str = "W") -> ChargingProfile:
    return ChargingProfile(
        id=5,
        stack_level=1,
        purpose="TxProfile",
        kind="Relative",
        charging_rate_unit=unit,
        periods=periods,
        transaction_id="tx-1",
    )


def install(station: Station, profile: ChargingProfile, at: float = T0) -> None:
    assert station.profiles.install(1, profile, at, transaction_id="tx-1", ocpp_version=OCPP21) == (
        "Accepted"
    )
    station.advance(at)


def test_a_discharge_fills_the_export_register_only_and_empties_the_battery() -> None:
    station = v2x_station()
    conn = station.connectors[1]
    assert conn.power_w == 100_000  # charging as an EV does
    install(
        station,
        tx_profile(SchedulePeriod(0, None, operation_mode="CentralSetpoint", setpoint=-7000)),
    )
    assert conn.power_w == -7000
    imported, soc = conn.register_wh, conn.ev.soc_percent
    station.advance(T0 + 1800)  # half an hour at 7 kW
    assert conn.export_wh == pytest.approx(3500.0)
    assert conn.register_wh == imported
    assert conn.ev.soc_percent == pytest.approx(soc - 100 * 3500 / 64_000)
    reading = station.reading(1, T0 + 1800)
    assert (reading.power_w, reading.export_wh, reading.register_wh) == (-7000, 3500.0, imported)
    assert station.connector_status(1).status == "Charging"  # energy flows, the other way


def test_the_ev_stops_at_its_lowest_state_of_charge() -> None:
    station = v2x_station(soc=31.0)  # 1 % (640 Wh) above its V2X floor
    conn = station.connectors[1]
    install(
        station,
        tx_profile(SchedulePeriod(0, None, operation_mode="CentralSetpoint", setpoint=-7000)),
    )
    station.advance(T0 + 3600)  # an hour would be 7 kWh; it has 640 Wh to give
    assert conn.export_wh == pytest.approx(640.0)
    assert conn.ev.soc_percent == pytest.approx(30.0)
    assert conn.power_w == 0  # at its floor, nothing more
    # The external setpoint was for that EV: it leaves with it.
    station.v2x.setpoints[1] = -5000.0
    station.end_transaction(1, T0 + 3600, "Local")
    station.unplug(1, T0 + 3600)
    assert station.v2x.setpoints == {}
    # A driver's reserve above the profile's floor holds too, never one below it.
    assert ElectricVehicle(V2X_DC, 70, min_soc_percent=50).min_soc_percent == 50
    assert ElectricVehicle(V2X_DC, 70, min_soc_percent=10).min_soc_percent == 30


def test_the_setpoint_is_bounded_by_ev_evse_and_discharge_limits() -> None:
    station = v2x_station()
    conn = station.connectors[1]
    asks_much = SchedulePeriod(0, None, operation_mode="CentralSetpoint", setpoint=-50_000)
    install(station, tx_profile(asks_much))
    assert conn.power_w == -10_000  # the EV gives 10 kW at most
    limited = asks_much._replace(discharge_limit=-4000)
    install(station, tx_profile(limited))
    assert conn.power_w == -4000
    # A positive setpoint charges, within the period's limit.
    install(
        station,
        tx_profile(SchedulePeriod(0, 20_000, operation_mode="CentralSetpoint", setpoint=30_000)),
    )
    assert conn.power_w == 20_000
    # Current-based: -16 A on DC at the model's 230 V per ampere is -3680 W.
    install(
        station,
        tx_profile(
            SchedulePeriod(0, None, operation_mode="CentralSetpoint", setpoint=-16), unit="A"
        ),
    )
    assert conn.power_w == -3680


def test_charging_only_clamps_to_zero_and_idle_stops_both_ways() -> None:
    station = v2x_station()
    conn = station.connectors[1]
    install(station, tx_profile(SchedulePeriod(0, -7000.0)))  # ChargingOnly: no discharge
    assert conn.power_w == 0
    install(station, tx_profile(SchedulePeriod(0, 11_000.0, operation_mode="ChargingOnly")))
    assert conn.power_w == 11_000
    station.v2x.setpoints[1] = -6000.0  # an external setpoint changes nothing in ChargingOnly
    station.advance(T0 + 1)
    assert conn.power_w == 11_000
    install(station, tx_profile(SchedulePeriod(0, 11_000.0, operation_mode="Idle")), T0 + 2)
    assert conn.power_w == 0
    # ExternalSetpoint follows it; a negative limit of the older style bounds the discharge.
    install(
        station, tx_profile(SchedulePeriod(0, -5000.0, operation_mode="ExternalSetpoint")), T0 + 3
    )
    assert conn.power_w == -5000


def test_the_frequency_modes_follow_their_curve_at_the_grid_frequency() -> None:
    station = v2x_station()
    conn = station.connectors[1]
    curve = ((49.5, -8000.0), (50.0, 0.0), (50.5, 8000.0))
    period = SchedulePeriod(
        0, 11_000.0, operation_mode="LocalFrequency", v2x_baseline=1000.0, freq_watt=curve
    )
    install(station, tx_profile(period))
    assert conn.power_w == 1000  # nominal 50 Hz: the baseline
    station.set_fault(0, Fault("UnderFrequency"), T0 + 1)  # 49.4 Hz: beyond the first point
    assert conn.power_w == -7000  # baseline 1 kW + curve -8 kW
    station.clear_fault(0, T0 + 2)
    station.set_fault(0, Fault("OverFrequency"), T0 + 3)  # 50.6 Hz: charge 9 kW, capped at 11
    assert conn.power_w == 9000
    assert follow_curve(curve, 49.75) == -4000.0


def control(control_id: str, kind: str, priority: int, **fields: object) -> DerControl:
    base: dict[str, object] = {
        "control_id": control_id,
        "control_type": kind,
        "is_default": True,
        "priority": priority,
        "start": None,
        "duration": None,
        "setting": {"priority": priority},
    }
    return DerControl(**(base | fields))  # type: ignore[arg-type]


def test_der_controls_supersede_by_priority_and_schedule_over_default() -> None:
    der = DerControls()
    assert der.set(control("a", "LimitMaxDischarge", 2, pct_max_discharge=80.0)) == ()
    assert der.set(control("b", "LimitMaxDischarge", 1, pct_max_discharge=50.0)) == ("a",)
    assert der.set(control("c", "LimitMaxDischarge", 3, pct_max_discharge=10.0)) == ()
    assert [(c.control_id, c.superseded) for c in der.all()] == [
        ("b", False),
        ("a", True),
        ("c", True),  # set under one of higher priority: superseded itself
    ]
    assert der.discharge_share(T0) == 0.5
    # A scheduled control inside its window goes before the default, outside it does not.
    scheduled = control(
        "s",
        "LimitMaxDischarge",
        5,
        is_default=False,
        start=T0 + 60,
        duration=600.0,
        pct_max_discharge=20.0,
    )
    assert der.set(scheduled) == ()
    assert der.discharge_share(T0) == 0.5
    assert der.discharge_share(T0 + 100) == 0.2
    assert der.discharge_share(T0 + 700) == 0.5
    assert der.edges(T0) == [T0 + 60, T0 + 660]
    assert [c.control_id for c in der.clear(is_default=False)] == ["s"]
    assert der.find(control_id="b", control_type="VoltVar") != []  # an id: the type is ignored


def test_limit_max_discharge_and_trips_act_on_the_station() -> None:
    station = v2x_station()
    conn = station.connectors[1]
    install(
        station,
        tx_profile(SchedulePeriod(0, None, operation_mode="CentralSetpoint", setpoint=-9000)),
    )
    assert conn.power_w == -9000
    station.v2x.der.set(control("l", "LimitMaxDischarge", 0, pct_max_discharge=30.0))
    station.advance(T0 + 1)
    assert conn.power_w == -3000  # 30 % of the EV's 10 kW
    station.v2x.der.set(control("hv", "HVMayTrip", 0))
    station.set_fault(0, Fault("OverFrequency"), T0 + 2)  # no frequency trip: rides through
    assert conn.power_w == -3000
    station.v2x.der.set(control("hf", "HFMustTrip", 0))
    station.advance(T0 + 3)
    assert conn.power_w == 0  # must trip: nothing flows either way
    station.clear_fault(0, T0 + 4)
    assert conn.power_w == -3000


def test_v2x_state_survives_a_snapshot() -> None:
    station = v2x_station()
    install(
        station,
        tx_profile(SchedulePeriod(0, None, operation_mode="CentralSetpoint", setpoint=-7000)),
    )
    station.v2x.setpoints[2] = -1000.0
    station.v2x.der.set(control("l", "LimitMaxDischarge", 0, pct_max_discharge=60.0))
    station.v2x.der.alarms["OverFrequency"] = "HFMustTrip"
    station.advance(T0)  # the power follows the control: 60 % of 10 kW
    station.advance(T0 + 3600)
    snapshot = station_snapshot(station)
    again = Station("CP-V2X", CATALOG["dc-150kw-2ccs"], seed=3)
    restore_station(again, snapshot)
    assert again.connectors[1].export_wh == pytest.approx(6000.0)
    assert again.v2x.setpoints == {2: -1000.0}
    assert again.v2x.der.discharge_share(T0) == 0.6
    assert again.v2x.der.alarms == {"OverFrequency": "HFMustTrip"}
    [period] = again.profiles.profiles(1)[0].profile.periods
    assert (period.operation_mode, period.setpoint) == ("CentralSetpoint", -7000)


@pytest.mark.parametrize(
    ("period", "ok_21"),
    [
        (SchedulePeriod(0, -7000.0), True),  # a discharge limit of the older style
        (SchedulePeriod(0, None, operation_mode="CentralSetpoint", setpoint=-7000), True),
        (SchedulePeriod(0, None, operation_mode="CentralSetpoint"), False),  # no setpoint
        (SchedulePeriod(0, None), False),  # ChargingOnly needs its limit
        (SchedulePeriod(0, 1000.0, operation_mode="Sideways"), False),
        (SchedulePeriod(0, 1000.0, discharge_limit=500.0), False),  # a discharge limit is <= 0
        (SchedulePeriod(0, 1000.0, operation_mode="CentralFrequency"), False),  # no curve
    ],
)
def test_profile_rules_per_version(period: SchedulePeriod, ok_21: bool) -> None:
    """2.1 allows what bidirectional transfer needs; before it, none of it."""
    profile = tx_profile(period)
    assert (profile.problems(ocpp_version=OCPP21) == []) is ok_21
    assert profile.problems(ocpp_version=OCPP201) == [REASON_INVALID_SCHEDULE]
