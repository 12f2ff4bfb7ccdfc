"""External limits (OCPP 2.0.1 K12/K13) and an ISO 15118 EV's needs and plan (K15-K17) in the
station machine, on 2.0.1 and 2.1 against an automatic CSMS that checks every frame against
the OCA schemas; and what a 1.6 station does with an external limit (it obeys, says nothing).
Plus the network profiles' fallback per NetworkProfileConnectionAttempts (B10)."""

from __future__ import annotations

import pytest

from fleet.auto_csms import T0, AutoCsms, station_machine
from voltlab.fleet.codecs import ocpp201_control
from voltlab.fleet.machine.charging_limit_messages import (
    ClearExternalLimit,
    ExternalLimitAnswer,
    SetExternalLimit,
)
from voltlab.fleet.machine.configuration_messages import SetNetworkProfile, SetVariables
from voltlab.fleet.machine.control_messages import GetCompositeSchedule
from voltlab.fleet.machine.effects import Answer, Persist, SendCall, UseSecurityProfile
from voltlab.fleet.machine.events import (
    Connected,
    ConnectFailed,
    CsmsRequest,
    Disconnected,
    GatewayCommand,
)
from voltlab.fleet.machine.machine import StationMachine
from voltlab.fleet.machine.session_messages import PlugIn, StartTransaction
from voltlab.fleet.machine.settings import MachineSettings
from voltlab.fleet.model.catalog import CATALOG
from voltlab.fleet.model.device_model_types import ComponentRef, VariableRef, VariableSet
from voltlab.fleet.model.ev import PROFILES_BY_NAME, ElectricVehicle
from voltlab.fleet.model.network_profiles import NetworkProfile
from voltlab.fleet.model.records import StationError
from voltlab.fleet.model.station import Station
from voltlab.ocpp.versions import OCPP21, OCPP201

VERSIONS = [OCPP201, OCPP21]


def start(m: StationMachine, csms: AutoCsms, ev: str, departure: float | None = None) -> str:
    csms.command(PlugIn(1, ElectricVehicle(PROFILES_BY_NAME[ev], 40.0, departure)))
    csms.command(StartTransaction(1, "TAG-15118"))
    tx = m.station.connectors[1].transaction
    assert tx is not None
    return str(tx.transaction_id)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_external_limit_caps_the_power_and_is_reported(version: str) -> None:
    m, csms = station_machine(version)
    start(m, csms, "zoe-like")  # 22 kW on board, on a 22 kW connector
    assert m.station.connectors[1].power_w == 22_000
    answer = csms.command(SetExternalLimit(1, 7_400.0, "EMS", grid_critical=True))
    assert answer == ExternalLimitAnswer(1, 7_400.0, "EMS", notified=True)
    assert m.station.connectors[1].power_w == 7_400
    [notice] = csms.actions("NotifyChargingLimit")
    assert notice == {
        "chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": True},
        "evseId": 1,
    }
    # GetCompositeSchedule sees it as well.
    composite = csms.request(GetCompositeSchedule(1, 600, "W"))
    periods = composite.schedule["periods"]  # type: ignore[union-attr]
    assert {period["limit"] for period in periods} == {7_400.0}
    # A change within LimitChangeSignificance (10 %) is not reported; beyond it, with the
    # schedule when NotifyChargingLimitWithSchedules is true.
    m.device_model.set_dotted("SmartChargingCtrlr.LimitChangeSignificance", "10")
    m.device_model.set_dotted("SmartChargingCtrlr.NotifyChargingLimitWithSchedules", "true")
    assert not csms.command(SetExternalLimit(1, 7_000.0)).notified  # type: ignore[union-attr]
    assert csms.command(SetExternalLimit(1, 3_680.0)).notified  # type: ignore[union-attr]
    latest = csms.actions("NotifyChargingLimit")[-1]
    [schedule] = latest["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "W"
    assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 3680.0}]
    assert m.station.connectors[1].power_w == 3_680
    # Cleared: the power comes back, ClearedChargingLimit says so.
    csms.command(ClearExternalLimit(1))
    assert csms.actions("ClearedChargingLimit") == [{"chargingLimitSource": "EMS", "evseId": 1}]
    assert m.station.connectors[1].power_w == 22_000
    with pytest.raises(StationError) as raised:
        csms.command(ClearExternalLimit(1))
    assert raised.value.code == "no_limit"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_station_wide_limit_shares_the_station(version: str) -> None:
    m, csms = station_machine(version)
    start(m, csms, "zoe-like")
    csms.command(SetExternalLimit(0, 11_000.0, "SO"))
    assert m.station.connectors[1].power_w == 11_000
    assert csms.actions("NotifyChargingLimit") == [{"chargingLimit": {"chargingLimitSource": "SO"}}]
    m.device_model.set_dotted("SmartChargingCtrlr.ExternalControlSignalsEnabled", "false")
    with pytest.raises(StationError) as raised:
        csms.command(SetExternalLimit(0, 5_000.0))
    assert raised.value.code == "external_control_disabled"


