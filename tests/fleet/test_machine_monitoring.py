"""Variable monitoring in the station machine (OCPP 2.0.1 N02-N08; the same on 2.1), event by
event on a virtual clock against an automatic CSMS that checks every frame against the OCA
schemas: what SetVariableMonitoring answers and why, monitors firing NotifyEvent when their
variable crosses them (and only then), the monitoring level and base, periodic monitors, the
reports, and events kept while offline."""

from __future__ import annotations

import pytest

from fleet.auto_csms import T0, AutoCsms, station_machine
from voltlab.fleet.codecs.ocpp201_monitoring import decode_set_variable_monitoring
from voltlab.fleet.machine.events import Connected, Disconnected
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.messages import ChangeAvailability
from voltlab.fleet.machine.monitoring_messages import (
    ClearVariableMonitoring,
    ClearVariableMonitoringAnswer,
    GetMonitoringReport,
    MonitoringAnswer,
    SetMonitoringBase,
    SetMonitoringLevel,
    SetVariableMonitoring,
    SetVariableMonitoringAnswer,
)
from voltlab.fleet.machine.session_messages import (
    PlugIn,
    RecheckLimits,
    ReportStatuses,
    StartTransaction,
    StopTransaction,
    Unplug,
)
from voltlab.fleet.model.device_model_types import ComponentRef, ReportFilter, VariableRef
from voltlab.fleet.model.device_monitoring import MonitorSetting
from voltlab.fleet.model.ev import PROFILES_BY_NAME, ElectricVehicle
from voltlab.fleet.model.station import Fault
from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.versions import OCPP21, OCPP201

VERSIONS = [OCPP201, OCPP21]
EVSE1, EVSE2 = ComponentRef("EVSE", 1), ComponentRef("EVSE", 2)
POWER = VariableRef("Power")


def setting(
    component: ComponentRef = EVSE1,
    variable: VariableRef = POWER,
    kind: str = "UpperThreshold",
    value: float = 5000,
    severity: int = 3,
    **extra: object,
) -> MonitorSetting:
    return MonitorSetting(component, variable, kind, value, severity, **extra)  # type: ignore[arg-type]


def set_monitors(csms: AutoCsms, *settings: MonitorSetting) -> list[tuple[str, int | None]]:
    answer = csms.request(SetVariableMonitoring(settings))
    assert isinstance(answer, SetVariableMonitoringAnswer)
    return [(result.status, result.id) for result in answer.results]


def events(csms: AutoCsms) -> list[dict]:
    return [event for notice in csms.actions("NotifyEvent") for event in notice["eventData"]]


def plug_and_charge(m: StationMachine, csms: AutoCsms, ev: str = "family-hatch") -> str:
    csms.command(PlugIn(1, ElectricVehicle(PROFILES_BY_NAME[ev], 30.0)))
    csms.command(StartTransaction(1, "TAG-MON"))
    tx = m.station.connectors[1].transaction
    assert tx is not None and tx.transaction_id is not None
    return str(tx.transaction_id)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_power_monitor_fires_when_crossed_and_not_otherwise(version: str) -> None:
    m, csms = station_machine(version)
    # Two upper thresholds on EVSE 1's power: 5 kW (an 11 kW EV crosses it), 15 kW (never).
    assert set_monitors(csms, setting(value=5000), setting(value=15000, severity=5)) == [
        ("Accepted", 101),
        ("Accepted", 102),
    ]
    assert events(csms) == []  # nothing beyond its limit yet
    tx_id = plug_and_charge(m, csms)
    [crossed] = events(csms)
    assert crossed["variableMonitoringId"] == 101
    assert (crossed["trigger"], crossed["actualValue"], crossed["cleared"]) == (
        "Alerting",
        "11000",
        False,
    )
    assert crossed["component"] == {"name": "EVSE", "evse": {"id": 1}}
    assert crossed["variable"] == {"name": "Power"}
    assert crossed["eventNotificationType"] == "CustomMonitor"
    assert crossed["transactionId"] == tx_id
    assert ("severity" in crossed) == (version == OCPP21)
    # Half an hour of steady charging (30 samples): no further event.
    csms.advance(T0 + 1800)
    assert len(csms.actions("TransactionEvent")) > 20
    assert len(events(csms)) == 1
    # The EV draws 3 kW: back below 5 kW, the monitor clears (N07).
    m.station.set_ev_demand(1, csms.now, power_cap_w=3000)
    csms.command(RecheckLimits())
    cleared = events(csms)[-1]
    assert (cleared["variableMonitoringId"], cleared["actualValue"], cleared["cleared"]) == (
        101,
        "3000",
        True,
    )
    csms.command(StopTransaction(1, "Local"))
    csms.advance(T0 + 3600)
    assert [event["variableMonitoringId"] for event in events(csms)] == [101, 101]
    assert len({event["eventId"] for event in events(csms)}) == 2


