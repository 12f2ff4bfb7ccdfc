"""OCPP 1.6J conformance of the virtual station against an independent CSMS: npm `ocpp-rpc` in
strict mode. Every CSMS-initiated message the station supports, with its effect on the wire,
and zero strict-validation failures in either direction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str, model: str = "ac-22kw-2c"):
    await runtime.start_charger(
        ChargerSpec(f"dep-{identity}", "org", identity, peer.url, "ocpp1.6", model)
    )
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    # connector 0 + each connector reported after boot
    await wait_until(lambda: len(peer.calls(identity, "StatusNotification")) >= 3)
    return runner


def statuses(peer: OcppRpcPeer, identity: str, connector_id: int) -> list[str]:
    return [
        c["status"]
        for c in peer.calls(identity, "StatusNotification")
        if c["connectorId"] == connector_id
    ]


async def settle(peer: OcppRpcPeer) -> None:
    await peer.sync()


async def test_boot_pending_then_accepted_nothing_else_before(runtime, peer16):
    await peer16.set_boot("Pending", interval=5, identity="CP-BOOT")
    await runtime.start_charger(
        ChargerSpec("dep-b", "org", "CP-BOOT", peer16.url, "ocpp1.6", "ac-7kw-1c")
    )
    await peer16.wait_for_call("CP-BOOT", "BootNotification")
    await peer16.wait_for_call("CP-BOOT", "BootNotification", since=len(peer16.events))
    await peer16.set_boot("Accepted", interval=30, identity="CP-BOOT")
    runner = runtime.runner("dep-b")
    await wait_until(lambda: runner.link.online)
    await wait_until(lambda: len(peer16.calls("CP-BOOT", "Heartbeat")) >= 2)
    await settle(peer16)
    actions = [f[2] for f in peer16.frames("CP-BOOT", direction="in") if f[0] == 2]
    first_other = next(i for i, a in enumerate(actions) if a != "BootNotification")
    boots = actions[:first_other]
    assert len(boots) >= 3 and set(boots) == {"BootNotification"}
    assert actions[first_other : first_other + 2] == ["StatusNotification", "StatusNotification"]
    boot_payload = peer16.calls("CP-BOOT", "BootNotification")[0]
    assert boot_payload["chargePointVendor"] == "Voltlab"
    assert boot_payload["chargePointModel"] == "HomeBox 7"
    assert boot_payload["firmwareVersion"] == "1.4.2"
    assert runner.station.config.get_int("HeartbeatInterval") == 30
    assert peer16.strict_failures == []


async def test_change_configuration_heartbeat_interval_rearms_the_heartbeat(runtime, peer16):
    # Accepted with an hour between heartbeats (36 s real at the tests' 100x): none comes in
    # the test unless the change re-arms the timer.
    await peer16.set_boot("Accepted", interval=3600, identity="CP-HB")
    runner = await boot(runtime, peer16, "CP-HB")
    assert runner.station.config.get_int("HeartbeatInterval") == 3600
    assert peer16.calls("CP-HB", "Heartbeat") == []
    change = {"key": "HeartbeatInterval", "value": "2"}
    assert (await peer16.call("CP-HB", "ChangeConfiguration", change)) == {"status": "Accepted"}
    await wait_until(lambda: len(peer16.calls("CP-HB", "Heartbeat")) >= 3)
    assert peer16.strict_failures == []


async def test_get_and_change_configuration(runtime, peer16):
    await boot(runtime, peer16, "CP-CFG")
    everything = await peer16.call("CP-CFG", "GetConfiguration", {})
    keys = {e["key"]: e for e in everything["configurationKey"]}
    for key in (
        "HeartbeatInterval",
        "MeterValueSampleInterval",
        "LocalAuthListEnabled",
        "NumberOfConnectors",
        "AuthorizeRemoteTxRequests",
        "StopTransactionOnInvalidId",
    ):
        assert key in keys
    assert keys["NumberOfConnectors"] == {
        "key": "NumberOfConnectors",
        "readonly": True,
        "value": "2",
    }
    some = await peer16.call("CP-CFG", "GetConfiguration", {"key": ["HeartbeatInterval", "Bogus"]})
    assert some["unknownKey"] == ["Bogus"]
    change = lambda k, v: peer16.call("CP-CFG", "ChangeConfiguration", {"key": k, "value": v})  # noqa: E731
    assert (await change("MeterValueSampleInterval", "15"))["status"] == "Accepted"
    assert (await change("MeterValueSampleInterval", "fast"))["status"] == "Rejected"
    assert (await change("NumberOfConnectors", "9"))["status"] == "Rejected"
    assert (await change("Unheard", "1"))["status"] == "NotSupported"
    assert (await change("WebSocketPingInterval", "20"))["status"] == "RebootRequired"
    again = await peer16.call("CP-CFG", "GetConfiguration", {"key": ["MeterValueSampleInterval"]})
    assert again["configurationKey"][0]["value"] == "15"
    assert peer16.strict_failures == []


async def test_remote_start_stop_with_meter_values(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-RS")
    await COMMANDS["plug_connector"](runner, {"connector_id": 1})
    answer = await peer16.call(
        "CP-RS", "RemoteStartTransaction", {"idTag": "REMOTE1", "connectorId": 1}
    )
    assert answer == {"status": "Accepted"}
    start = await peer16.wait_for_call("CP-RS", "StartTransaction")
    assert start["idTag"] == "REMOTE1" and start["connectorId"] == 1
    await peer16.wait_for_call("CP-RS", "MeterValues", timeout=5)
    tx_id = runner.station.connectors[1].transaction.transaction_id
    rejected = await peer16.call("CP-RS", "RemoteStopTransaction", {"transactionId": tx_id + 100})
    assert rejected == {"status": "Rejected"}
    stopped = await peer16.call("CP-RS", "RemoteStopTransaction", {"transactionId": tx_id})
    assert stopped == {"status": "Accepted"}
    stop = await peer16.wait_for_call("CP-RS", "StopTransaction")
    assert stop["reason"] == "Remote" and stop["transactionId"] == tx_id
    assert stop["meterStop"] >= start["meterStart"]
    contexts = [mv["sampledValue"][0]["context"] for mv in stop["transactionData"]]
    assert contexts == ["Transaction.Begin", "Transaction.End"]
    await wait_until(lambda: statuses(peer16, "CP-RS", 1)[-1] == "Finishing")
    meter = peer16.calls("CP-RS", "MeterValues")[0]
    measurands = {sv["measurand"] for sv in meter["meterValue"][0]["sampledValue"]}
    assert measurands == {
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Voltage",
    }
    assert peer16.strict_failures == []


@pytest.mark.csms_misbehaves  # a remote start on a connector the station lacks: findings expected
async def test_remote_start_waits_for_cable_and_rejects_busy_connector(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-RW")
    assert (await peer16.call("CP-RW", "RemoteStartTransaction", {"idTag": "T", "connectorId": 2}))[
        "status"
    ] == "Accepted"
    await wait_until(lambda: statuses(peer16, "CP-RW", 2)[-1:] == ["Preparing"])
    assert peer16.calls("CP-RW", "StartTransaction") == []
    await COMMANDS["plug_connector"](runner, {"connector_id": 2})
    await peer16.wait_for_call("CP-RW", "StartTransaction")
    busy = await peer16.call("CP-RW", "RemoteStartTransaction", {"idTag": "T2", "connectorId": 2})
    assert busy == {"status": "Rejected"}
    nowhere = await peer16.call(
        "CP-RW", "RemoteStartTransaction", {"idTag": "T2", "connectorId": 7}
    )
    assert nowhere == {"status": "Rejected"}


async def test_authorize_remote_tx_requests_blocks_rejected_tag(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-AR")
    await peer16.call(
        "CP-AR", "ChangeConfiguration", {"key": "AuthorizeRemoteTxRequests", "value": "true"}
    )
    await peer16.set_auth("BAD", "Blocked")
    await COMMANDS["plug_connector"](runner, {"connector_id": 1})
    await peer16.call("CP-AR", "RemoteStartTransaction", {"idTag": "BAD", "connectorId": 1})
    await peer16.wait_for_call("CP-AR", "Authorize")
    await settle(peer16)
    assert peer16.calls("CP-AR", "StartTransaction") == []
    assert runner.station.connectors[1].transaction is None


async def test_reset_stops_transaction_and_boots_again(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-RST")
    await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "A"})
    assert (await peer16.call("CP-RST", "Reset", {"type": "Soft"})) == {"status": "Accepted"}
    stop = await peer16.wait_for_call("CP-RST", "StopTransaction")
    assert stop["reason"] == "SoftReset"
    await wait_until(lambda: len(peer16.calls("CP-RST", "BootNotification")) == 2)
    await wait_until(lambda: runner.link.online)
    await COMMANDS["start_session"](runner, {"connector_id": 2, "id_tag": "B"})
    await peer16.call("CP-RST", "Reset", {"type": "Hard"})
    stop = await peer16.wait_for_call(
        "CP-RST", "StopTransaction", lambda p: p["reason"] == "HardReset"
    )
    await wait_until(lambda: len(peer16.calls("CP-RST", "BootNotification")) == 3)
    disconnects = peer16.events_of("disconnected", "CP-RST")
    assert len(disconnects) == 2
    assert peer16.strict_failures == []


async def test_change_availability_scheduled_then_applied(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-AV")
    await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "A"})
    answer = await peer16.call(
        "CP-AV", "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}
    )
    assert answer == {"status": "Scheduled"}
    answer = await peer16.call(
        "CP-AV", "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}
    )
    assert answer == {"status": "Accepted"}
    await wait_until(lambda: statuses(peer16, "CP-AV", 2)[-1] == "Unavailable")
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await wait_until(lambda: statuses(peer16, "CP-AV", 1)[-1] == "Unavailable")
    answer = await peer16.call(
        "CP-AV", "ChangeAvailability", {"connectorId": 0, "type": "Operative"}
    )
    assert answer == {"status": "Accepted"}
    bad = await peer16.call("CP-AV", "ChangeAvailability", {"connectorId": 5, "type": "Operative"})
    assert bad == {"status": "Rejected"}


async def test_local_list_versions_and_cache(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-LL")
    assert (await peer16.call("CP-LL", "GetLocalListVersion", {})) == {"listVersion": 0}
    full = {
        "listVersion": 3,
        "updateType": "Full",
        "localAuthorizationList": [
            {"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "LOCAL2", "idTagInfo": {"status": "Blocked"}},
        ],
    }
    assert (await peer16.call("CP-LL", "SendLocalList", full)) == {"status": "Accepted"}
    stale = {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": []}
    assert (await peer16.call("CP-LL", "SendLocalList", stale)) == {"status": "VersionMismatch"}
    diff = {
        "listVersion": 4,
        "updateType": "Differential",
        "localAuthorizationList": [{"idTag": "LOCAL2"}],
    }
    assert (await peer16.call("CP-LL", "SendLocalList", diff)) == {"status": "Accepted"}
    assert (await peer16.call("CP-LL", "GetLocalListVersion", {})) == {"listVersion": 4}
    assert sorted(runner.station.local_list.entries) == ["LOCAL1"]
    # With LocalPreAuthorize the local list answers and no Authorize goes out.
    await COMMANDS["configuration"](runner, {"key": "LocalPreAuthorize", "value": "true"})
    result = await COMMANDS["authorize_id_tag"](runner, {"id_tag": "LOCAL1"})
    assert result["source"] == "local_list"
    await peer16.sync()
    assert peer16.calls("CP-LL", "Authorize") == []
    # The cache learns from Authorize and answers the next time.
    first = await COMMANDS["authorize_id_tag"](runner, {"id_tag": "NEWTAG"})
    second = await COMMANDS["authorize_id_tag"](runner, {"id_tag": "NEWTAG"})
    assert (first["source"], second["source"]) == ("csms", "cache")
    assert (await peer16.call("CP-LL", "ClearCache", {})) == {"status": "Accepted"}
    third = await COMMANDS["authorize_id_tag"](runner, {"id_tag": "NEWTAG"})
    assert third["source"] == "csms"
    await peer16.sync()  # the peer's record of what it received is complete
    assert len(peer16.calls("CP-LL", "Authorize")) == 2


async def test_reservation_flow(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-RES")
    expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    reserve = {"connectorId": 1, "expiryDate": expiry, "idTag": "OWNER", "reservationId": 11}
    assert (await peer16.call("CP-RES", "ReserveNow", reserve)) == {"status": "Accepted"}
    await wait_until(lambda: statuses(peer16, "CP-RES", 1)[-1] == "Reserved")
    await COMMANDS["plug_connector"](runner, {"connector_id": 1})
    with pytest.raises(Exception) as info:
        await COMMANDS["start_transaction"](runner, {"connector_id": 1, "id_tag": "OTHER"})
    assert getattr(info.value, "code", None) == "reserved"
    await COMMANDS["start_transaction"](runner, {"connector_id": 1, "id_tag": "OWNER"})
    start = await peer16.wait_for_call("CP-RES", "StartTransaction")
    assert start["reservationId"] == 11
    assert (await peer16.call("CP-RES", "CancelReservation", {"reservationId": 11})) == {
        "status": "Rejected"
    }
    # 60 simulated seconds from the station's clock (it runs 100x faster than the wall clock)
    soon = (
        (datetime.fromtimestamp(runner.now(), UTC) + timedelta(seconds=60))
        .isoformat()
        .replace("+00:00", "Z")
    )
    reserve2 = {"connectorId": 2, "expiryDate": soon, "idTag": "LATE", "reservationId": 12}
    assert (await peer16.call("CP-RES", "ReserveNow", reserve2)) == {"status": "Accepted"}
    await wait_until(lambda: statuses(peer16, "CP-RES", 2)[-1] == "Reserved")
    # 60 simulated seconds later the reservation expires and the connector is free again.
    await wait_until(lambda: statuses(peer16, "CP-RES", 2)[-1] == "Available", timeout=5)
    assert runner.station.reservations == {}
    busy = {"connectorId": 1, "expiryDate": expiry, "idTag": "X", "reservationId": 13}
    assert (await peer16.call("CP-RES", "ReserveNow", busy)) == {"status": "Occupied"}


async def test_a_reservation_expires_after_a_restart(runtime, peer16):
    """A station restarted from its stored state (another process hosts it now) still ends
    its reservation at the expiry: the restart arms the expiry timer again."""
    runner = await boot(runtime, peer16, "CP-RESTART-RES")
    # 300 simulated seconds from the station's clock: 3 s of real time at the tests' scale
    expiry = (
        (datetime.fromtimestamp(runner.now(), UTC) + timedelta(seconds=300))
        .isoformat()
        .replace("+00:00", "Z")
    )
    reserve = {"connectorId": 1, "expiryDate": expiry, "idTag": "OWNER", "reservationId": 21}
    assert (await peer16.call("CP-RESTART-RES", "ReserveNow", reserve)) == {"status": "Accepted"}
    await wait_until(lambda: statuses(peer16, "CP-RESTART-RES", 1)[-1] == "Reserved")
    snapshot = runtime._snapshot_of("dep-CP-RESTART-RES")
    await runtime.remove_charger("dep-CP-RESTART-RES")
    before = len(statuses(peer16, "CP-RESTART-RES", 1))

    spec = ChargerSpec(
        "dep-CP-RESTART-RES-2",
        "org",
        "CP-RESTART-RES",
        peer16.url,
        "ocpp1.6",
        "ac-22kw-2c",
        state=snapshot,
    )
    await runtime.start_charger(spec)
    again = runtime.runner("dep-CP-RESTART-RES-2")
    await wait_until(lambda: again.link.online)
    assert again.now() < again.station.reservations[21].expires_at  # restarted before it
    # Reported again after the new registration, then free at the expiry.
    await wait_until(lambda: statuses(peer16, "CP-RESTART-RES", 1)[before:][:1] == ["Reserved"])
    await wait_until(lambda: statuses(peer16, "CP-RESTART-RES", 1)[-1] == "Available", timeout=15)
    assert again.station.reservations == {}
    await peer16.sync()
    assert peer16.strict_failures == []


async def test_unlock_connector_stops_transaction(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-UL")
    await COMMANDS["start_session"](runner, {"connector_id": 2, "id_tag": "A"})
    assert (await peer16.call("CP-UL", "UnlockConnector", {"connectorId": 2})) == {
        "status": "Unlocked"
    }
    stop = peer16.calls("CP-UL", "StopTransaction")
    assert stop and stop[0]["reason"] == "UnlockCommand"
    assert (await peer16.call("CP-UL", "UnlockConnector", {"connectorId": 9})) == {
        "status": "NotSupported"
    }


@pytest.mark.parametrize(
    "trigger,expected",
    [
        ("BootNotification", "BootNotification"),
        ("Heartbeat", "Heartbeat"),
        ("StatusNotification", "StatusNotification"),
        ("MeterValues", "MeterValues"),
        ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification"),
        ("FirmwareStatusNotification", "FirmwareStatusNotification"),
    ],
)
async def test_trigger_message_sends_the_message(runtime, peer16, trigger, expected):
    await boot(runtime, peer16, "CP-TRG")
    before = len(peer16.calls("CP-TRG", expected))
    payload = {"requestedMessage": trigger}
    if trigger in ("StatusNotification", "MeterValues"):
        payload["connectorId"] = 1
    assert (await peer16.call("CP-TRG", "TriggerMessage", payload)) == {"status": "Accepted"}
    await wait_until(lambda: len(peer16.calls("CP-TRG", expected)) > before)
    if trigger == "MeterValues":
        sampled = peer16.calls("CP-TRG", "MeterValues")[-1]["meterValue"][0]["sampledValue"]
        assert sampled[0]["context"] == "Trigger"
    bad = {"requestedMessage": "MeterValues", "connectorId": 4}
    assert (await peer16.call("CP-TRG", "TriggerMessage", bad)) == {"status": "Rejected"}
    assert peer16.strict_failures == []


async def test_data_transfer(runtime, peer16):
    await boot(runtime, peer16, "CP-DT")
    echo = await peer16.call(
        "CP-DT", "DataTransfer", {"vendorId": "org.voltlab", "messageId": "Echo", "data": "hi"}
    )
    assert echo == {"status": "Accepted", "data": "hi"}
    other = await peer16.call("CP-DT", "DataTransfer", {"vendorId": "com.acme"})
    assert other == {"status": "UnknownVendorId"}


@pytest.mark.csms_misbehaves  # malformed and unsupported CALLs, sent at once: findings expected
async def test_unsupported_and_malformed_calls_get_the_right_callerror(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-ERR")
    cases = [
        # a station-to-CSMS action sent the wrong way: known to 1.6, not supported here
        ('[2,"m0","Heartbeat",{}]', "NotSupported"),
        ('[2,"m1","FlyToTheMoon",{}]', "NotImplemented"),
        ('[2,"m2","Reset",{"type":"Medium"}]', "PropertyConstraintViolation"),
        ('[2,"m3","Reset",{}]', "OccurenceConstraintViolation"),
        (
            '[2,"m4","ChangeAvailability",{"connectorId":"one","type":"Operative"}]',
            "TypeConstraintViolation",
        ),
        ('[2,"m5","Reset"]', "FormationViolation"),
        ('[2,"m6","Reset",{"type":"Soft"}', "FormationViolation"),
    ]
    for text, _code in cases:
        await peer16.send_raw("CP-ERR", text)
    await settle(peer16)

    def answers() -> list[list]:
        return [f for f in peer16.frames("CP-ERR", direction="in") if f and f[0] == 4]

    await wait_until(lambda: len(answers()) >= len(cases))
    by_id = {f[1]: f[2] for f in answers()}
    for (text, code), message_id in zip(
        cases, ["m0", "m1", "m2", "m3", "m4", "m5", "-1"], strict=True
    ):
        assert by_id.get(message_id) == code, (text, by_id)
    # The station is still up and answering.
    assert (await peer16.call("CP-ERR", "GetLocalListVersion", {})) == {"listVersion": 0}
    assert runner.link.online
    assert json.dumps(peer16.strict_failures) == "[]"


async def test_rejected_id_tag_does_not_charge(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-REJ")
    await peer16.set_auth("STOLEN", "Blocked")
    await COMMANDS["plug_connector"](runner, {"connector_id": 1})
    # StartTransaction answered Blocked: StopTransactionOnInvalidId (default true) ends it.
    await COMMANDS["start_transaction"](runner, {"connector_id": 1, "id_tag": "STOLEN"})
    stop = await peer16.wait_for_call("CP-REJ", "StopTransaction")
    assert stop["reason"] == "DeAuthorized"
    assert stop["meterStop"] - peer16.calls("CP-REJ", "StartTransaction")[0]["meterStart"] <= 1
    assert runner.station.connectors[1].transaction is None
    # With StopTransactionOnInvalidId false the transaction stays open but the EVSE suspends.
    await COMMANDS["configuration"](runner, {"key": "StopTransactionOnInvalidId", "value": "false"})
    await COMMANDS["start_transaction"](runner, {"connector_id": 1, "id_tag": "STOLEN"})
    await wait_until(lambda: statuses(peer16, "CP-REJ", 1)[-1] == "SuspendedEVSE")
    assert runner.station.connectors[1].power_w == 0
    # start-session authorizes first and never starts for a rejected tag
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    with pytest.raises(Exception) as info:
        await COMMANDS["start_session"](runner, {"connector_id": 2, "id_tag": "STOLEN"})
    assert getattr(info.value, "code", None) == "not_authorized"
    await peer16.sync()
    assert len(peer16.calls("CP-REJ", "StartTransaction")) == 2
    assert runner.station.connectors[2].plugged is False


async def test_auth_features_can_be_switched_off(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-OFF")
    await COMMANDS["configuration"](runner, {"key": "LocalPreAuthorize", "value": "true"})
    await COMMANDS["local_auth_list"](
        runner,
        {
            "list_version": 1,
            "update_type": "Full",
            "entries": [{"id_tag": "L1", "status": "Accepted"}],
        },
    )
    await COMMANDS["configuration"](runner, {"key": "LocalAuthListEnabled", "value": "false"})
    result = await COMMANDS["authorize_id_tag"](runner, {"id_tag": "L1"})
    assert result["source"] == "csms"
    await COMMANDS["configuration"](runner, {"key": "AuthorizationCacheEnabled", "value": "false"})
    await COMMANDS["authorize_id_tag"](runner, {"id_tag": "C1"})
    again = await COMMANDS["authorize_id_tag"](runner, {"id_tag": "C1"})
    assert again["source"] == "csms"
    await peer16.sync()  # the peer's record of what it received is complete
    assert [a["idTag"] for a in peer16.calls("CP-OFF", "Authorize")] == ["L1", "C1", "C1"]
    assert await peer16.call("CP-OFF", "GetLocalListVersion", {}) == {"listVersion": -1}


async def test_dc_meter_values_carry_soc_and_follow_the_taper(runtime, peer16):
    runner = await boot(runtime, peer16, "CP-DC", model="dc-150kw-2ccs")
    await COMMANDS["configuration"](runner, {"key": "MeterValueSampleInterval", "value": "30"})
    await COMMANDS["plug_connector"](
        runner, {"connector_id": 1, "ev_profile": "long-range-sedan", "soc_percent": 78}
    )
    await COMMANDS["start_transaction"](runner, {"connector_id": 1, "id_tag": "DC"})
    await wait_until(lambda: len(peer16.calls("CP-DC", "MeterValues")) >= 8, timeout=15)
    await COMMANDS["stop_transaction"](runner, {"connector_id": 1})
    samples = []
    for call in peer16.calls("CP-DC", "MeterValues"):
        values = {
            sv["measurand"]: float(sv["value"]) for sv in call["meterValue"][0]["sampledValue"]
        }
        stamped = datetime.fromisoformat(call["meterValue"][0]["timestamp"].replace("Z", "+00:00"))
        values["at"] = stamped.timestamp()
        samples.append(values)
    powers = [s["Power.Active.Import"] for s in samples]
    socs = [s["SoC"] for s in samples]
    energies = [s["Energy.Active.Import.Register"] for s in samples]
    assert socs == sorted(socs) and socs[-1] > 80
    assert powers[-1] < powers[0]  # tapering above 80 % SoC
    assert energies == sorted(energies)
    for sample in samples:
        # P = U * I on DC, within rounding
        assert sample["Power.Active.Import"] == pytest.approx(
            sample["Voltage"] * sample["Current.Import"], rel=0.01, abs=5
        )
    # the energy between two samples follows the power over the time between their stamps: about
    # 30 s, more when a loaded machine delays a sample (the test clock runs 100 times real time)
    for before, after in zip(samples, samples[1:], strict=False):
        interval = after["at"] - before["at"]
        assert 29 <= interval <= 60
        mean_power = (before["Power.Active.Import"] + after["Power.Active.Import"]) / 2
        expected = mean_power * interval / 3600
        assert after["Energy.Active.Import.Register"] - before[
            "Energy.Active.Import.Register"
        ] == pytest.approx(expected, rel=0.1)


async def test_stop_session_reports_finishing_before_available(runtime, peer16):
    """stop-session stops the transaction, then takes the cable out: the CSMS sees the
    connector pass through Finishing (cable still in) before Available."""
    runner = await boot(runtime, peer16, "CP-FIN")
    await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "FIN"})
    await wait_until(lambda: statuses(peer16, "CP-FIN", 1)[-1:] == ["Charging"])
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    await wait_until(lambda: statuses(peer16, "CP-FIN", 1)[-1:] == ["Available"])
    await peer16.sync()
    assert statuses(peer16, "CP-FIN", 1)[-3:] == ["Charging", "Finishing", "Available"]
    assert peer16.strict_failures == []
