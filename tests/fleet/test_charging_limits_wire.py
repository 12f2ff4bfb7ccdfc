"""What a 2.x station reports on its own about limits and EVs, on the wire against the strict
ocpp-rpc CSMS (2.0.1 and 2.1): an external limit set and cleared with the gateway's
set-charging-limit / clear-charging-limit commands (NotifyChargingLimit, ClearedChargingLimit,
the power following), and an ISO 15118 EV's needs at the start of its session
(NotifyEVChargingNeeds) and its plan once the CSMS sends a TxProfile
(NotifyEVChargingSchedule); a 1.6 station obeys the limit and says nothing."""

from __future__ import annotations

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec

VERSIONS = ["ocpp2.0.1", "ocpp2.1"]


@pytest.fixture(params=VERSIONS)
async def peer2x(request):
    async with OcppRpcPeer(protocols=(request.param,), strict=True) as peer:
        peer.version = request.param
        yield peer


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str, model: str, version: str):
    spec = ChargerSpec(f"dep-{identity}", "org", identity, peer.url, version, model)
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    return runner


async def test_an_external_limit_is_obeyed_and_reported(runtime, peer2x) -> None:
    peer, ident = peer2x, "CL-EMS"
    runner = await boot(runtime, peer, ident, "ac-22kw-2c", peer.version)
    await COMMANDS["plug_connector"](runner, {"connector_id": 1, "ev_profile": "zoe-like"})
    await COMMANDS["start_session"](runner, {"id_tag": "EMS-1", "connector_id": 1})
    assert runner.station.connectors[1].power_w == 22_000
    result = await COMMANDS["set_charging_limit"](
        runner, {"connector_id": 1, "limit_kw": 7.4, "source": "EMS", "is_grid_critical": False}
    )
    assert result == {
        "connector_id": 1,
        "limit_w": 7400.0,
        "source": "EMS",
        "notified_csms": True,
    }
    await wait_until(lambda: peer.calls(ident, "NotifyChargingLimit"))
    assert peer.calls(ident, "NotifyChargingLimit") == [
        {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": False}, "evseId": 1}
    ]
    assert runner.live_state()["connectors"][0]["power_w"] == 7400
    assert runner.live_state()["external_limits"] == [
        {"connector_id": 1, "limit_w": 7400.0, "source": "EMS", "grid_critical": False}
    ]

    # The meter values show it: the next periodic sample reads 7.4 kW.
    def sampled_power() -> list[float]:
        return [
            float(sample["value"])
            for event in peer.calls(ident, "TransactionEvent")
            for value in event.get("meterValue", [])
            for sample in value["sampledValue"]
            if sample.get("measurand") == "Power.Active.Import"
        ]

    await wait_until(lambda: 7400.0 in sampled_power(), timeout=10)
    cleared = await COMMANDS["clear_charging_limit"](runner, {"connector_id": 1})
    assert cleared["limit_w"] is None and cleared["notified_csms"] is True
    await wait_until(lambda: peer.calls(ident, "ClearedChargingLimit"))
    assert peer.calls(ident, "ClearedChargingLimit") == [
        {"chargingLimitSource": "EMS", "evseId": 1}
    ]
    assert runner.station.connectors[1].power_w == 22_000
    await peer.sync()
    assert peer.strict_failures == []


async def test_an_iso15118_ev_states_its_needs_and_its_plan(runtime, peer2x) -> None:
    peer, ident = peer2x, "CL-15118"
    runner = await boot(runtime, peer, ident, "dc-150kw-2ccs", peer.version)
    await COMMANDS["plug_connector"](
        runner,
        {
            "connector_id": 2,
            "ev_profile": "iso15118-sedan",
            "soc_percent": 25,
            "departure_seconds": 7200,
        },
    )
    await COMMANDS["start_session"](runner, {"id_tag": "EV-15118", "connector_id": 2})
    await wait_until(lambda: peer.calls(ident, "NotifyEVChargingNeeds"))
    [needs] = peer.calls(ident, "NotifyEVChargingNeeds")
    assert needs["evseId"] == 2
    dc = needs["chargingNeeds"]["dcChargingParameters"]
    assert needs["chargingNeeds"]["requestedEnergyTransfer"] == "DC"
    assert "departureTime" in needs["chargingNeeds"]
    assert dc["evMaxVoltage"] == 470 and dc["evEnergyCapacity"] == 77_000
    assert 57_000 <= dc["energyAmount"] <= 57_750  # 75 % of 77 kWh, less what flowed meanwhile
    tx_id = runner.station.connectors[2].transaction.transaction_id
    profile = {
        "evseId": 2,
        "chargingProfile": {
            "id": 40,
            "transactionId": tx_id,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [
                {
                    "id": 41,
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 60_000.0},
                        {"startPeriod": 3600, "limit": 120_000.0},
                    ],
                }
            ],
        },
    }
    assert (await peer.call(ident, "SetChargingProfile", profile))["status"] == "Accepted"
    await wait_until(lambda: peer.calls(ident, "NotifyEVChargingSchedule"))
    [plan] = peer.calls(ident, "NotifyEVChargingSchedule")
    schedule = plan["chargingSchedule"]
    assert plan["evseId"] == 2 and schedule["id"] == 41
    limits = [period["limit"] for period in schedule["chargingSchedulePeriod"]]
    assert limits == [60_000.0, 120_000.0]  # below what the EV (150 kW) and connector take
    assert 7000 <= schedule["duration"] <= 7200  # until the driver leaves
    assert runner.station.connectors[2].power_w == 60_000
    await peer.sync()
    assert peer.strict_failures == []


async def test_a_16_station_obeys_an_external_limit_and_says_nothing(runtime) -> None:
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as peer:
        runner = await boot(runtime, peer, "CL-16", "ac-22kw-2c", "ocpp1.6")
        await COMMANDS["plug_connector"](runner, {"connector_id": 1, "ev_profile": "zoe-like"})
        await COMMANDS["start_session"](runner, {"id_tag": "EMS-16", "connector_id": 1})
        result = await COMMANDS["set_charging_limit"](runner, {"connector_id": 0, "limit_kw": 11.0})
        assert result["notified_csms"] is False
        assert runner.station.connectors[1].power_w == 11_000
        await peer.sync()
        assert peer.strict_failures == []
