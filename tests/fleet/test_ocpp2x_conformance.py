"""OCPP 2.0.1 and 2.1 stations (the same station model, 2.x adapters) against the independent
CSMS npm `ocpp-rpc` in strict mode: boot, transactions through TransactionEvent, the device
model, every CSMS-initiated message, zero strict-validation failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str, model: str = "ac-22kw-2c"):
    await runtime.start_charger(
        ChargerSpec(f"dep-{identity}", "org", identity, peer.url, peer.version, model)
    )
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    await wait_until(
        lambda: len(peer.calls(identity, "StatusNotification")) >= len(runner.station.connectors)
    )
    return runner


def events(peer: OcppRpcPeer, identity: str) -> list[dict]:
    return peer.calls(identity, "TransactionEvent")


def statuses(peer: OcppRpcPeer, identity: str, evse_id: int) -> list[str]:
    return [
        c["connectorStatus"]
        for c in peer.calls(identity, "StatusNotification")
        if c["evseId"] == evse_id
    ]


def register(event: dict) -> float:
    for meter_value in event.get("meterValue", []):
        for sampled in meter_value["sampledValue"]:
            if (
                sampled.get("measurand", "Energy.Active.Import.Register")
                == "Energy.Active.Import.Register"
            ):
                return float(sampled["value"])
    raise AssertionError(f"no energy register in {event}")


async def test_boot_and_status(runtime, peer2x):
    runner = await boot(runtime, peer2x, "CS-BOOT")
    boot_call = peer2x.calls("CS-BOOT", "BootNotification")[0]
    assert boot_call["reason"] == "PowerUp"
    assert boot_call["chargingStation"] == {
        "model": "StreetPost 22 Duo",
        "vendorName": "Voltlab",
        "serialNumber": "CS-BOOT",
        "firmwareVersion": "2.1.0",
    }
    assert sorted(
        (c["evseId"], c["connectorStatus"]) for c in peer2x.calls("CS-BOOT", "StatusNotification")
    ) == [(1, "Available"), (2, "Available")]
    assert runner.version == peer2x.version
    await peer2x.sync()
    assert peer2x.strict_failures == []


async def test_start_session_energy_within_two_percent(runtime, peer2x):
    runner = await boot(runtime, peer2x, "CS-SES", model="dc-150kw-2ccs")
    await COMMANDS["plug_connector"](
        runner, {"connector_id": 2, "ev_profile": "premium-suv", "soc_percent": 20}
    )
    result = await COMMANDS["start_session"](
        runner,
        {
            "id_tag": "EV-USER-1234",
            "connector_id": 2,
            "duration_seconds": 900,
            "target_energy_kwh": 15.5,
        },
    )
    assert result["authorized_by"] == "csms"
    await wait_until(
        lambda: any(e["eventType"] == "Ended" for e in events(peer2x, "CS-SES")), timeout=30
    )
    series = events(peer2x, "CS-SES")
    kinds = [e["eventType"] for e in series]
    assert kinds[0] == "Started" and kinds[-1] == "Ended" and "Updated" in kinds
    assert [e["seqNo"] for e in series] == list(range(len(series)))
    assert len({e["transactionInfo"]["transactionId"] for e in series}) == 1
    assert series[0]["idToken"] == {"idToken": "EV-USER-1234", "type": "ISO14443"}
    assert series[-1]["transactionInfo"]["stoppedReason"] == "EnergyLimitReached"
    energy = register(series[-1]) - register(series[0])
    assert energy == pytest.approx(15_500, rel=0.02)
    periodic = [e for e in series if e["triggerReason"] == "MeterValuePeriodic"]
    assert periodic, "no periodic meter values inside the transaction"
    await peer2x.sync()
    assert peer2x.calls("CS-SES", "Authorize")[0]["idToken"]["idToken"] == "EV-USER-1234"
    assert peer2x.strict_failures == []


async def test_tx_start_point_ev_connected(runtime, peer2x):
    runner = await boot(runtime, peer2x, "CS-EVC")
    await COMMANDS["configuration"](runner, {"key": "TxCtrlr.TxStartPoint", "value": "EVConnected"})
    await COMMANDS["plug_connector"](runner, {"connector_id": 1})
    await wait_until(lambda: len(events(peer2x, "CS-EVC")) == 1)
    started = events(peer2x, "CS-EVC")[0]
    assert (started["eventType"], started["triggerReason"]) == ("Started", "CablePluggedIn")
    assert "idToken" not in started
    # Occupied may follow Started when the statuses reported after registration are still on
    # the wire; no stale Available comes after it (machine test: test_machine_status).
    await wait_until(lambda: statuses(peer2x, "CS-EVC", 1)[-1] == "Occupied")
    assert runner.station.connectors[1].power_w == 0
    await COMMANDS["start_transaction"](runner, {"connector_id": 1, "id_tag": "LATE-TAG"})
    await peer2x.sync()  # the answers can arrive before the peer's record of the frames
    authorized = events(peer2x, "CS-EVC")[1]
    assert (authorized["eventType"], authorized["triggerReason"]) == ("Updated", "Authorized")
    assert authorized["idToken"]["idToken"] == "LATE-TAG"
    assert runner.station.connectors[1].power_w > 0
    await wait_until(
        lambda: any(e["triggerReason"] == "ChargingStateChanged" for e in events(peer2x, "CS-EVC"))
    )
    await COMMANDS["unplug_connector"](runner, {"connector_id": 1})
    await peer2x.sync()
    ended = events(peer2x, "CS-EVC")[-1]
    assert (
        ended["eventType"] == "Ended"
        and ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    )
    assert statuses(peer2x, "CS-EVC", 1)[-1] == "Available"
    assert peer2x.strict_failures == []


async def test_remote_start_stop_and_transaction_status(runtime, peer2x):
    runner = await boot(runtime, peer2x, "CS-RS")
    await COMMANDS["plug_connector"](runner, {"connector_id": 1})
    answer = await peer2x.call(
        "CS-RS",
        "RequestStartTransaction",
        {"idToken": {"idToken": "REMOTE-1", "type": "Central"}, "remoteStartId": 77, "evseId": 1},
    )
    assert answer["status"] == "Accepted"
    await wait_until(lambda: events(peer2x, "CS-RS"))
    started = events(peer2x, "CS-RS")[0]
    assert (
        started["triggerReason"] == "RemoteStart"
        and started["transactionInfo"]["remoteStartId"] == 77
    )
    tx_id = started["transactionInfo"]["transactionId"]
    status = await peer2x.call("CS-RS", "GetTransactionStatus", {"transactionId": tx_id})
    assert status == {"messagesInQueue": False, "ongoingIndicator": True}
    bad = await peer2x.call("CS-RS", "RequestStopTransaction", {"transactionId": "nope"})
    assert bad["status"] == "Rejected"
    assert (await peer2x.call("CS-RS", "RequestStopTransaction", {"transactionId": tx_id}))[
        "status"
    ] == "Accepted"
    await wait_until(lambda: events(peer2x, "CS-RS")[-1]["eventType"] == "Ended")
    ended = events(peer2x, "CS-RS")[-1]
    assert (ended["transactionInfo"]["stoppedReason"], ended["triggerReason"]) == (
        "Remote",
        "RemoteStop",
    )
    status = await peer2x.call("CS-RS", "GetTransactionStatus", {"transactionId": tx_id})
    assert status["ongoingIndicator"] is False


async def test_set_variables_heartbeat_interval_rearms_the_heartbeat(runtime, peer2x):
    # An hour between heartbeats (36 s real at the tests' 100x) until SetVariables says 2 s.
    await peer2x.set_boot("Accepted", interval=3600, identity="CS-HB")
    runner = await boot(runtime, peer2x, "CS-HB")
    assert runner.station.config.get_int("HeartbeatInterval") == 3600
    assert peer2x.calls("CS-HB", "Heartbeat") == []
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    answer = await peer2x.call(
        "CS-HB", "SetVariables", {"setVariableData": [{**heartbeat, "attributeValue": "2"}]}
    )
    assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"
    await wait_until(lambda: len(peer2x.calls("CS-HB", "Heartbeat")) >= 3)
    await peer2x.sync()
    assert peer2x.strict_failures == []


async def test_device_model_and_reports(runtime, peer2x):
    runner = await boot(runtime, peer2x, "CS-DM")
    got = await peer2x.call(
        "CS-DM",
        "GetVariables",
        {
            "getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                {"component": {"name": "NoSuchCtrlr"}, "variable": {"name": "X"}},
                {"component": {"name": "TxCtrlr"}, "variable": {"name": "NoSuchVariable"}},
            ]
        },
    )
    statuses_ = [r["attributeStatus"] for r in got["getVariableResult"]]
    assert statuses_ == ["Accepted", "UnknownComponent", "UnknownVariable"]
    heartbeat = got["getVariableResult"][0]["attributeValue"]
    assert int(heartbeat) == runner.station.config.get_int("HeartbeatInterval")
    set_result = await peer2x.call(
        "CS-DM",
        "SetVariables",
        {
            "setVariableData": [
                {
                    "component": {"name": "SampledDataCtrlr"},
                    "variable": {"name": "TxUpdatedInterval"},
                    "attributeValue": "15",
                },
                {
                    "component": {"name": "ChargingStation"},
                    "variable": {"name": "Model"},
                    "attributeValue": "X",
                },
                {
                    "component": {"name": "TxCtrlr"},
                    "variable": {"name": "TxStartPoint"},
                    "attributeValue": "Nonsense",
                },
            ]
        },
    )
    assert [r["attributeStatus"] for r in set_result["setVariableResult"]] == [
        "Accepted",
        "Rejected",
        "Rejected",
    ]
    assert runner.station.config.get_int("MeterValueSampleInterval") == 15  # one setting, two names
    answer = await peer2x.call(
        "CS-DM", "GetBaseReport", {"requestId": 5, "reportBase": "FullInventory"}
    )
    assert answer["status"] == "Accepted"
    await wait_until(lambda: any(not r.get("tbc") for r in peer2x.calls("CS-DM", "NotifyReport")))
    reports = peer2x.calls("CS-DM", "NotifyReport")
    assert [r["seqNo"] for r in reports] == list(range(len(reports)))
    assert all(r.get("tbc") for r in reports[:-1]) and not reports[-1].get("tbc")
    items = [item for r in reports for item in r["reportData"]]
    # every component/variable the station has, once
    inventory = runner.machine.device_model.report("FullInventory", now=runner.now())
    assert len(items) == len(inventory) >= 80
    keys = {
        (
            i["component"]["name"],
            str(i["component"].get("evse")),
            i["variable"]["name"],
            i["variable"].get("instance"),
        )
        for i in items
    }
    assert len(keys) == len(items)
    # GetReport with a filter: only what was asked for
    answer = await peer2x.call(
        "CS-DM",
        "GetReport",
        {"requestId": 6, "componentVariable": [{"component": {"name": "TxCtrlr"}}]},
    )
    assert answer["status"] == "Accepted"
    await wait_until(
        lambda: any(r["requestId"] == 6 for r in peer2x.calls("CS-DM", "NotifyReport"))
    )
    filtered = [
        i
        for r in peer2x.calls("CS-DM", "NotifyReport")
        if r["requestId"] == 6
        for i in r["reportData"]
    ]
    assert filtered and {i["component"]["name"] for i in filtered} == {"TxCtrlr"}
    assert {"TxStartPoint", "TxStopPoint"} <= {i["variable"]["name"] for i in filtered}
    components = {
        (i["component"]["name"], (i["component"].get("evse") or {}).get("id")) for i in items
    }
    for expected in [
        ("OCPPCommCtrlr", None),
        ("TxCtrlr", None),
        ("AuthCtrlr", None),
        ("AuthCacheCtrlr", None),
        ("LocalAuthListCtrlr", None),
        ("SampledDataCtrlr", None),
        ("AlignedDataCtrlr", None),
        ("SmartChargingCtrlr", None),
        ("ReservationCtrlr", None),
        ("SecurityCtrlr", None),
        ("ChargingStation", None),
        ("EVSE", 1),
        ("EVSE", 2),
        ("Connector", 1),
        ("Connector", 2),
    ]:
        assert expected in components, expected
    await peer2x.sync()
    assert peer2x.strict_failures == []


async def test_pending_until_a_triggered_boot_is_accepted_nothing_else_before(runtime, peer2x):
    """B02: while Pending the CSMS triggers a BootNotification to end the wait; the station
    sends nothing but BootNotification until that one is accepted."""
    await peer2x.set_boot("Pending", interval=3600, identity="CS-PEND")  # no retry in the test
    await runtime.start_charger(
        ChargerSpec("dep-CS-PEND", "org", "CS-PEND", peer2x.url, peer2x.version, "ac-22kw-2c")
    )
    runner = runtime.runner("dep-CS-PEND")
    await peer2x.wait_for_call("CS-PEND", "BootNotification")
    await wait_until(lambda: runner.live_state()["registration"] == "Pending")
    assert not runner.link.online
    await peer2x.set_boot("Accepted", interval=45, identity="CS-PEND")
    answer = await peer2x.call(
        "CS-PEND", "TriggerMessage", {"requestedMessage": "BootNotification"}
    )
    assert answer == {"status": "Accepted"}
    await wait_until(lambda: runner.link.online)
    await wait_until(lambda: len(peer2x.calls("CS-PEND", "StatusNotification")) >= 2)
    await peer2x.sync()
    actions = [f[2] for f in peer2x.frames("CS-PEND", direction="in") if f[0] == 2]
    first_other = next(i for i, a in enumerate(actions) if a != "BootNotification")
    assert actions[:first_other] == ["BootNotification", "BootNotification"]
    assert actions[first_other] == "StatusNotification"
    reasons = [c["reason"] for c in peer2x.calls("CS-PEND", "BootNotification")]
    assert reasons == ["PowerUp", "Triggered"]
    assert runner.station.config.get_int("HeartbeatInterval") == 45
    assert peer2x.strict_failures == []


async def test_availability_reset_unlock_and_triggers(runtime, peer2x):
    runner = await boot(runtime, peer2x, "CS-OPS")
    await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "A"})
    answer = await peer2x.call(
        "CS-OPS", "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}
    )
    assert answer["status"] == "Scheduled"
    answer = await peer2x.call(
        "CS-OPS", "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 2}}
    )
    assert answer["status"] == "Accepted"
    await wait_until(lambda: statuses(peer2x, "CS-OPS", 2)[-1] == "Unavailable")
    unlock = await peer2x.call("CS-OPS", "UnlockConnector", {"evseId": 1, "connectorId": 1})
    assert unlock["status"] == "OngoingAuthorizedTransaction"
    assert (await peer2x.call("CS-OPS", "UnlockConnector", {"evseId": 9, "connectorId": 1}))[
        "status"
    ] == "UnknownConnector"
    for requested in (
        "Heartbeat",
        "StatusNotification",
        "MeterValues",
        "TransactionEvent",
        "BootNotification",
        "FirmwareStatusNotification",
        "LogStatusNotification",
    ):
        answer = await peer2x.call(
            "CS-OPS", "TriggerMessage", {"requestedMessage": requested, "evse": {"id": 1}}
        )
        assert answer["status"] == "Accepted", requested
    await wait_until(lambda: any(e["triggerReason"] == "Trigger" for e in events(peer2x, "CS-OPS")))
    # TriggerMessage TransactionEvent: an Updated event of its own, without meter values (the
    # MeterValues trigger's event carries them).
    await wait_until(
        lambda: any(
            e["triggerReason"] == "Trigger" and "meterValue" not in e
            for e in events(peer2x, "CS-OPS")
        )
    )
    await wait_until(lambda: peer2x.calls("CS-OPS", "LogStatusNotification"))
    assert (await peer2x.call("CS-OPS", "Reset", {"type": "OnIdle"}))["status"] == "Scheduled"
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    # once idle, the station resets: boots again
    await wait_until(lambda: len(peer2x.calls("CS-OPS", "BootNotification")) >= 3, timeout=15)
    await wait_until(lambda: runner.link.online)
    assert (await peer2x.call("CS-OPS", "Reset", {"type": "Immediate"}))["status"] == "Accepted"
    await wait_until(lambda: len(peer2x.calls("CS-OPS", "BootNotification")) >= 4, timeout=15)
    await peer2x.sync()
    assert peer2x.strict_failures == []


async def test_local_list_cache_reservations_data_transfer(runtime, peer2x):
    runner = await boot(runtime, peer2x, "CS-AUTH")
    assert await peer2x.call("CS-AUTH", "GetLocalListVersion", {}) == {"versionNumber": 0}
    full = {
        "versionNumber": 2,
        "updateType": "Full",
        "localAuthorizationList": [
            {
                "idToken": {"idToken": "L1", "type": "ISO14443"},
                "idTokenInfo": {"status": "Accepted"},
            }
        ],
    }
    assert (await peer2x.call("CS-AUTH", "SendLocalList", full))["status"] == "Accepted"
    stale = {"versionNumber": 1, "updateType": "Differential"}
    assert (await peer2x.call("CS-AUTH", "SendLocalList", stale))["status"] == "VersionMismatch"
    await COMMANDS["configuration"](runner, {"key": "AuthCtrlr.LocalPreAuthorize", "value": "true"})
    assert (await COMMANDS["authorize_id_tag"](runner, {"id_tag": "L1"}))["source"] == "local_list"
    await COMMANDS["authorize_id_tag"](runner, {"id_tag": "C1"})
    assert (await COMMANDS["authorize_id_tag"](runner, {"id_tag": "C1"}))["source"] == "cache"
    assert (await peer2x.call("CS-AUTH", "ClearCache", {}))["status"] == "Accepted"
    # 60 simulated seconds from the station's clock (it runs 100x faster than the wall clock)
    soon = (
        (datetime.fromtimestamp(runner.now(), UTC) + timedelta(seconds=60))
        .isoformat()
        .replace("+00:00", "Z")
    )
    reserve = {
        "id": 31,
        "expiryDateTime": soon,
        "idToken": {"idToken": "OWNER", "type": "ISO14443"},
        "evseId": 2,
    }
    assert (await peer2x.call("CS-AUTH", "ReserveNow", reserve))["status"] == "Accepted"
    await wait_until(lambda: statuses(peer2x, "CS-AUTH", 2)[-1] == "Reserved")
    assert (await peer2x.call("CS-AUTH", "CancelReservation", {"reservationId": 99}))[
        "status"
    ] == "Rejected"
    await wait_until(lambda: peer2x.calls("CS-AUTH", "ReservationStatusUpdate"), timeout=5)
    assert peer2x.calls("CS-AUTH", "ReservationStatusUpdate")[0] == {
        "reservationId": 31,
        "reservationUpdateStatus": "Expired",
    }
    await wait_until(lambda: statuses(peer2x, "CS-AUTH", 2)[-1] == "Available")
    echo = await peer2x.call(
        "CS-AUTH", "DataTransfer", {"vendorId": "org.voltlab", "messageId": "Echo", "data": "x"}
    )
    assert echo == {"status": "Accepted", "data": "x"}
    await peer2x.sync()
    assert peer2x.strict_failures == []