@pytest.mark.parametrize("version", VERSIONS)
def test_the_monitoring_level_filters_by_severity(version: str) -> None:
    m, csms = station_machine(version)
    assert csms.request(SetMonitoringLevel(10)) == MonitoringAnswer("Rejected")
    assert csms.request(SetMonitoringLevel(2)) == MonitoringAnswer("Accepted")
    set_monitors(csms, setting(value=5000, severity=3))
    plug_and_charge(m, csms)
    assert events(csms) == []  # severity 3 is above the level
    assert csms.request(SetMonitoringLevel(9)) == MonitoringAnswer("Accepted")
    m.station.set_ev_demand(1, csms.now, power_cap_w=3000)
    csms.command(RecheckLimits())
    [event] = events(csms)
    assert event["cleared"] is True


@pytest.mark.parametrize("version", VERSIONS)
def test_set_variable_monitoring_answers_each_item(version: str) -> None:
    m, csms = station_machine(version)
    results = set_monitors(
        csms,
        setting(ComponentRef("Transformer")),  # no such component
        setting(variable=VariableRef("Temperature")),  # not modelled
        setting(severity=12),  # severity is 0 to 9
        setting(value=50_000),  # above the EVSE's 22 kW rating
        setting(variable=VariableRef("AvailabilityState")),  # a threshold on an OptionList
        setting(ComponentRef("ClockCtrlr"), VariableRef("DateTime"), "Delta", 1),  # the clock
        setting(kind="Delta", value=-1),  # a negative delta (N04.FR.14)
        setting(value=5000),
        setting(value=5000),  # the same type and severity again
        setting(id=999),  # an id names a monitor to replace: none has it
        setting(id=3, value=20_000),  # the preconfigured 22 kW monitor, lowered
        setting(id=2, kind="Delta", variable=VariableRef("Problem"), value=1),  # hard-wired
    )
    assert results == [
        ("UnknownComponent", None),
        ("UnknownVariable", None),
        ("Rejected", None),
        ("Rejected", None),
        ("UnsupportedMonitorType", None),
        ("Rejected", None),
        ("Rejected", None),
        ("Accepted", 101),
        ("Duplicate", None),
        ("Rejected", 999),
        ("Accepted", 3),
        ("Rejected", 2),
    ]
    replaced = m.station.monitors.get(3)
    assert replaced is not None and replaced.value == 20_000
    assert replaced.kind == "PreconfiguredMonitor"


@pytest.mark.parametrize("version", VERSIONS)
def test_clear_and_the_monitoring_base(version: str) -> None:
    m, csms = station_machine(version)
    set_monitors(csms, setting(value=5000))
    answer = csms.request(ClearVariableMonitoring((101, 999, 1, 6)))
    assert answer == ClearVariableMonitoringAnswer(
        ((101, "Accepted"), (999, "NotFound"), (1, "Rejected"), (6, "Accepted"))
    )
    set_monitors(csms, setting(value=5000))  # 102
    # The preconfigured AvailabilityState monitor (6) was cleared: ChangeAvailability reports
    # nothing; FactoryDefault brings no cleared preset back and ends the custom monitor.
    assert csms.request(SetMonitoringBase("FactoryDefault")) == MonitoringAnswer("Accepted")
    assert m.station.monitors.get(102) is None
    assert m.device_model.get_dotted("MonitoringCtrlr.ActiveMonitoringBase") == "FactoryDefault"
    csms.request(ChangeAvailability(0, False))
    assert events(csms) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_hardwired_only_silences_preconfigured_monitors(version: str) -> None:
    m, csms = station_machine(version)
    csms.request(ChangeAvailability(0, False))
    [preconfigured] = events(csms)
    assert preconfigured["eventNotificationType"] == "PreconfiguredMonitor"
    assert preconfigured["component"] == {"name": "ChargingStation"}
    assert preconfigured["actualValue"] == "Unavailable"
    assert csms.request(SetMonitoringBase("HardWiredOnly")) == MonitoringAnswer("Accepted")
    csms.request(ChangeAvailability(0, True))
    assert len(events(csms)) == 1
    # A hard-wired monitor still reports: a fault on EVSE 2, with what the fault is.
    m.station.set_fault(2, Fault("OverCurrent", "E-17", "phase L2"), csms.now)
    csms.command(ReportStatuses())
    fault = events(csms)[-1]
    assert fault["eventNotificationType"] == "HardWiredMonitor"
    assert fault["component"] == {"name": "EVSE", "evse": {"id": 2}}
    assert (fault["actualValue"], fault["techCode"], fault["techInfo"]) == (
        "true",
        "OverCurrent",
        "phase L2",
    )
    assert fault["trigger"] == "Delta" and "cleared" not in fault


