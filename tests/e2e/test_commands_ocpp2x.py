"""The command endpoints on OCPP 2.0.1 and 2.1 stations, over HTTP, with their effect on
the wire (strict ocpp-rpc CSMS), and a location mixing 1.6, 2.0.1 and 2.1 chargers."""

from __future__ import annotations

import pytest

from support import wait_until

from .conftest import Gateway


def sent(gw: Gateway, identity: str, action: str) -> list[dict]:
    return gw.peer.calls(identity, action)


def tx_events(gw: Gateway, identity: str) -> list[dict]:
    return sent(gw, identity, "TransactionEvent")


def last_status(gw: Gateway, identity: str, evse_id: int) -> str | None:
    found = [
        c["connectorStatus"]
        for c in sent(gw, identity, "StatusNotification")
        if c["evseId"] == evse_id
    ]
    return found[-1] if found else None


@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
async def test_all_18_commands_on_2x(gateway: Gateway, version: str) -> None:
    gw = gateway
    location = await gw.location(chargers=2, version=version, prefix=f"CS-{version[-3:]}-")
    first, second = location["chargers"]
    target = {"location_id": location["location_id"], "charger_ids": [first["charger_id"]]}
    ident = first["identity"]
    cid = first["charger_id"]

    records = await gw.command(
        "configuration", target, {"key": "AuthCtrlr.LocalPreAuthorize", "value": "true"}
    )
    assert records[0]["result"]["value"] == "true"
    got = await gw.peer.call(
        ident,
        "GetVariables",
        {
            "getVariableData": [
                {"component": {"name": "AuthCtrlr"}, "variable": {"name": "LocalPreAuthorize"}}
            ]
        },
    )
    assert got["getVariableResult"][0]["attributeValue"] == "true"
    await gw.command(
        "local-auth-list",
        target,
        {
            "list_version": 3,
            "update_type": "Full",
            "entries": [{"id_tag": "LOCAL-1", "status": "Accepted"}],
        },
    )
    assert await gw.peer.call(ident, "GetLocalListVersion", {}) == {"versionNumber": 3}
    await gw.command("clear-local-auth-list", target)
    assert await gw.peer.call(ident, "GetLocalListVersion", {}) == {"versionNumber": 0}
    assert (await gw.command("authorize-id-tag", target, {"id_tag": "TAG-A"}))[0]["result"][
        "source"
    ] == "csms"
    assert (await gw.command("authorize-id-tag", target, {"id_tag": "TAG-A"}))[0]["result"][
        "source"
    ] == "cache"
    await gw.command("cache/reset", target)
    assert (await gw.command("authorize-id-tag", target, {"id_tag": "TAG-A"}))[0]["result"][
        "source"
    ] == "csms"
    assert [a["idToken"]["idToken"] for a in sent(gw, ident, "Authorize")] == ["TAG-A", "TAG-A"]

    await gw.command("plug-connector", target, {"connector_id": 1})
    await wait_until(lambda: last_status(gw, ident, 1) == "Occupied")
    await gw.command("start-transaction", target, {"connector_id": 1, "id_tag": "TAG-A"})
    started = [e for e in tx_events(gw, ident) if e["eventType"] == "Started"][-1]
    assert started["idToken"]["idToken"] == "TAG-A"
    assert tx_events(gw, ident)[-1]["transactionInfo"].get("chargingState") == "Charging"
    await gw.command("ev-stops-energy", target, {"connector_id": 1})
    await wait_until(
        lambda: tx_events(gw, ident)[-1]["transactionInfo"].get("chargingState") == "SuspendedEV"
    )
    await gw.command("ev-requests-energy", target, {"connector_id": 1, "power_kw": 3.7})
    await wait_until(
        lambda: tx_events(gw, ident)[-1]["transactionInfo"].get("chargingState") == "Charging"
    )
    await gw.command(
        "power-update", target, {"connector_id": 1, "power_kw": 7.0, "soc_percent": 50}
    )
    state = (await gw.charger(cid))["connectors"][0]
    assert state["power_w"] == 7000
    await gw.command("stop-transaction", target, {"connector_id": 1, "reason": "Local"})
    ended = tx_events(gw, ident)[-1]
    assert ended["eventType"] == "Ended" and ended["transactionInfo"]["stoppedReason"] == "Local"
    await gw.command("unplug-connector", target, {"connector_id": 1})
    await wait_until(lambda: last_status(gw, ident, 1) == "Available")

    await gw.command(
        "start-session", target, {"id_tag": "TAG-B", "connector_id": 2, "duration_seconds": 120}
    )
    await wait_until(lambda: tx_events(gw, ident)[-1]["eventType"] == "Ended", timeout=15)
    assert tx_events(gw, ident)[-1]["transactionInfo"]["stoppedReason"] == "TimeLimitReached"
    await gw.command("start-session", target, {"id_tag": "TAG-C", "connector_id": 2})
    await gw.command("stop-session", target, {"connector_id": 2})
    assert tx_events(gw, ident)[-1]["eventType"] == "Ended"
    await wait_until(lambda: last_status(gw, ident, 2) == "Available")

    await gw.command("start-session", target, {"id_tag": "TAG-D", "connector_id": 1})
    await gw.command("inject-fault", target, {"connector_id": 1, "fault_type": "OverCurrent"})
    assert last_status(gw, ident, 1) == "Faulted"
    assert tx_events(gw, ident)[-1]["transactionInfo"]["stoppedReason"] == "EmergencyStop"
    await gw.command("clear-fault", target, {"connector_id": 1})
    await wait_until(lambda: last_status(gw, ident, 1) == "Occupied")  # cable still in
    await gw.command("unplug-connector", target, {"connector_id": 1})
    records = await gw.command("unlock-connector", target, {"connector_id": 1})
    assert records[0]["result"]["unlock_status"] == "Unlocked"
    records = await gw.command(
        "proxy-message",
        target,
        {"action": "DataTransfer", "payload": {"vendorId": "com.example", "data": "42"}},
    )
    assert records[0]["result"]["response"]["status"] == "Accepted"
    assert sent(gw, ident, "DataTransfer")[-1]["data"] == "42"
    # the charger outside charger_ids saw none of it
    assert tx_events(gw, second["identity"]) == []
    await gw.peer.sync()
    assert gw.peer.strict_failures == []


