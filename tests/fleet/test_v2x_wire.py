"""OCPP 2.1 bidirectional power transfer (V2X) and DER control on the wire, against the strict
ocpp-rpc CSMS with the 2.1 schemas (issue 17's acceptance):

- a V2X EV's session: its NotifyEVChargingNeeds carries the V2X parameters; a TxProfile in
  CentralSetpoint with a setpoint and discharge limit of -7 kW makes it discharge: the meter
  values the CSMS received show Power.Active.Import at -7000 W, the export register rising by
  power x time (within 2 %), the import register unchanged, the state of charge falling;
- DER control set, read back, cleared, with its effect on that discharge (LimitMaxDischarge
  caps it), and a grid event under a trip control (NotifyDERAlarm, the power stopped, the
  alarm ended when the event clears);
- one malformed request of each new CSMS-initiated 2.1 message answered with its CALLERROR;
- 0 strict failures."""

from __future__ import annotations

from typing import Any

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

SETPOINT_W = -7000.0
IMPORT = "Energy.Active.Import.Register"
EXPORT = "Energy.Active.Export.Register"
POWER = "Power.Active.Import"
MEASURANDS = f"{IMPORT},{EXPORT},{POWER},Power.Active.Export,SoC"


@pytest.fixture
async def peer21():
    async with OcppRpcPeer(protocols=("ocpp2.1",), strict=True) as peer:
        yield peer


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str) -> StationRunner:
    spec = ChargerSpec(f"dep-{identity}", "org", identity, peer.url, "ocpp2.1", "dc-150kw-2ccs")
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    return runner


def samples(peer: OcppRpcPeer, identity: str) -> list[tuple[float, dict[str, float]]]:
    """(timestamp, {measurand: value}) of every meter value the CSMS received in a
    TransactionEvent, oldest first."""
    found = []
    for event in peer.calls(identity, "TransactionEvent"):
        for value in event.get("meterValue", []):
            said = {s.get("measurand", IMPORT): float(s["value"]) for s in value["sampledValue"]}
            found.append((parse_timestamp(value["timestamp"]), said))
    return found


def discharging(peer: OcppRpcPeer, identity: str, power: float) -> list[tuple[float, dict]]:
    return [(at, said) for at, said in samples(peer, identity) if said.get(POWER) == power]


def modes(peer: OcppRpcPeer, identity: str) -> list[str]:
    return [
        event["transactionInfo"]["operationMode"]
        for event in peer.calls(identity, "TransactionEvent")
        if event["triggerReason"] == "OperationModeChanged"
    ]


def profile(tx_id: str, period: dict[str, Any]) -> dict[str, Any]:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": 71,
            "transactionId": tx_id,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [
                {
                    "id": 72,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, **period}],
                }
            ],
        },
    }


async def v2x_session(runner: StationRunner, peer: OcppRpcPeer, identity: str) -> str:
    """A V2X EV at 70 % on connector 1, its meter values carrying both registers."""
    answer = await peer.call(
        identity,
        "SetVariables",
        {
            "setVariableData": [
                {
                    "component": {"name": "SampledDataCtrlr"},
                    "variable": {"name": "TxUpdatedMeasurands"},
                    "attributeValue": MEASURANDS,
                }
            ]
        },
    )
    assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
    plug = {"connector_id": 1, "ev_profile": "v2x-dc-crossover", "soc_percent": 70}
    await COMMANDS["plug_connector"](runner, plug)
    await COMMANDS["start_session"](runner, {"id_tag": "V2X-DRIVER", "connector_id": 1})
    tx = runner.station.connectors[1].transaction
    assert tx is not None
    return str(tx.transaction_id)