@pytest.mark.parametrize("version", VERSIONS)
def test_monitoring_report_by_criteria_and_component_in_pages(version: str) -> None:
    m, csms = station_machine(version)
    criteria = GetMonitoringReport(7, (), ("PeriodicMonitoring",))
    assert csms.request(criteria) == MonitoringAnswer("EmptyResultSet")
    assert csms.request(GetMonitoringReport(8, (ReportFilter(EVSE2, POWER),), ())) == (
        MonitoringAnswer("Accepted")
    )
    [page] = csms.actions("NotifyMonitoringReport")
    assert (page["requestId"], page["seqNo"], page.get("tbc", False)) == (8, 0, False)
    [data] = page["monitor"]
    assert data["component"] == {"name": "EVSE", "evse": {"id": 2}}
    [monitor] = data["variableMonitoring"]
    assert (monitor["id"], monitor["type"], monitor["value"]) == (5, "UpperThreshold", 22000.0)
    assert ("eventNotificationType" in monitor) == (version == OCPP21)
    # Delta monitors on 20 more variables: the full report takes two pages.
    names = []
    for spec, target in m.device_model.instances():
        if spec.supports_monitoring and spec.data_type in ("integer", "boolean"):
            names.append((ComponentRef(spec.component, target.evse_id, target.connector_id), spec))
    chosen = [
        setting(component, VariableRef(spec.variable, spec.instance), "Delta", 1, 8)
        for component, spec in names
        if spec.variable not in ("Problem", "Power")
    ][:20]
    assert {status for status, _ in set_monitors(csms, *chosen)} == {"Accepted"}
    assert csms.request(GetMonitoringReport(9, (), ())) == MonitoringAnswer("Accepted")
    pages = [p for p in csms.actions("NotifyMonitoringReport") if p["requestId"] == 9]
    assert [(p["seqNo"], p.get("tbc", False)) for p in pages] == [(0, True), (1, False)]
    assert sum(len(p["monitor"]) for p in pages) == 20 + 7  # and the presets' 7 variables


@pytest.mark.parametrize("version", VERSIONS)
def test_periodic_monitors_report_on_their_timers(version: str) -> None:
    m, csms = station_machine(version)
    # 2027-01-15T08:00:00Z is T0; a clock-aligned 900 s monitor reports at :00, :15, ...
    start = T0 + 100
    csms.advance(start)
    results = set_monitors(
        csms,
        setting(kind="Periodic", value=300, severity=8),
        setting(ComponentRef("ChargingStation"), POWER, "PeriodicClockAligned", 900, 8),
    )
    assert results == [("Accepted", 101), ("Accepted", 102)]
    csms.advance(start + 1000)
    periodic = [(e["variableMonitoringId"], e["timestamp"]) for e in events(csms)]
    assert [monitor for monitor, _ in periodic].count(101) == 3  # +300, +600, +900
    aligned = [at for monitor, at in periodic if monitor == 102]
    assert len(aligned) == 1 and aligned[0].endswith(":15:00.000Z")
    assert all(e["trigger"] == "Periodic" for e in events(csms))
    csms.request(ClearVariableMonitoring((101, 102)))
    assert not any(name.startswith("monitor:") for name in csms.timers)


@pytest.mark.parametrize("version", VERSIONS)
def test_events_wait_offline_up_to_the_offline_severity(version: str) -> None:
    m, csms = station_machine(version)
    set_monitors(csms, setting(value=5000, severity=5))
    plug_and_charge(m, csms)
    sent_before = len(events(csms))
    csms.feed(Disconnected())
    # Offline: the custom monitor (severity 5) clears unreported; the fault (hard-wired,
    # severity 1, at most OfflineQueuingSeverity 2) waits for the next registration.
    m.station.set_ev_demand(1, csms.now, power_cap_w=3000)
    csms.command(RecheckLimits())
    m.station.set_fault(1, Fault("GroundFault"), csms.now)
    csms.command(RecheckLimits())
    assert len(events(csms)) == sent_before
    csms.feed(Connected())
    queued = events(csms)[sent_before:]
    assert [(e["variableMonitoringId"], e["actualValue"]) for e in queued] == [(2, "true")]


def test_too_many_items_is_an_occurrence_violation() -> None:
    item = {
        "value": 1,
        "type": "Delta",
        "severity": 5,
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
    }
    decode_set_variable_monitoring({"setMonitoringData": [item] * 20})
    with pytest.raises(OcppError) as raised:
        decode_set_variable_monitoring({"setMonitoringData": [item] * 21})
    assert raised.value.code == "OccurrenceConstraintViolation"
    bulky = {**item, "customData": {"vendorId": "x", "blob": "y" * 70_000}}
    with pytest.raises(OcppError) as raised:
        decode_set_variable_monitoring({"setMonitoringData": [bulky]})
    assert raised.value.code == "FormatViolation"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_delta_monitor_on_a_connector_status(version: str) -> None:
    m, csms = station_machine(version)
    connector = ComponentRef("Connector", 1, 1)
    state = VariableRef("AvailabilityState")
    assert set_monitors(csms, setting(connector, state, "Delta", 0, 6)) == [("Accepted", 101)]
    csms.command(PlugIn(1))
    csms.command(Unplug(1))
    changes = [(e["actualValue"], e["trigger"]) for e in events(csms)]
    assert changes == [("Occupied", "Delta"), ("Available", "Delta")]
    assert {e["component"]["evse"]["connectorId"] for e in events(csms)} == {1}