async def test_mixed_location_one_start_session(gateway: Gateway) -> None:
    gw = gateway
    location = await gw.location(chargers=1, version="ocpp1.6", prefix="MIX-16-")
    for version, identity in (("ocpp2.0.1", "MIX-201"), ("ocpp2.1", "MIX-21")):
        response = await gw.post(
            "/ocpp/chargers",
            {"identity": identity, "location_id": location["location_id"], "ocpp_version": version},
        )
        assert response.status_code == 201, response.text
        await gw.wait_online(response.json()["charger_id"])
    response = await gw.post(
        "/ocpp/commands/start-session",
        {
            "target": {"location_id": location["location_id"]},
            "event": {"id_tag": "FLEET-1", "connector_id": 1, "target_energy_kwh": 0.5},
        },
    )
    assert response.status_code == 202
    body = response.json()
    assert body["queued_count"] == 3
    assert sorted(r["command"]["ocpp_version"] for r in body["results"]) == [
        "ocpp1.6",
        "ocpp2.0.1",
        "ocpp2.1",
    ]
    for result in body["results"]:
        record = await gw.wait_command(result["command"]["id"])
        assert record["status"] == "succeeded", record
    await wait_until(lambda: sent(gw, "MIX-16-001", "StopTransaction"), timeout=20)
    start16 = sent(gw, "MIX-16-001", "StartTransaction")[0]
    stop16 = sent(gw, "MIX-16-001", "StopTransaction")[0]
    assert stop16["meterStop"] - start16["meterStart"] == pytest.approx(500, rel=0.02)
    for identity in ("MIX-201", "MIX-21"):
        await wait_until(
            lambda identity=identity: tx_events(gw, identity)[-1]["eventType"] == "Ended",
            timeout=20,
        )
        events = tx_events(gw, identity)
        assert events[0]["eventType"] == "Started" and events[0]["idToken"]["idToken"] == "FLEET-1"
    await gw.peer.sync()
    assert gw.peer.strict_failures == []


@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
async def test_external_limits_iso15118_ev_and_cost_over_http(
    gateway: Gateway, version: str
) -> None:
    """set-charging-limit / clear-charging-limit, an ISO 15118 EV plugged in by name, and the
    CSMS's CostUpdated: each visible in what the CSMS received and in GET /ocpp/chargers/{id}."""
    gw = gateway
    location = await gw.location(chargers=1, version=version, prefix=f"LIM-{version[-3:]}-")
    [charger] = location["chargers"]
    target = {"charger_id": charger["charger_id"]}
    ident = charger["identity"]
    await gw.command(
        "plug-connector",
        target,
        {"connector_id": 1, "ev_profile": "iso15118-sedan", "departure_seconds": 3600},
    )
    await gw.command("start-session", target, {"id_tag": "LIM-1", "connector_id": 1})
    await wait_until(lambda: sent(gw, ident, "NotifyEVChargingNeeds"))
    needs = sent(gw, ident, "NotifyEVChargingNeeds")[0]["chargingNeeds"]
    assert needs["requestedEnergyTransfer"] == "AC_three_phase"
    assert needs["acChargingParameters"]["evMaxCurrent"] == 16  # 11 kW over three phases
    [record] = await gw.command(
        "set-charging-limit", target, {"connector_id": 0, "limit_kw": 4.2, "source": "SO"}
    )
    assert record["result"] == {
        "connector_id": 0,
        "limit_w": 4200.0,
        "source": "SO",
        "notified_csms": True,
    }
    assert sent(gw, ident, "NotifyChargingLimit") == [
        {"chargingLimit": {"chargingLimitSource": "SO"}}
    ]
    state = await gw.charger(charger["charger_id"])
    assert state["connectors"][0]["power_w"] == 4200
    assert state["external_limits"] == [
        {"connector_id": 0, "limit_w": 4200.0, "source": "SO", "grid_critical": None}
    ]
    tx_id = state["connectors"][0]["transaction_id"]
    assert (
        await gw.peer.call(ident, "CostUpdated", {"totalCost": 0.62, "transactionId": tx_id}) == {}
    )
    state = await gw.charger(charger["charger_id"])
    assert state["connectors"][0]["total_cost"] == 0.62
    await gw.command("clear-charging-limit", target, {"connector_id": 0})
    assert sent(gw, ident, "ClearedChargingLimit") == [{"chargingLimitSource": "SO"}]
    [failed] = await gw.command(
        "clear-charging-limit", target, {"connector_id": 0}, expect="failed"
    )
    assert failed["error"]["code"] == "no_limit"
    response = await gw.post(
        "/ocpp/commands/set-charging-limit",
        {"target": target, "event": {"connector_id": 0, "limit_kw": -1}},
    )
    assert response.status_code == 422 and "limit_kw" in response.text
    await gw.peer.sync()
    assert gw.peer.strict_failures == []