async def test_a_21_session_discharges_at_the_setpoint_and_meters_both_ways(
    runtime, peer21
) -> None:
    peer, ident = peer21, "V2X-7KW"
    runner = await boot(runtime, peer, ident)
    tx_id = await v2x_session(runner, peer, ident)
    # The EV states its V2X needs: DC_BPT, its discharge power and V2X range.
    await wait_until(lambda: peer.calls(ident, "NotifyEVChargingNeeds"))
    [needs] = peer.calls(ident, "NotifyEVChargingNeeds")
    charging = needs["chargingNeeds"]
    assert charging["requestedEnergyTransfer"] == "DC_BPT"
    assert charging["availableEnergyTransfer"] == ["DC", "DC_BPT"]
    v2x = charging["v2xChargingParameters"]
    assert (v2x["maxDischargePower"], v2x["maxChargePower"]) == (10_000, 100_000)
    # 70 % of 64 kWh: 25.6 kWh above its V2X floor (30 %), 12.8 kWh below its top (90 %).
    assert -25_700 <= v2x["evMinV2XEnergyRequest"] <= -25_500
    assert 12_700 <= v2x["evMaxV2XEnergyRequest"] <= 12_900
    # The CSMS asks for 7 kW back: CentralSetpoint, setpoint and discharge limit -7 kW.
    period = {"operationMode": "CentralSetpoint", "setpoint": SETPOINT_W, "dischargeLimit": -7000}
    assert (await peer.call(ident, "SetChargingProfile", profile(tx_id, period)))["status"] == (
        "Accepted"
    )
    assert runner.station.connectors[1].power_w == SETPOINT_W
    # The CSMS hears of the mode: TransactionEvent Updated, triggerReason OperationModeChanged.
    await wait_until(lambda: modes(peer, ident))
    assert modes(peer, ident) == ["CentralSetpoint"]
    # 16 samples 30 s apart: 7.5 minutes, 875 Wh, more than 1 % of the battery.
    await wait_until(lambda: len(discharging(peer, ident, SETPOINT_W)) >= 16, timeout=30)
    seen = discharging(peer, ident, SETPOINT_W)
    (first_at, first), (last_at, last) = seen[0], seen[-1]
    expected_wh = 7000.0 * (last_at - first_at) / 3600.0
    exported = last[EXPORT] - first[EXPORT]
    assert expected_wh > 100  # long enough to measure: minutes of simulated time
    assert abs(exported - expected_wh) <= 0.02 * expected_wh, (exported, expected_wh)
    assert last[IMPORT] == first[IMPORT]  # the import register stays where it was
    assert all(said["Power.Active.Export"] == 7000.0 for _, said in seen)
    assert last["SoC"] <= first["SoC"] - 1  # SoC is sampled in whole percent
    print(
        f"V2X: {len(seen)} samples over {last_at - first_at:.0f} s at {SETPOINT_W:.0f} W: "
        f"export +{exported:.1f} Wh (expected {expected_wh:.1f} Wh, "
        f"{100 * (exported - expected_wh) / expected_wh:+.3f} %), import "
        f"{first[IMPORT]:.1f} -> {last[IMPORT]:.1f} Wh, SoC {first['SoC']} -> {last['SoC']} %"
    )
    state = runner.live_state()["connectors"][0]
    assert state["status"] == "Charging" and state["power_w"] == SETPOINT_W
    # In dynamic control the EV follows setpoints: it plans no schedule of its own.
    assert peer.calls(ident, "NotifyEVChargingSchedule") == []
    assert state["export_wh"] >= last[EXPORT]
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await peer.sync()
    assert peer.strict_failures == []


