"""Every one of the 18 /ocpp/commands/* endpoints, over HTTP, with its effect checked on the
wire (frames the strict ocpp-rpc CSMS received) or in the station state; for a charger target
and for a location target narrowed by charger_ids."""

from __future__ import annotations

import pytest

from support import wait_until

from .conftest import Gateway


def sent(gw: Gateway, identity: str, action: str) -> list[dict]:
    return gw.peer.calls(identity, action)


def statuses(gw: Gateway, identity: str, connector_id: int) -> list[str]:
    return [
        c["status"]
        for c in sent(gw, identity, "StatusNotification")
        if c["connectorId"] == connector_id
    ]


async def connector(gw: Gateway, charger_id: str, connector_id: int) -> dict:
    state = await gw.charger(charger_id)
    return state["connectors"][connector_id - 1]


@pytest.mark.parametrize("mode", ["charger", "location_subset"])
async def test_all_18_commands(gateway: Gateway, mode: str) -> None:
    gw = gateway
    location = await gw.location(chargers=3)
    chargers = location["chargers"]
    if mode == "charger":
        target = {"charger_id": chargers[0]["charger_id"]}
        hit = chargers[:1]
    else:
        target = {
            "location_id": location["location_id"],
            "charger_ids": [chargers[0]["charger_id"], chargers[1]["charger_id"]],
        }
        hit = chargers[:2]
    bystander = chargers[2]
    ids = [(c["charger_id"], c["identity"]) for c in hit]

    # 1 configuration: the CSMS reads the new value back
    await gw.command("configuration", target, {"key": "LocalPreAuthorize", "value": "true"})
    for _, identity in ids:
        got = await gw.peer.call(identity, "GetConfiguration", {"key": ["LocalPreAuthorize"]})
        assert got["configurationKey"][0]["value"] == "true"

    # 2 local-auth-list and 3 clear-local-auth-list: GetLocalListVersion follows
    await gw.command(
        "local-auth-list",
        target,
        {
            "list_version": 5,
            "update_type": "Full",
            "entries": [{"id_tag": "LOCAL-1", "status": "Accepted"}],
        },
    )
    for _, identity in ids:
        assert await gw.peer.call(identity, "GetLocalListVersion", {}) == {"listVersion": 5}
    records = await gw.command("authorize-id-tag", target, {"id_tag": "LOCAL-1"})
    assert {r["result"]["source"] for r in records} == {"local_list"}
    await gw.command("clear-local-auth-list", target)
    for _, identity in ids:
        assert await gw.peer.call(identity, "GetLocalListVersion", {}) == {"listVersion": 0}

    # 4 authorize-id-tag and 5 cache/reset: CSMS, then cache, then CSMS again after the reset
    first = await gw.command("authorize-id-tag", target, {"id_tag": "TAG-A"})
    second = await gw.command("authorize-id-tag", target, {"id_tag": "TAG-A"})
    assert [r["result"]["source"] for r in first] == ["csms"] * len(ids)
    assert [r["result"]["source"] for r in second] == ["cache"] * len(ids)
    await gw.command("cache/reset", target)
    third = await gw.command("authorize-id-tag", target, {"id_tag": "TAG-A"})
    assert [r["result"]["source"] for r in third] == ["csms"] * len(ids)
    for _, identity in ids:
        assert [c["idTag"] for c in sent(gw, identity, "Authorize")] == ["TAG-A", "TAG-A"]

    # 6 plug-connector, 7 start-transaction
    await gw.command("plug-connector", target, {"connector_id": 1})
    for _, identity in ids:
        await wait_until(lambda identity=identity: statuses(gw, identity, 1)[-1:] == ["Preparing"])
    await gw.command("start-transaction", target, {"connector_id": 1, "id_tag": "TAG-A"})
    for charger_id, identity in ids:
        start = sent(gw, identity, "StartTransaction")[-1]
        assert (start["connectorId"], start["idTag"]) == (1, "TAG-A")
        assert (await connector(gw, charger_id, 1))["status"] == "Charging"

    # 8 ev-stops-energy, 9 ev-requests-energy, 10 power-update
    await gw.command("ev-stops-energy", target, {"connector_id": 1})
    for charger_id, identity in ids:
        await wait_until(lambda identity=identity: statuses(gw, identity, 1)[-1] == "SuspendedEV")
        assert (await connector(gw, charger_id, 1))["power_w"] == 0
    await gw.command("ev-requests-energy", target, {"connector_id": 1, "power_kw": 3.7})
    for charger_id, identity in ids:
        await wait_until(lambda identity=identity: statuses(gw, identity, 1)[-1] == "Charging")
        assert (await connector(gw, charger_id, 1))["power_w"] == 3700
    await gw.command(
        "power-update", target, {"connector_id": 1, "power_kw": 7.0, "soc_percent": 55}
    )
    for charger_id, _ in ids:
        state = await connector(gw, charger_id, 1)
        assert state["power_w"] == 7000 and state["soc_percent"] == pytest.approx(55, abs=0.5)

    # 11 stop-transaction, 12 unplug-connector
    await gw.command("stop-transaction", target, {"connector_id": 1, "reason": "Local"})
    for _, identity in ids:
        stop = sent(gw, identity, "StopTransaction")[-1]
        assert stop["reason"] == "Local"
        await wait_until(lambda identity=identity: statuses(gw, identity, 1)[-1] == "Finishing")
    await gw.command("unplug-connector", target, {"connector_id": 1})
    for _, identity in ids:
        await wait_until(lambda identity=identity: statuses(gw, identity, 1)[-1] == "Available")

    # 13 start-session with a duration: stops itself after 120 simulated seconds
    records = await gw.command(
        "start-session", target, {"id_tag": "TAG-B", "connector_id": 2, "duration_seconds": 120}
    )
    assert {r["result"]["authorized_by"] for r in records} == {"csms"}
    for _, identity in ids:
        stop = await gw.peer.wait_for_call(
            identity, "StopTransaction", lambda p: p["idTag"] == "TAG-B"
        )
        start = [s for s in sent(gw, identity, "StartTransaction") if s["idTag"] == "TAG-B"][0]
        assert stop["reason"] == "Local"
        await wait_until(lambda identity=identity: statuses(gw, identity, 2)[-1] == "Available")
        from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

        assert parse_timestamp(stop["timestamp"]) - parse_timestamp(
            start["timestamp"]
        ) == pytest.approx(120, abs=2)

    # 14 stop-session ends a running session and unplugs
    await gw.command("start-session", target, {"id_tag": "TAG-C", "connector_id": 2})
    await gw.command("stop-session", target, {"connector_id": 2})
    for charger_id, identity in ids:
        assert sent(gw, identity, "StopTransaction")[-1]["idTag"] == "TAG-C"
        state = await connector(gw, charger_id, 2)
        assert (state["status"], state["plugged"]) == ("Available", False)

    # 15 inject-fault stops the transaction, 16 clear-fault restores the status
    await gw.command("start-session", target, {"id_tag": "TAG-D", "connector_id": 1})
    records = await gw.command(
        "inject-fault",
        target,
        {
            "connector_id": 1,
            "fault_type": "GroundFault",
            "vendor_error_code": "GF-7",
            "info": "leak",
        },
    )
    for record in records:
        assert record["result"]["stopped_transactions"][0]["stop_reason"] == "EmergencyStop"
    for charger_id, identity in ids:
        faulted = [c for c in sent(gw, identity, "StatusNotification") if c["status"] == "Faulted"][
            -1
        ]
        assert (faulted["errorCode"], faulted["vendorErrorCode"]) == ("GroundFailure", "GF-7")
        assert sent(gw, identity, "StopTransaction")[-1]["reason"] == "EmergencyStop"
        assert (await gw.charger(charger_id))["faults"][0]["fault_type"] == "GroundFault"
    await gw.command("clear-fault", target, {"connector_id": 1})
    for _, identity in ids:
        # the cable is still in: back to Finishing, what it would be without the fault
        await wait_until(lambda identity=identity: statuses(gw, identity, 1)[-1] == "Finishing")

    # 17 unlock-connector ends the transaction with UnlockCommand
    await gw.command("unplug-connector", target, {"connector_id": 1})
    await gw.command("start-session", target, {"id_tag": "TAG-E", "connector_id": 1})
    records = await gw.command("unlock-connector", target, {"connector_id": 1})
    assert {r["result"]["unlock_status"] for r in records} == {"Unlocked"}
    for _, identity in ids:
        assert sent(gw, identity, "StopTransaction")[-1]["reason"] == "UnlockCommand"

    # 18 proxy-message: the CALL goes out as written and the answer comes back
    records = await gw.command(
        "proxy-message",
        target,
        {
            "action": "DataTransfer",
            "payload": {"vendorId": "com.example", "messageId": "ping", "data": "42"},
        },
    )
    for record in records:
        assert record["result"]["response"]["status"] == "Accepted"
    for _, identity in ids:
        assert sent(gw, identity, "DataTransfer")[-1]["data"] == "42"

    # the bystander outside charger_ids saw none of it
    assert sent(gw, bystander["identity"], "StartTransaction") == []
    assert sent(gw, bystander["identity"], "Authorize") == []
    await gw.peer.sync()
    assert gw.peer.strict_failures == []