async def test_discharge_a_v2x_ev_over_http(gateway: Gateway) -> None:
    """OCPP 2.1's V2X through the gateway: a V2X EV plugged in by name with a reserve, the
    `discharge` command (an external setpoint), a grid event injected as a fault; each visible
    in what the CSMS received and in GET /ocpp/chargers/{id}. A 2.0.1 charger is refused the
    command at submit."""
    gw = gateway
    location = await gw.location(chargers=1, version="ocpp2.1", prefix="V2X-HTTP-")
    [charger] = location["chargers"]
    target, ident = {"charger_id": charger["charger_id"]}, charger["identity"]
    plug = {
        "connector_id": 1,
        "ev_profile": "v2x-ac-hatch",
        "soc_percent": 60,
        "min_soc_percent": 40,
    }
    [plugged] = await gw.command("plug-connector", target, plug)
    assert plugged["result"]["ev"]["min_soc_percent"] == 40
    await gw.command("start-session", target, {"id_tag": "V2X-1", "connector_id": 1})
    await wait_until(lambda: sent(gw, ident, "NotifyEVChargingNeeds"))
    needs = sent(gw, ident, "NotifyEVChargingNeeds")[0]["chargingNeeds"]
    assert needs["requestedEnergyTransfer"] == "AC_BPT"
    # 60 % of 52 kWh: 10.4 kWh above the reserve of 40 %, its profile's V2X floor is 20 %.
    assert needs["v2xChargingParameters"]["evMinEnergyRequest"] == -10_400
    assert needs["v2xChargingParameters"]["evMinV2XEnergyRequest"] == -20_800
    [record] = await gw.command("discharge", target, {"connector_id": 1, "power_kw": 7})
    result = record["result"]
    assert (result["setpoint_w"], result["power_w"], result["following_setpoint"]) == (
        -7000.0,
        -7000.0,
        True,
    )
    state = await gw.charger(charger["charger_id"])
    connector = state["connectors"][0]
    assert (connector["power_w"], connector["discharge_setpoint_w"]) == (-7000, -7000.0)
    assert connector["status"] == "Charging"

    def powers() -> list[float]:
        return [
            float(sample["value"])
            for event in tx_events(gw, ident)
            for value in event.get("meterValue", [])
            for sample in value["sampledValue"]
            if sample.get("measurand") == "Power.Active.Import"
        ]

    await wait_until(lambda: -7000.0 in powers(), timeout=10)
    # A frequency excursion without a DER control: the station rides through it.
    [injected] = await gw.command(
        "inject-fault", target, {"connector_id": 0, "fault_type": "OverFrequency"}
    )
    assert injected["result"]["der_alarms"] == [] and injected["result"]["der_trip"] is False
    assert (await gw.charger(charger["charger_id"]))["connectors"][0]["power_w"] == -7000
    await gw.command("clear-fault", target, {"connector_id": 0})
    [stopped] = await gw.command("discharge", target, {"connector_id": 1, "power_kw": 0})
    assert stopped["result"]["setpoint_w"] is None and stopped["result"]["power_w"] == 11_000
    assert (await gw.charger(charger["charger_id"]))["connectors"][0]["export_wh"] > 0
    older = await gw.location(chargers=1, version="ocpp2.0.1", prefix="V2X-201-")
    response = await gw.post(
        "/ocpp/commands/discharge",
        {
            "target": {"charger_id": older["chargers"][0]["charger_id"]},
            "event": {"connector_id": 1, "power_kw": 7},
        },
    )
    assert response.json()["failed"][0]["error"]["code"] == "not_supported"
    await gw.peer.sync()
    assert gw.peer.strict_failures == []