async def test_der_controls_set_read_cleared_and_acted_on(runtime, peer21) -> None:
    peer, ident = peer21, "V2X-DER"
    runner = await boot(runtime, peer, ident)
    tx_id = await v2x_session(runner, peer, ident)
    period = {"operationMode": "CentralSetpoint", "setpoint": SETPOINT_W}
    await peer.call(ident, "SetChargingProfile", profile(tx_id, period))
    assert runner.station.connectors[1].power_w == SETPOINT_W
    # LimitMaxDischarge: half of the EV's rated 10 kW, so 5 kW of the 7 asked for.
    limit = {
        "isDefault": True,
        "controlId": "lmd-default",
        "controlType": "LimitMaxDischarge",
        "limitMaxDischarge": {"priority": 1, "pctMaxDischargePower": 50},
    }
    assert await peer.call(ident, "SetDERControl", limit) == {"status": "Accepted"}
    assert runner.station.connectors[1].power_w == -5000.0
    await wait_until(lambda: discharging(peer, ident, -5000.0), timeout=10)
    # A default of higher priority (a lower number) supersedes it: 20 %, 2 kW.
    tighter = {
        "isDefault": True,
        "controlId": "lmd-tighter",
        "controlType": "LimitMaxDischarge",
        "limitMaxDischarge": {"priority": 0, "pctMaxDischargePower": 20},
    }
    answer = await peer.call(ident, "SetDERControl", tighter)
    assert answer == {"status": "Accepted", "supersededIds": ["lmd-default"]}
    assert runner.station.connectors[1].power_w == -2000.0
    fixed_pf = {
        "isDefault": True,
        "controlId": "pf-1",
        "controlType": "FixedPFInject",
        "fixedPFInject": {"priority": 2, "displacement": 0.95, "excitation": False},
    }
    assert (await peer.call(ident, "SetDERControl", fixed_pf))["status"] == "Accepted"
    # Gradients exist only as defaults: a scheduled one is refused.
    gradient = {
        "isDefault": False,
        "controlId": "grad-1",
        "controlType": "Gradients",
        "gradient": {"priority": 1, "gradient": 10, "softGradient": 5},
    }
    refused = await peer.call(ident, "SetDERControl", gradient)
    assert refused == {"status": "Rejected", "statusInfo": {"reasonCode": "DefaultOnly"}}
    # Read back: ReportDERControl with both limits (one superseded) and the power factor.
    got = await peer.call(ident, "GetDERControl", {"requestId": 9, "isDefault": True})
    assert got == {"status": "Accepted"}
    await wait_until(lambda: peer.calls(ident, "ReportDERControl"))
    [report] = peer.calls(ident, "ReportDERControl")
    assert report["requestId"] == 9 and "tbc" not in report
    assert [(c["id"], c["isSuperseded"]) for c in report["limitMaxDischarge"]] == [
        ("lmd-tighter", False),
        ("lmd-default", True),
    ]
    assert report["fixedPFInject"] == [
        {
            "id": "pf-1",
            "isDefault": True,
            "isSuperseded": False,
            "fixedPF": {"priority": 2, "displacement": 0.95, "excitation": False},
        }
    ]
    none = await peer.call(ident, "GetDERControl", {"requestId": 10, "controlType": "VoltVar"})
    assert none == {"status": "NotFound"}
    # Cleared: the discharge comes back to the setpoint.
    cleared = await peer.call(
        ident, "ClearDERControl", {"isDefault": True, "controlType": "LimitMaxDischarge"}
    )
    assert cleared == {"status": "Accepted"}
    assert runner.station.connectors[1].power_w == SETPOINT_W
    again = await peer.call(ident, "ClearDERControl", {"isDefault": True, "controlId": "lmd-x"})
    assert again == {"status": "NotFound"}
    # A grid event under a trip control: alarm, the power stops; cleared: alarm ended, back.
    trip = {
        "isDefault": True,
        "controlId": "hf-trip",
        "controlType": "HFMustTrip",
        "curve": {
            "priority": 0,
            "yUnit": "Not_Applicable",
            "curveData": [{"x": 50.5, "y": 0.2}, {"x": 51.5, "y": 0.0}],
        },
    }
    assert await peer.call(ident, "SetDERControl", trip) == {"status": "Accepted"}
    injected = await COMMANDS["inject_fault"](
        runner, {"connector_id": 0, "fault_type": "OverFrequency"}
    )
    assert injected["der_alarms"] == [{"control_type": "HFMustTrip", "ended": False}]
    assert injected["der_trip"] is True and injected["stopped_transactions"] == []
    assert runner.station.connectors[1].power_w == 0.0
    await wait_until(lambda: peer.calls(ident, "NotifyDERAlarm"))
    [alarm] = peer.calls(ident, "NotifyDERAlarm")
    assert (alarm["controlType"], alarm["gridEventFault"]) == ("HFMustTrip", "OverFrequency")
    assert "alarmEnded" not in alarm
    cleared_fault = await COMMANDS["clear_fault"](runner, {"connector_id": 0})
    assert cleared_fault["der_alarms"] == [{"control_type": "HFMustTrip", "ended": True}]
    await wait_until(lambda: len(peer.calls(ident, "NotifyDERAlarm")) == 2)
    assert peer.calls(ident, "NotifyDERAlarm")[1]["alarmEnded"] is True
    assert runner.station.connectors[1].power_w == SETPOINT_W
    view = runner.live_state()["der_controls"]
    assert [(c["control_id"], c["in_force"]) for c in view] == [
        ("pf-1", True),
        ("hf-trip", True),
    ]
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await peer.sync()
    assert peer.strict_failures == []