async def test_failed_preconditions_leave_the_station_unchanged(gateway: Gateway) -> None:
    gw = gateway
    location = await gw.location(chargers=1)
    charger = location["chargers"][0]
    target = {"charger_id": charger["charger_id"]}
    before = await gw.charger(charger["charger_id"])
    frames_before = len(gw.peer.frames(charger["identity"]))

    [record] = await gw.command(
        "start-transaction", target, {"connector_id": 1, "id_tag": "X"}, expect="failed"
    )
    assert record["error"]["code"] == "not_plugged"
    [record] = await gw.command("unplug-connector", target, {"connector_id": 2}, expect="failed")
    assert record["error"]["code"] == "not_plugged"
    [record] = await gw.command("stop-transaction", target, {"connector_id": 1}, expect="failed")
    assert record["error"]["code"] == "no_transaction"
    [record] = await gw.command("clear-fault", target, {"connector_id": 1}, expect="failed")
    assert record["error"]["code"] == "no_fault"
    [record] = await gw.command(
        "local-auth-list",
        target,
        {"list_version": 0, "update_type": "Differential", "entries": []},
        expect="failed",
    )
    assert record["error"]["code"] == "VersionMismatch"
    [record] = await gw.command(
        "configuration", target, {"key": "HeartbeatInterval", "value": "often"}, expect="failed"
    )
    assert record["error"]["code"] == "invalid_value"
    # a schema-invalid CALL is refused before it reaches the wire
    [record] = await gw.command(
        "proxy-message", target, {"action": "Heartbeat", "payload": {"extra": 1}}, expect="failed"
    )
    assert record["error"]["code"] == "invalid_payload"
    assert "extra" in record["error"]["message"]
    # an unknown connector never reaches the station: the 202 lists it as failed
    response = await gw.post(
        "/ocpp/commands/plug-connector", {"target": target, "event": {"connector_id": 3}}
    )
    assert response.status_code == 202
    assert response.json()["failed"][0]["error"]["code"] == "unknown_connector"

    after = await gw.charger(charger["charger_id"])
    for key in ("connectors", "faults", "registration", "connection"):
        assert after[key] == before[key], key
    await gw.peer.sync()
    # nothing but heartbeats may have gone out in between
    new = [
        f for f in gw.peer.frames(charger["identity"], direction="in")[frames_before:] if f[0] == 2
    ]
    assert {f[2] for f in new} <= {"Heartbeat"}
    assert all(f[3] == {} for f in new)