def test_a_16_station_obeys_an_external_limit_without_a_message() -> None:
    m = StationMachine(
        Station("CP-16", CATALOG["ac-22kw-2c"], seed=2),
        MachineSettings(reports_reservation_ends=False),
    )
    effects = m.handle(GatewayCommand(SetExternalLimit(0, 4_000.0)), T0)
    answers = [effect.message for effect in effects if isinstance(effect, Answer)]
    assert answers == [ExternalLimitAnswer(0, 4_000.0, "EMS", notified=False)]
    assert not any(isinstance(effect, SendCall) for effect in effects)
    m.station.advance(T0)
    assert m.station.charging_limit_w(0) == 4_000.0


@pytest.mark.parametrize("version", VERSIONS)
def test_an_iso15118_ev_states_its_needs_and_plans_from_a_tx_profile(version: str) -> None:
    m, csms = station_machine(version, model="dc-150kw-2ccs")
    departure = T0 + 5_400
    tx_id = start(m, csms, "iso15118-800v-suv", departure)
    [needs] = csms.actions("NotifyEVChargingNeeds")
    assert needs["evseId"] == 1
    charging = needs["chargingNeeds"]
    assert charging["requestedEnergyTransfer"] == "DC"
    assert charging["departureTime"] == "2027-01-15T09:30:00.000Z"
    dc = charging["dcChargingParameters"]
    assert dc["energyAmount"] == 57_000  # 60 % of a 95 kWh battery
    assert (dc["evMaxVoltage"], dc["evMaxPower"], dc["stateOfCharge"]) == (850, 250_000, 40)
    assert dc["evEnergyCapacity"] == 95_000
    # The CSMS's TxProfile: 50 kW for 30 minutes, then 100 kW; the EV plans until departure.
    payload = {
        "evseId": 1,
        "chargingProfile": {
            "id": 31,
            "transactionId": tx_id,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [
                {
                    "id": 77,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 50_000},
                        {"startPeriod": 1_800, "limit": 100_000},
                    ],
                }
            ],
        },
    }
    csms.schemas.validate_request("SetChargingProfile", payload)
    csms.feed(CsmsRequest(ocpp201_control.decode_set_charging_profile(payload)))
    [plan] = csms.actions("NotifyEVChargingSchedule")
    assert plan["evseId"] == 1 and plan["timeBase"] == "2027-01-15T08:00:00.000Z"
    schedule = plan["chargingSchedule"]
    assert (schedule["id"], schedule["chargingRateUnit"], schedule["duration"]) == (77, "W", 5_400)
    assert schedule["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 50_000.0},
        {"startPeriod": 1_800, "limit": 100_000.0},
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_an_ev_without_iso15118_says_nothing(version: str) -> None:
    m, csms = station_machine(version)
    start(m, csms, "family-hatch")
    assert csms.actions("NotifyEVChargingNeeds") == []


# -- network profiles: fallback per NetworkProfileConnectionAttempts -------------------------


def priority(value: str) -> SetVariables:
    component, variable = ComponentRef("OCPPCommCtrlr"), VariableRef("NetworkConfigurationPriority")
    return SetVariables((VariableSet(component, variable, value),))


@pytest.mark.parametrize("version", VERSIONS)
def test_failed_attempts_move_to_the_next_network_profile(version: str) -> None:
    m, csms = station_machine(version)
    m.context.security.configured = m.context.security.profile = 1
    second = NetworkProfile("ws://csms-b.example/ocpp", 1)
    csms.request(SetNetworkProfile(2, second))
    assert csms.request(priority("2,1")).results[0].status == "Accepted"  # type: ignore[union-attr]
    assert m.device_model.get_dotted("OCPPCommCtrlr.NetworkConfigurationPriority") == "2,1"
    assert m.station.network.active == 2
    csms.feed(Disconnected())
    m.device_model.set_dotted("OCPPCommCtrlr.NetworkProfileConnectionAttempts", "2")
    assert m.handle(ConnectFailed(), csms.now) == []
    # The second failure on slot 2: slot 1 (the configured connection) from the next attempt.
    assert m.handle(ConnectFailed(), csms.now) == [
        Persist(),
        UseSecurityProfile(1, None, reconnect=False),
    ]
    assert m.device_model.get_dotted("OCPPCommCtrlr.ActiveNetworkProfile") == "1"
    csms.feed(Connected())
    assert m.online and m.station.network.priority == (2, 1)  # same profile: nothing dropped
    # Slot 1 fails twice too: back to slot 2.
    csms.feed(Disconnected())
    m.handle(ConnectFailed(), csms.now)
    assert m.handle(ConnectFailed(), csms.now)[-1] == UseSecurityProfile(
        1, "ws://csms-b.example/ocpp", reconnect=False
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_basic_auth_password_is_used_from_the_next_connection(version: str) -> None:
    m, csms = station_machine(version)
    m.context.security.configured = m.context.security.profile = 1
    password = VariableSet(
        ComponentRef("SecurityCtrlr"), VariableRef("BasicAuthPassword"), "a-new-password-123"
    )
    effects = csms.feed(CsmsRequest(SetVariables((password,))))
    [answer] = [e for e in effects if isinstance(e, Answer)]
    assert answer.message.results[0].status == "RebootRequired"  # type: ignore[union-attr]
    uses = [e for e in effects if isinstance(e, UseSecurityProfile)]
    assert uses == [UseSecurityProfile(1, None, reconnect=False, password="a-new-password-123")]
    assert effects.index(uses[0]) < effects.index(answer)  # set before the answer goes out
