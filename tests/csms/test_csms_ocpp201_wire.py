"""The built-in CSMS serving OCPP 2.0.1 (and 2.1) stations, driven frame by frame by a raw
websockets client: boot and status, TransactionEvent series reaching the listener in 1.6
terms, authorization, CSMS -> station requests, CALLERRORs for bad frames, and an answer
that passes the schema for every request the 2.x schemas allow a station to send."""

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
    wait_until,
)
from schema_payloads import instance, load_request_schema
from websockets.exceptions import InvalidStatus

from voltlab.csms import IdTagStatus
from voltlab.csms.ocpp201 import charging_station_actions

V201 = "ocpp2.0.1"
V21 = "ocpp2.1"
T0 = "2025-03-01T12:00:00.000Z"
BOOT = {
    "reason": "PowerUp",
    "chargingStation": {"model": "Raw 2", "vendorName": "Voltlab", "firmwareVersion": "1.0"},
}


async def connect(live, identity: str, version: str = V201) -> RawStation:
    station = await RawStation.connect(live, identity, (version,))
    assert station.websocket.subprotocol == version
    return station


async def booted(live, identity: str, version: str = V201) -> RawStation:
    station = await connect(live, identity, version)
    assert (await station.result("BootNotification", BOOT))["status"] == "Accepted"
    return station


def at(minute: int) -> str:
    return f"2025-03-01T12:{minute:02d}:00.000Z"


def status(evse_id: int, connector_status: str, minute: int = 0) -> dict[str, Any]:
    return {
        "timestamp": at(minute),
        "connectorStatus": connector_status,
        "evseId": evse_id,
        "connectorId": 1,
    }


def meter(minute: int, wh: float, context: str = "Sample.Periodic", **extra: Any) -> dict:
    """One 2.x meterValue: the energy register (default measurand and unit) plus extras."""
    sampled: list[dict[str, Any]] = [{"value": wh, "context": context}]
    if "kw" in extra:
        sampled.append(
            {
                "value": extra["kw"],
                "context": context,
                "measurand": "Power.Active.Import",
                "unitOfMeasure": {"unit": "kW"},
            }
        )
    if "soc" in extra:
        sampled.append(
            {
                "value": extra["soc"],
                "context": context,
                "measurand": "SoC",
                "location": "EV",
                "unitOfMeasure": {"unit": "Percent"},
            }
        )
    return {"timestamp": at(minute), "sampledValue": sampled}


def rfid(value: str, token_type: str = "ISO14443") -> dict[str, str]:
    return {"idToken": value, "type": token_type}