async def test_the_gateway_discharge_is_an_external_setpoint(runtime, peer21) -> None:
    peer, ident = peer21, "V2X-EXT"
    runner = await boot(runtime, peer, ident)
    tx_id = await v2x_session(runner, peer, ident)
    # No schedule of its own: the station follows the external setpoint.
    result = await COMMANDS["discharge"](runner, {"connector_id": 1, "power_kw": 6})
    assert (result["power_w"], result["operation_mode"], result["following_setpoint"]) == (
        -6000.0,
        None,
        True,
    )
    await wait_until(lambda: discharging(peer, ident, -6000.0), timeout=10)
    # The CSMS says ChargingOnly: the setpoint is held, not followed; ExternalSetpoint: it is,
    # within the period's discharge limit.
    await peer.call(ident, "SetChargingProfile", profile(tx_id, {"limit": 50_000.0}))
    assert runner.station.connectors[1].power_w == 50_000.0
    external = {"operationMode": "ExternalSetpoint", "dischargeLimit": -4000.0}
    await peer.call(ident, "SetChargingProfile", profile(tx_id, external))
    assert runner.station.connectors[1].power_w == -4000.0
    stopped = await COMMANDS["discharge"](runner, {"connector_id": 1, "power_kw": 0})
    assert stopped["setpoint_w"] is None and stopped["power_w"] == 100_000.0
    await wait_until(lambda: len(modes(peer, ident)) == 1)
    assert modes(peer, ident) == ["ExternalSetpoint"]  # ChargingOnly was the default already
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await peer.sync()
    assert peer.strict_failures == []


MALFORMED: list[tuple[str, Any, str]] = [
    (
        "SetDERControl",
        {"isDefault": True, "controlType": "LimitMaxDischarge"},  # no controlId
        "OccurrenceConstraintViolation",
    ),
    ("GetDERControl", {"requestId": "nine"}, "TypeConstraintViolation"),
    (
        "ClearDERControl",
        {"isDefault": True, "controlType": "Everything"},
        "PropertyConstraintViolation",
    ),
]


@pytest.mark.csms_misbehaves  # it sends malformed requests on purpose
async def test_one_malformed_request_of_each_gets_the_right_callerror(runtime, peer21) -> None:
    peer, ident = peer21, "V2X-BAD"
    await boot(runtime, peer, ident)
    for index, (action, payload, code) in enumerate(MALFORMED):
        message_id = f"bad-der-{index}"
        frame = await peer.call_raw(ident, message_id, action, payload)
        assert (frame[0], frame[2]) == (4, code), (action, frame)
