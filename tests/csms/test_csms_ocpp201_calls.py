"""The built-in CSMS and OCPP 2.0.1 (and 2.1) stations, continued: authorization, CALLERRORs
for bad frames, a schema-valid answer for every request the 2.x schemas allow a station to
send, and the CSMS's own requests to 2.x stations."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from csms_support import (  # noqa: F401 - the *_fixture names register fixtures
    CPO,
    RawStation,
    RecordingListener,
    live_fixture,
    start_csms_fixture,
)
from ocpp201_support import T0, V21, V201, booted, event, meter, rfid, status
from schema_payloads import instance, load_request_schema

from voltlab.csms.events import IdTagStatus
from voltlab.csms.ocpp201 import charging_station_actions

# -- authorization -------------------------------------------------------------------------


async def test_authorize_maps_the_listeners_decision(start_csms):
    listener = RecordingListener()
    listener.decisions["BLOCKED"] = IdTagStatus("Blocked")
    listener.decisions["GONE"] = IdTagStatus("Expired")
    listener.decisions["BUSY"] = IdTagStatus("ConcurrentTx")
    listener.decisions["FLEET-1"] = IdTagStatus(
        "Accepted", datetime(2030, 1, 1, tzinfo=UTC), "FLEET"
    )
    listener.decisions["ORPHAN"] = IdTagStatus("Accepted", None, "G" * 40)
    live = await start_csms(listener)
    station = await booted(live, "CS-AUTH")

    async def info(value: str, token_type: str = "ISO14443") -> dict[str, Any]:
        answer = await station.result("Authorize", {"idToken": rfid(value, token_type)})
        return answer["idTokenInfo"]

    assert await info("BLOCKED") == {"status": "Blocked"}
    assert await info("GONE", "eMAID") == {"status": "Expired"}
    assert await info("BUSY") == {"status": "ConcurrentTx"}
    assert await info("NOBODY", "KeyCode") == {"status": "Accepted"}
    assert await info("FLEET-1", "Central") == {
        "status": "Accepted",
        "cacheExpiryDateTime": "2030-01-01T00:00:00.000Z",
        "groupIdToken": {"idToken": "FLEET", "type": "Central"},
    }
    assert await info("ORPHAN") == {"status": "Accepted"}  # a 40-char group does not fit
    # NoAuthorization: nothing for the listener to decide on.
    assert await info("", "NoAuthorization") == {"status": "Accepted"}
    assert [h.data["id_tag"] for h in listener.of("authorize")] == [
        "BLOCKED",
        "GONE",
        "BUSY",
        "NOBODY",
        "FLEET-1",
        "ORPHAN",
    ]
    await station.close()


async def test_no_decision_from_the_listener_is_unknown(start_csms):
    live = await start_csms(
        RecordingListener(failing={"authorize"}, delays={}), authorize_timeout=0.2
    )
    station = await booted(live, "CS-NODECISION")
    answer = await station.result("Authorize", {"idToken": rfid("T1")})
    assert answer == {"idTokenInfo": {"status": "Unknown"}}
    started = event("Started", "u-1", 0, "Authorized", 1, evse_id=1, token=rfid("T1"))
    assert (await station.result("TransactionEvent", started))["idTokenInfo"] == {
        "status": "Unknown"
    }
    await live.csms.idle()
    # The listener-facing record keeps the 1.6 word for "not allowed".
    assert live.listener.txs("transaction_started")[0].id_tag_status == "Invalid"
    await station.close()


# -- bad frames ----------------------------------------------------------------------------


async def test_schema_invalid_and_unknown_frames_get_callerrors(live):
    station = await booted(live, "CS-BAD")
    missing = await station.call("StatusNotification", {"evseId": 1, "connectorId": 1})
    assert missing[0] == 4 and missing[2] == "OccurrenceConstraintViolation"
    wrong_type = await station.call("StatusNotification", {**status(1, "Available"), "evseId": "1"})
    assert wrong_type[2] == "TypeConstraintViolation"
    bad_enum = await station.call("StatusNotification", status(1, "Charging"))  # a 1.6 word
    assert bad_enum[2] == "PropertyConstraintViolation"
    long_id = event("Started", "x" * 37, 0, "Authorized", 1)
    assert (await station.call("TransactionEvent", long_id))[2] == "PropertyConstraintViolation"
    extra = {**status(1, "Available"), "errorCode": "NoError"}
    assert (await station.call("StatusNotification", extra))[2] == "PropertyConstraintViolation"
    assert (await station.call("StartTransaction", {}))[2] == "NotImplemented"  # 1.6 only
    remote = await station.call(
        "RequestStartTransaction", {"idToken": rfid("X"), "remoteStartId": 1}
    )
    assert remote[2] == "NotSupported"  # a real 2.0.1 action, but the CSMS's to send
    await station.send("this is not json")
    garbage = await station.recv()
    assert garbage[0] == 4 and garbage[2] == "RpcFrameworkError"  # not an RPC message at all
    await station.send([2, "m-broken", "Heartbeat", ["not", "an", "object"]])
    broken = await station.recv()
    assert broken[:3] == [4, "m-broken", "FormatViolation"]
    assert "currentTime" in await station.result("Heartbeat", {})
    assert live.csms.stations(CPO)[0].open_transactions == ()
    await station.close()


@pytest.mark.parametrize("version", [V201, V21])
async def test_every_request_the_schemas_allow_gets_a_valid_answer(live, version):
    """Minimal, maximal and random schema instances of every charging-station request.

    The CSMS validates its own answers before sending them, so a CALLRESULT here proves the
    answer fits the schema; an InternalError would mean a handler broke or answered wrongly.
    """
    station = await booted(live, "CS-SCHEMA", version)
    rng = random.Random(201)
    for action in sorted(charging_station_actions(version)):
        schema = load_request_schema(version, action)
        payloads = [instance(schema, rng, "min"), instance(schema, rng, "max")]
        payloads += [instance(schema, rng, "random") for _ in range(8)]
        for payload in payloads:
            frame = await station.call(action, payload)
            assert frame[0] == 3, (action, payload, frame)
    assert live.csms.is_connected(CPO, "CS-SCHEMA")
    await station.close()


# -- CSMS -> station -----------------------------------------------------------------------


async def answer_next(station: RawStation, payload: dict[str, Any]) -> list[Any]:
    frame = await station.recv()
    await station.send([3, frame[1], payload])
    return frame


async def exchange(station: RawStation, call, answer: dict[str, Any]) -> tuple[Any, list]:
    """Run a CSMS helper while the station answers its request; (result, request frame)."""
    answering = asyncio.create_task(answer_next(station, answer))
    result = await call
    return result, await answering


@pytest.mark.parametrize("version", [V201, V21])
async def test_calls_to_a_2x_station(live, version):
    csms = live.csms
    station = await booted(live, "CS-CALLED", version)
    accepted = {"status": "Accepted"}

    result, request = await exchange(
        station, csms.remote_start(CPO, "CS-CALLED", 1, "04A2B3C4"), accepted
    )
    assert result == "Accepted" and request[2] == "RequestStartTransaction"
    body = request[3]
    assert body["idToken"] == {"idToken": "04A2B3C4", "type": "ISO14443"}
    assert body["evseId"] == 1 and isinstance(body["remoteStartId"], int)
    result, request = await exchange(
        station, csms.remote_start(CPO, "CS-CALLED", None, "APP-USER-7"), {"status": "Rejected"}
    )
    assert result == "Rejected"
    assert request[3]["idToken"] == {"idToken": "APP-USER-7", "type": "Central"}
    assert "evseId" not in request[3]
    assert request[3]["remoteStartId"] > body["remoteStartId"]

    # The remotely started transaction, as the station reports it.
    started = event(
        "Started",
        "remote-9",
        0,
        "RemoteStart",
        1,
        evse_id=1,
        token=rfid("04A2B3C4"),
        remote_start_id=body["remoteStartId"],
        charging_state="Charging",
        meter_values=[meter(1, 10)],
    )
    await station.result("TransactionEvent", started)
    tx = csms.find_transaction_by_connector(CPO, "CS-CALLED", 1)
    result, request = await exchange(
        station, csms.remote_stop(CPO, "CS-CALLED", tx.transaction_id), accepted
    )
    assert result == "Accepted"
    assert request[2:] == ["RequestStopTransaction", {"transactionId": "remote-9"}]
    # An id the station never had: nothing is sent, the answer is the station's would-be one.
    assert await csms.remote_stop(CPO, "CS-CALLED", tx.transaction_id + 10_000) == "Rejected"

    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    result, request = await exchange(
        station,
        csms.reserve_now(CPO, "CS-CALLED", 2, "04A2B3C4", expiry, 7, parent_id_tag="FLEET"),
        accepted,
    )
    assert request[2:] == [
        "ReserveNow",
        {
            "id": 7,
            "expiryDateTime": "2030-01-01T00:00:00.000Z",
            "idToken": {"idToken": "04A2B3C4", "type": "ISO14443"},
            "evseId": 2,
            "groupIdToken": {"idToken": "FLEET", "type": "Central"},
        },
    ]
    result, request = await exchange(
        station, csms.cancel_reservation(CPO, "CS-CALLED", 7), accepted
    )
    assert request[2:] == ["CancelReservation", {"reservationId": 7}]
    result, request = await exchange(
        station, csms.unlock_connector(CPO, "CS-CALLED", 2), {"status": "Unlocked"}
    )
    assert result == "Unlocked"
    assert request[2:] == ["UnlockConnector", {"evseId": 2, "connectorId": 1}]
    _, request = await exchange(station, csms.reset(CPO, "CS-CALLED", hard=True), accepted)
    assert request[2:] == ["Reset", {"type": "Immediate"}]
    result, request = await exchange(station, csms.reset(CPO, "CS-CALLED"), {"status": "Scheduled"})
    assert result == "Scheduled" and request[3] == {"type": "OnIdle"}
    _, request = await exchange(
        station, csms.change_availability(CPO, "CS-CALLED", 0, operative=False), accepted
    )
    assert request[2:] == ["ChangeAvailability", {"operationalStatus": "Inoperative"}]
    _, request = await exchange(
        station, csms.change_availability(CPO, "CS-CALLED", 2, operative=True), accepted
    )
    assert request[3] == {"operationalStatus": "Operative", "evse": {"id": 2}}
    _, request = await exchange(
        station,
        csms.trigger_message(CPO, "CS-CALLED", "StatusNotification", connector_id=1),
        accepted,
    )
    assert request[2:] == [
        "TriggerMessage",
        {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
    ]
    _, request = await exchange(
        station, csms.trigger_message(CPO, "CS-CALLED", "DiagnosticsStatusNotification"), accepted
    )
    assert request[3] == {"requestedMessage": "LogStatusNotification"}
    await station.close()


async def test_16_and_201_stations_share_the_endpoint(live):
    old = await RawStation.connect(live, "CP-16")
    await old.boot()
    new = await booted(live, "CS-201")
    await old.result(
        "StartTransaction", {"connectorId": 1, "idTag": "OLD", "meterStart": 0, "timestamp": T0}
    )
    await new.result(
        "TransactionEvent",
        event("Started", "n-1", 0, "Authorized", 1, evse_id=1, token=rfid("NEW")),
    )
    await live.csms.idle()
    started = {tx.identity: tx for tx in live.listener.txs("transaction_started")}
    assert started["CP-16"].station_transaction_id is None
    assert started["CS-201"].station_transaction_id == "n-1"
    assert started["CP-16"].transaction_id != started["CS-201"].transaction_id
    assert {s.identity: s.version for s in live.csms.stations(CPO)} == {
        "CP-16": "ocpp1.6",
        "CS-201": "ocpp2.0.1",
    }
    await old.close()
    await new.close()