def event(
    kind: str,
    tx_id: str,
    seq_no: int,
    trigger: str,
    minute: int,
    *,
    evse_id: int | None = None,
    charging_state: str | None = None,
    token: dict[str, str] | None = None,
    meter_values: list[dict] | None = None,
    stopped_reason: str | None = None,
    offline: bool | None = None,
    remote_start_id: int | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {"transactionId": tx_id}
    if charging_state is not None:
        info["chargingState"] = charging_state
    if stopped_reason is not None:
        info["stoppedReason"] = stopped_reason
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    payload: dict[str, Any] = {
        "eventType": kind,
        "timestamp": at(minute),
        "triggerReason": trigger,
        "seqNo": seq_no,
        "transactionInfo": info,
    }
    if evse_id is not None:
        payload["evse"] = {"id": evse_id, "connectorId": 1}
    if token is not None:
        payload["idToken"] = token
    if meter_values is not None:
        payload["meterValue"] = meter_values
    if offline is not None:
        payload["offline"] = offline
    return payload


def statuses(listener: RecordingListener, identity: str, connector_id: int = 1) -> list[str]:
    return [
        h.data["status"]
        for h in listener.of("connector_status", identity)
        if h.data["connector_id"] == connector_id
    ]


def tx_kinds(listener: RecordingListener, identity: str) -> list[str]:
    return [
        h.kind
        for h in listener.heard
        if h.identity == identity and h.kind.startswith(("transaction", "meter"))
    ]


# -- handshake, boot, status ---------------------------------------------------------------


async def test_unknown_identity_is_refused(start_csms):
    async def known(cpo_id: str, identity: str) -> bool:
        return identity == "CS-KNOWN"

    live = await start_csms(is_known_station=known)
    with pytest.raises(InvalidStatus) as refused:
        await connect(live, "CS-STRANGER")
    assert refused.value.response.status_code == 404
    station = await booted(live, "CS-KNOWN")
    assert [s.identity for s in live.csms.stations(CPO)] == ["CS-KNOWN"]
    await station.close()


@pytest.mark.parametrize("version", [V201, V21])
async def test_boot_heartbeat_and_statuses(live, version):
    station = await connect(live, "CS-BOOT", version)
    boot = await station.result("BootNotification", BOOT)
    assert boot["status"] == "Accepted" and boot["interval"] == 60
    assert datetime.fromisoformat(boot["currentTime"]).tzinfo is not None
    assert "currentTime" in await station.result("Heartbeat", {})
    for evse_id, connector_status in [
        (1, "Available"),
        (2, "Faulted"),
        (3, "Reserved"),
        (4, "Unavailable"),
        (5, "Occupied"),
    ]:
        assert await station.result("StatusNotification", status(evse_id, connector_status)) == {}
    view = live.csms.station(CPO, "CS-BOOT")
    assert view is not None and view.connected and view.registered and view.version == version
    assert view.boot == BOOT  # as received: the listener gets the 2.x payload
    assert [(c.connector_id, c.status, c.error_code) for c in view.connectors] == [
        (1, "Available", "NoError"),
        (2, "Faulted", "OtherError"),
        (3, "Reserved", "NoError"),
        (4, "Unavailable", "NoError"),
        (5, "Preparing", "NoError"),  # Occupied without a transaction: an EV plugged in
    ]
    assert view.connectors[0].timestamp == datetime(2025, 3, 1, 12, tzinfo=UTC)
    await live.csms.idle()
    assert live.listener.of("station_registered")[0].data["boot"] == BOOT
    heard = [
        (h.data["connector_id"], h.data["status"]) for h in live.listener.of("connector_status")
    ]
    assert heard == [
        (1, "Available"),
        (2, "Faulted"),
        (3, "Reserved"),
        (4, "Unavailable"),
        (5, "Preparing"),
    ]
    await station.close()
    await wait_until(lambda: live.listener.of("station_disconnected", "CS-BOOT"))


async def test_misc_notifications_are_answered_and_recorded(live):
    station = await booted(live, "CS-MISC")
    await station.result("StatusNotification", status(1, "Available"))
    assert await station.result("FirmwareStatusNotification", {"status": "Installed"}) == {}
    assert await station.result("LogStatusNotification", {"status": "Uploaded"}) == {}
    security = {"type": "StartupOfTheDevice", "timestamp": T0}
    assert await station.result("SecurityEventNotification", security) == {}
    update = {"reservationId": 7, "reservationUpdateStatus": "Expired"}
    assert await station.result("ReservationStatusUpdate", update) == {}
    transfer = {"vendorId": "com.example", "messageId": "x", "data": {"a": 1}}
    assert await station.result("DataTransfer", transfer) == {"status": "UnknownVendorId"}
    report = {"requestId": 1, "generatedAt": T0, "seqNo": 0, "tbc": False}
    assert await station.result("NotifyReport", report) == {}
    sign = {"csr": "-----BEGIN CERTIFICATE REQUEST-----"}
    assert await station.result("SignCertificate", sign) == {"status": "Rejected"}
    # Connector status reported as a NotifyEvent on the Connector's AvailabilityState.
    notify = {
        "generatedAt": T0,
        "seqNo": 0,
        "eventData": [
            {
                "eventId": 1,
                "timestamp": at(1),
                "trigger": "Delta",
                "actualValue": "Unavailable",
                "eventNotificationType": "HardWiredNotification",
                "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                "variable": {"name": "AvailabilityState"},
            },
            {
                "eventId": 2,
                "timestamp": at(1),
                "trigger": "Alerting",
                "actualValue": "true",
                "eventNotificationType": "HardWiredMonitor",
                "component": {"name": "EVSE", "evse": {"id": 1}},
                "variable": {"name": "Problem"},
            },
        ],
    }
    assert await station.result("NotifyEvent", notify) == {}
    view = live.csms.station(CPO, "CS-MISC")
    assert (view.firmware_status, view.diagnostics_status) == ("Installed", "Uploaded")
    await live.csms.idle()
    assert statuses(live.listener, "CS-MISC") == ["Available", "Unavailable"]
    await station.close()


# -- transactions --------------------------------------------------------------------------


@pytest.mark.parametrize("version", [V201, V21])
async def test_a_full_transaction_reaches_the_listener(live, version):
    station = await booted(live, "CS-TX", version)
    await station.result("StatusNotification", status(1, "Available"))
    await station.result("StatusNotification", status(1, "Occupied", 1))
    started = await station.result(
        "TransactionEvent",
        event(
            "Started",
            "tx-0001",
            0,
            "Authorized",
            1,
            evse_id=1,
            charging_state="EVConnected",
            token=rfid("04A2B3C4D5E6F7"),
            meter_values=[meter(1, 1000, "Transaction.Begin")],
        ),
    )
    assert started == {"idTokenInfo": {"status": "Accepted"}}
    tx = live.csms.find_transaction_by_connector(CPO, "CS-TX", 1)
    assert tx is not None and tx.is_open and tx.station_transaction_id == "tx-0001"
    assert live.csms.transaction(CPO, tx.transaction_id).id_tag == "04A2B3C4D5E6F7"
    charging = event(
        "Updated",
        "tx-0001",
        1,
        "ChargingStateChanged",
        2,
        charging_state="Charging",
        meter_values=[meter(2, 1.5, kw=11.0, soc=40)],
    )
    charging["meterValue"][0]["sampledValue"][0]["unitOfMeasure"] = {"unit": "kWh"}
    assert await station.result("TransactionEvent", charging) == {}
    periodic = event("Updated", "tx-0001", 2, "MeterValuePeriodic", 3, meter_values=[meter(3, 2)])
    # 2 x 10^3 Wh: the unitOfMeasure multiplier scales the value.
    periodic["meterValue"][0]["sampledValue"][0]["unitOfMeasure"] = {"multiplier": 3}
    assert await station.result("TransactionEvent", periodic) == {}
    suspended = event(
        "Updated", "tx-0001", 3, "ChargingStateChanged", 4, charging_state="SuspendedEV"
    )
    assert await station.result("TransactionEvent", suspended) == {}
    ended = event(
        "Ended",
        "tx-0001",
        4,
        "StopAuthorized",
        10,
        token=rfid("04A2B3C4D5E6F7"),
        charging_state="EVConnected",
        stopped_reason="Local",
        meter_values=[meter(10, 2750, "Transaction.End")],
    )
    assert await station.result("TransactionEvent", ended) == {
        "idTokenInfo": {"status": "Accepted"}
    }
    await station.result("StatusNotification", status(1, "Available", 11))
    # The station resends its Ended (lost answer): answered again, reported once.
    assert (await station.result("TransactionEvent", ended))["idTokenInfo"]["status"] == "Accepted"
    await live.csms.idle()
    listener = live.listener
    assert tx_kinds(listener, "CS-TX") == [
        "transaction_started",
        "meter_values",
        "meter_values",
        "transaction_stopped",
    ]
    assert len(listener.of("authorize")) == 1  # the stop token was decided on at the start
    first = listener.txs("transaction_started")[0]
    assert (first.connector_id, first.id_tag, first.meter_start_wh) == (1, "04A2B3C4D5E6F7", 1000)
    assert first.started_at == datetime(2025, 3, 1, 12, 1, tzinfo=UTC)
    samples = [h.data["samples"][0] for h in listener.of("meter_values")]
    assert (samples[0].energy_wh, samples[0].power_w, samples[0].soc_percent) == (1500, 11000, 40)
    assert samples[1].energy_wh == 2000
    final = listener.txs("transaction_stopped")[0]
    assert final.transaction_id == tx.transaction_id
    assert (final.meter_start_wh, final.meter_stop_wh, final.energy_wh) == (1000, 2750, 1750)
    assert final.stop_reason == "Local" and final.station_transaction_id == "tx-0001"
    assert final.stopped_at == datetime(2025, 3, 1, 12, 10, tzinfo=UTC)
    assert statuses(listener, "CS-TX") == [
        "Available",
        "Preparing",
        "Charging",
        "SuspendedEV",
        "Finishing",
        "Available",
    ]
    await station.close()


async def test_id_token_arriving_in_a_later_updated_event(live):
    """TxStartPoint EVConnected: Started at plug-in without idToken or meter reading."""
    station = await booted(live, "CS-LATE")
    await station.result("StatusNotification", status(2, "Occupied"))
    plugged = event(
        "Started", "late-1", 0, "CablePluggedIn", 1, evse_id=2, charging_state="EVConnected"
    )
    assert await station.result("TransactionEvent", plugged) == {}
    tx = live.csms.find_transaction_by_connector(CPO, "CS-LATE", 2)
    assert tx is not None and tx.id_tag == "" and tx.is_open
    await live.csms.idle()
    assert tx_kinds(live.listener, "CS-LATE") == []  # not identified yet: nothing to report
    authorized = event(
        "Updated",
        "late-1",
        1,
        "Authorized",
        2,
        token=rfid("APP-USER-42", "Central"),
        meter_values=[meter(2, 5000)],
    )
    assert await station.result("TransactionEvent", authorized) == {
        "idTokenInfo": {"status": "Accepted"}
    }
    charging = event(
        "Updated",
        "late-1",
        2,
        "ChargingStateChanged",
        3,
        charging_state="Charging",
        meter_values=[meter(3, 5400)],
    )
    await station.result("TransactionEvent", charging)
    ended = event(
        "Ended",
        "late-1",
        3,
        "EVCommunicationLost",
        9,
        stopped_reason="EVDisconnected",
        meter_values=[meter(9, 8000, "Transaction.End")],
    )
    await station.result("TransactionEvent", ended)
    await live.csms.idle()
    listener = live.listener
    assert [h.data["id_tag"] for h in listener.of("authorize")] == ["APP-USER-42"]
    assert tx_kinds(listener, "CS-LATE") == [
        "transaction_started",
        "meter_values",
        "transaction_stopped",
    ]
    started = listener.txs("transaction_started")[0]
    # The pending meter start took the first reading; the start time is the plug-in.
    assert (started.id_tag, started.meter_start_wh) == ("APP-USER-42", 5000)
    assert started.started_at == datetime(2025, 3, 1, 12, 1, tzinfo=UTC)
    final = listener.txs("transaction_stopped")[0]
    assert (final.energy_wh, final.stop_reason, final.connector_id) == (3000, "EVDisconnected", 2)
    assert statuses(listener, "CS-LATE", 2) == ["Preparing", "Charging", "Finishing"]
    await station.close()


async def test_a_plug_in_and_out_without_authorization_is_reported_at_its_end(live):
    station = await booted(live, "CS-NOAUTH")
    plugged = event("Started", "idle-1", 0, "CablePluggedIn", 1, evse_id=1)
    await station.result("TransactionEvent", plugged)
    gone = event("Ended", "idle-1", 1, "EVDeparted", 4, stopped_reason="EVDisconnected")
    await station.result("TransactionEvent", gone)
    await live.csms.idle()
    assert tx_kinds(live.listener, "CS-NOAUTH") == ["transaction_started", "transaction_stopped"]
    final = live.listener.txs("transaction_stopped")[0]
    assert (final.id_tag, final.energy_wh) == ("", 0)
    await station.close()


async def test_events_of_unknown_transactions_are_adopted(live):
    """After a CSMS restart, the station carries on with transactions the CSMS never saw."""
    station = await booted(live, "CS-ADOPT")
    ended = event(
        "Ended",
        "old-1",
        17,
        "StopAuthorized",
        30,
        evse_id=1,
        token=rfid("AABBCCDD"),
        stopped_reason="Remote",
        meter_values=[meter(0, 5000, "Transaction.Begin"), meter(30, 9000, "Transaction.End")],
    )
    assert (await station.result("TransactionEvent", ended))["idTokenInfo"]["status"] == "Accepted"
    ongoing = event(
        "Updated",
        "old-2",
        5,
        "MeterValuePeriodic",
        31,
        evse_id=2,
        token=rfid("11223344"),
        charging_state="Charging",
        meter_values=[meter(31, 700)],
    )
    await station.result("TransactionEvent", ongoing)
    await live.csms.idle()
    (closed,) = live.listener.txs("transaction_stopped", "CS-ADOPT")
    assert closed.recovered and closed.station_transaction_id == "old-1"
    assert (closed.meter_start_wh, closed.meter_stop_wh, closed.energy_wh) == (5000, 9000, 4000)
    assert (closed.connector_id, closed.id_tag, closed.stop_reason) == (1, "AABBCCDD", "Remote")
    assert closed.started_at == datetime(2025, 3, 1, 12, tzinfo=UTC)
    (adopted,) = live.listener.txs("transaction_started", "CS-ADOPT")
    assert adopted.recovered and adopted.is_open and adopted.id_tag == "11223344"
    assert (adopted.connector_id, adopted.meter_start_wh) == (2, 700)
    assert adopted.transaction_id != closed.transaction_id
    await station.close()


async def test_offline_events_update_the_transaction_but_not_connector_statuses(live):
    station = await booted(live, "CS-OFFLINE")
    await station.result("StatusNotification", status(1, "Occupied"))
    for frame in (
        event(
            "Started",
            "off-1",
            0,
            "Authorized",
            1,
            evse_id=1,
            token=rfid("DEADBEEF"),
            charging_state="Charging",
            meter_values=[meter(1, 100, "Transaction.Begin")],
            offline=True,
        ),
        event(
            "Ended",
            "off-1",
            1,
            "EVCommunicationLost",
            5,
            stopped_reason="EVDisconnected",
            meter_values=[meter(5, 900, "Transaction.End")],
            offline=True,
        ),
    ):
        await station.result("TransactionEvent", frame)
    await station.result("StatusNotification", status(1, "Available", 6))
    await live.csms.idle()
    assert live.listener.txs("transaction_stopped")[0].energy_wh == 800
    assert statuses(live.listener, "CS-OFFLINE") == ["Preparing", "Available"]
    await station.close()


async def test_a_new_transaction_on_a_busy_evse_closes_the_stale_one(live):
    station = await booted(live, "CS-STALE")
    first = event(
        "Started",
        "a",
        0,
        "Authorized",
        1,
        evse_id=1,
        token=rfid("A1B2C3D4"),
        meter_values=[meter(1, 100)],
    )
    await station.result("TransactionEvent", first)
    second = event(
        "Started",
        "b",
        0,
        "Authorized",
        9,
        evse_id=1,
        token=rfid("B1B2C3D4"),
        meter_values=[meter(9, 600)],
    )
    await station.result("TransactionEvent", second)
    await live.csms.idle()
    (stale,) = live.listener.txs("transaction_stopped")
    assert stale.station_transaction_id == "a" and stale.inferred_stop and stale.energy_wh == 500
    assert live.csms.find_transaction_by_connector(CPO, "CS-STALE", 1).station_transaction_id == "b"
    # A late event of the closed transaction changes nothing.
    late = event("Updated", "a", 1, "MeterValuePeriodic", 10, meter_values=[meter(10, 999)])
    assert await station.result("TransactionEvent", late) == {}
    await station.close()


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
