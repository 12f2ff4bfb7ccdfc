"""Bidirectional power transfer and DER control in the station machine, against an automatic
CSMS that checks every frame against the OCA schemas of its version: what 2.1 adds (V2X
charging needs, 2.1 periods read and reported, DER controls, alarms, the discharge command)
and what a 2.0.1 station does with the same EV and requests (nothing of it)."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.auto_csms import AutoCsms, station_machine
from voltlab.fleet.codecs.station_codec import codec_for
from voltlab.fleet.machine.control_messages import GetChargingProfiles
from voltlab.fleet.machine.events import Disconnected, GatewayCommand
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import PlugIn, StartTransaction
from voltlab.fleet.machine.v2x_messages import (
    DERControlAnswer,
    Discharge,
    DischargeAnswer,
    GridConditionAnswer,
    GridConditionChanged,
)
from voltlab.fleet.model.ev import PROFILES_BY_NAME, ElectricVehicle
from voltlab.fleet.model.records import Fault, StationError
from voltlab.ocpp.versions import OCPP21, OCPP201


def v2x_session(version: str, model: str = "dc-150kw-2ccs") -> tuple[StationMachine, AutoCsms]:
    m, csms = station_machine(version, model)
    csms.command(PlugIn(1, ElectricVehicle(PROFILES_BY_NAME["v2x-dc-crossover"], 70.0)))
    csms.command(StartTransaction(1, "V2X-TAG"))
    return m, csms


def request(csms: AutoCsms, action: str, payload: dict[str, Any]) -> Any:
    """A CSMS request as the version's codec reads it off the wire, answered by the machine."""
    return csms.request(csms.codec.requests[action].decode(payload))


def setpoint_profile(tx_id: str, **period: Any) -> dict[str, Any]:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": 3,
            "transactionId": tx_id,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [
                {
                    "id": 4,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, **period}],
                }
            ],
        },
    }


def test_a_v2x_ev_states_its_v2x_needs_on_21_only() -> None:
    _, csms21 = v2x_session(OCPP21)
    [needs] = csms21.actions("NotifyEVChargingNeeds")
    assert needs["chargingNeeds"]["requestedEnergyTransfer"] == "DC_BPT"
    assert needs["chargingNeeds"]["controlMode"] == "DynamicControl"
    v2x = needs["chargingNeeds"]["v2xChargingParameters"]
    assert (v2x["maxDischargePower"], v2x["evMinV2XEnergyRequest"]) == (10_000, -25_600)
    # The same EV on a 2.0.1 station: unidirectional DC needs, nothing 2.1 adds.
    _, csms201 = v2x_session(OCPP201)
    [plain] = csms201.actions("NotifyEVChargingNeeds")
    assert plain["chargingNeeds"]["requestedEnergyTransfer"] == "DC"
    assert "v2xChargingParameters" not in plain["chargingNeeds"]


def test_21_periods_are_read_acted_on_and_reported_back() -> None:
    m, csms = v2x_session(OCPP21)
    tx_id = str(m.station.connectors[1].transaction.transaction_id)
    period = {
        "operationMode": "CentralSetpoint",
        "setpoint": -7000.0,
        "dischargeLimit": -8000.0,
        "limit_L2": 5.0,  # per-phase values are accepted, not simulated
    }
    answer = request(csms, "SetChargingProfile", setpoint_profile(tx_id, **period))
    assert answer.status == "Accepted"
    assert m.station.connectors[1].power_w == -7000.0
    csms.request(GetChargingProfiles(8, 1, None, None, None))
    [report] = csms.actions("ReportChargingProfiles")
    [reported] = report["chargingProfile"][0]["chargingSchedule"][0]["chargingSchedulePeriod"]
    assert reported == {
        "startPeriod": 0,
        "operationMode": "CentralSetpoint",
        "setpoint": -7000.0,
        "dischargeLimit": -8000.0,
    }
    [changed] = [
        event
        for event in csms.actions("TransactionEvent")
        if event["triggerReason"] == "OperationModeChanged"
    ]
    assert changed["transactionInfo"] == {
        "transactionId": tx_id,
        "operationMode": "CentralSetpoint",
    }
    # A CentralSetpoint without a setpoint is no schedule.
    bad = request(
        csms, "SetChargingProfile", setpoint_profile(tx_id, operationMode="CentralSetpoint")
    )
    assert bad.status == "Rejected"
    # The meter values say the discharge: negative import power, a rising export register.
    m.station.config.set_local(
        "MeterValuesSampledData",
        "Energy.Active.Import.Register,Energy.Active.Export.Register,Power.Active.Import",
    )
    csms.advance(csms.now + 600)
    last = csms.actions("TransactionEvent")[-1]["meterValue"][0]["sampledValue"]
    said = {s["measurand"]: s["value"] for s in last}
    assert said["Power.Active.Import"] == -7000.0
    assert said["Energy.Active.Export.Register"] == pytest.approx(7000 * 600 / 3600, abs=0.1)


def test_a_20_1_station_refuses_a_negative_limit_and_does_not_discharge() -> None:
    m, csms = v2x_session(OCPP201)
    tx_id = str(m.station.connectors[1].transaction.transaction_id)
    answer = request(csms, "SetChargingProfile", setpoint_profile(tx_id, limit=-7000.0))
    assert answer.status == "Rejected"
    assert m.station.connectors[1].power_w == 100_000
    with pytest.raises(StationError) as refused:
        m.handle(GatewayCommand(Discharge(1, 7000.0)), csms.now)
    assert refused.value.code == "v2x_not_supported"
    assert "SetDERControl" not in codec_for(OCPP201).requests


def der(control_id: str, kind: str = "FixedVar", **fields: Any) -> dict[str, Any]:
    setting = {"priority": 1, "setpoint": 10.0, "unit": "PctMaxVar"}
    return {
        "isDefault": True,
        "controlId": control_id,
        "controlType": kind,
        "fixedVar": setting,
        **fields,
    }


def test_der_controls_are_stored_reported_in_pages_and_cleared() -> None:
    m, csms = v2x_session(OCPP21)
    for n in range(30):
        assert request(csms, "SetDERControl", der(f"var-{n:02d}")).status == "Accepted"
    missing = request(csms, "SetDERControl", {**der("x"), "controlType": "FreqDroop"})
    assert missing == DERControlAnswer("Rejected", reason="MissingParam")
    assert request(csms, "GetDERControl", {"requestId": 4}).status == "Accepted"
    pages = csms.actions("ReportDERControl")
    assert [len(page["fixedVar"]) for page in pages] == [24, 6]
    assert [page.get("tbc") for page in pages] == [True, None]
    # Each newer control of one priority superseded the one before.
    flags = [item["isSuperseded"] for page in pages for item in page["fixedVar"]]
    assert flags.count(False) == 1
    cleared = request(csms, "ClearDERControl", {"isDefault": True, "controlType": "FixedVar"})
    assert cleared.status == "Accepted"
    assert request(csms, "GetDERControl", {"requestId": 5}).status == "NotFound"
    assert not m.station.v2x.der


def test_a_grid_event_alarm_is_raised_and_ended_once() -> None:
    m, csms = v2x_session(OCPP21)
    trip = {
        "isDefault": True,
        "controlId": "lv",
        "controlType": "LVMustTrip",
        "curve": {"priority": 0, "yUnit": "PctEffectiveV", "curveData": [{"x": 0.5, "y": 85}]},
    }
    assert request(csms, "SetDERControl", trip).status == "Accepted"
    m.station.set_fault(0, Fault("UnderVoltage"), csms.now)
    raised = csms.command(GridConditionChanged())
    assert isinstance(raised, GridConditionAnswer) and raised.ceasing
    again = csms.command(GridConditionChanged())  # nothing new: no second alarm
    assert isinstance(again, GridConditionAnswer) and again.alarms == ()
    # The control cleared while the event lasts: the alarm ends with it.
    request(csms, "ClearDERControl", {"isDefault": True, "controlId": "lv"})
    alarms = csms.actions("NotifyDERAlarm")
    assert [(a["controlType"], a.get("alarmEnded", False)) for a in alarms] == [
        ("LVMustTrip", False),
        ("LVMustTrip", True),
    ]
    assert alarms[0]["gridEventFault"] == "UnderVoltage"


def test_offline_an_alarm_is_not_sent_late() -> None:
    m, csms = v2x_session(OCPP21)
    request(
        csms,
        "SetDERControl",
        {
            "isDefault": True,
            "controlId": "hv",
            "controlType": "HVMomCess",
            "curve": {"priority": 0, "yUnit": "PctEffectiveV", "curveData": [{"x": 0.2, "y": 110}]},
        },
    )
    csms.feed(Disconnected())
    m.station.set_fault(0, Fault("OverVoltage"), csms.now)
    answer = csms.command(GridConditionChanged())
    assert isinstance(answer, GridConditionAnswer) and answer.alarms == ()
    assert m.station.v2x.der.alarms == {"OverVoltage": "HVMomCess"}
    assert csms.actions("NotifyDERAlarm") == []


def test_the_discharge_command_sets_and_clears_an_external_setpoint() -> None:
    m, csms = v2x_session(OCPP21)
    answer = csms.command(Discharge(1, 8000.0))
    assert answer == DischargeAnswer(1, -8000.0, -8000.0, None, True)
    tx_id = str(m.station.connectors[1].transaction.transaction_id)
    request(csms, "SetChargingProfile", setpoint_profile(tx_id, limit=22_000.0))
    held = csms.command(Discharge(1, 8000.0))
    assert held == DischargeAnswer(1, -8000.0, 22_000.0, "ChargingOnly", False)
    assert csms.command(Discharge(1, 0.0)) == DischargeAnswer(
        1, None, 22_000.0, "ChargingOnly", False
    )
    # Only a bidirectional EV discharges.
    m2, csms2 = station_machine(OCPP21, "dc-150kw-2ccs")
    csms2.command(PlugIn(1, ElectricVehicle(PROFILES_BY_NAME["iso15118-sedan"], 50.0)))
    with pytest.raises(StationError) as refused:
        m2.handle(GatewayCommand(Discharge(1, 5000.0)), csms2.now)
    assert refused.value.code == "ev_not_bidirectional"
