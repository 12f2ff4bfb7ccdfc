"""The built-in CSMS on the wire, driven frame by frame by a raw OCPP-J client: handshake
rules, answers to every charge-point action, CALLERRORs for bad frames, listener failures,
refusal of a second connection, and CSMS -> station calls."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest
from csms_support import (  # noqa: F401 - the *_fixture names register fixtures
    CPO,
    ListenerBroke,
    RawStation,
    RecordingListener,
    live_fixture,
    start_csms_fixture,
    wait_until,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from voltlab.csms.events import IdTagStatus
from voltlab.csms.operations import StationNotConnected
from voltlab.ocpp.errors import CallTimeout, OcppError

NOW = "2025-03-01T12:00:00.000Z"


def meter_value(timestamp: str, wh: str, *, unit: str = "Wh", context: str = "Sample.Periodic"):
    return {
        "timestamp": timestamp,
        "sampledValue": [
            {"value": wh, "unit": unit, "context": context},
            {"value": "11.0", "unit": "kW", "measurand": "Power.Active.Import", "context": context},
        ],
    }


# -- handshake -------------------------------------------------------------------------------


async def test_unknown_identity_is_refused_before_the_handshake(start_csms):
    async def known(cpo_id: str, identity: str) -> bool:
        return identity == "CP-KNOWN"

    live = await start_csms(is_known_station=known)
    with pytest.raises(InvalidStatus) as refused:
        await RawStation.connect(live, "CP-STRANGER")
    assert refused.value.response.status_code == 404
    station = await RawStation.connect(live, "CP-KNOWN")
    assert (await station.boot())["status"] == "Accepted"
    assert [s.identity for s in live.csms.stations(CPO)] == ["CP-KNOWN"]
    await station.close()


async def test_a_failing_known_station_check_refuses(start_csms):
    async def broken(cpo_id: str, identity: str) -> bool:
        raise RuntimeError("store down")

    live = await start_csms(is_known_station=broken)
    with pytest.raises(InvalidStatus):
        await RawStation.connect(live, "CP-1")


@pytest.mark.parametrize("offered", [(), ("ocpp1.5",), ("ocpp2.0",)])
async def test_unsupported_subprotocol_gets_none_and_a_close(live, offered):
    async with connect(f"{live.url}/CP-OLD", subprotocols=list(offered) or None) as websocket:
        assert websocket.subprotocol is None
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(websocket.recv(), 5)
        assert websocket.close_code == 1002
    assert live.csms.stations(CPO) == []


async def test_preferred_subprotocol_is_the_first_served_one(live):
    station = await RawStation.connect(live, "CP-MULTI", ("ocpp1.2", "ocpp1.6", "ocpp2.0.1"))
    assert station.websocket.subprotocol == "ocpp1.6"
    await station.close()


# -- charge point actions --------------------------------------------------------------------


async def test_boot_heartbeat_status_and_misc_answers(live):
    station = await RawStation.connect(live, "CP-RAW")
    boot = await station.boot()
    assert boot["status"] == "Accepted" and boot["interval"] == 60
    assert datetime.fromisoformat(boot["currentTime"]).tzinfo is not None
    assert "currentTime" in await station.result("Heartbeat", {})
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": NOW}
    assert await station.result("StatusNotification", status) == {}
    transfer = {"vendorId": "com.example", "messageId": "x"}
    assert await station.result("DataTransfer", transfer) == {"status": "UnknownVendorId"}
    assert await station.result("DiagnosticsStatusNotification", {"status": "Uploaded"}) == {}
    assert await station.result("FirmwareStatusNotification", {"status": "Installed"}) == {}
    view = live.csms.station(CPO, "CP-RAW")
    assert view is not None and view.connected and view.registered
    assert view.boot == {"chargePointVendor": "Raw", "chargePointModel": "Client"}
    assert [(c.connector_id, c.status) for c in view.connectors] == [(1, "Available")]
    assert view.connectors[0].timestamp == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert (view.firmware_status, view.diagnostics_status) == ("Installed", "Uploaded")
    await live.csms.idle()
    heard = live.listener.of("connector_status", "CP-RAW")
    assert [(h.data["connector_id"], h.data["status"]) for h in heard] == [(1, "Available")]
    assert live.listener.of("station_registered")[0].data["boot"]["chargePointVendor"] == "Raw"
    await station.close()
    await wait_until(lambda: live.listener.of("station_disconnected", "CP-RAW"))
    assert live.csms.station(CPO, "CP-RAW").connected is False


async def test_schema_invalid_and_unknown_frames_get_callerrors(live):
    station = await RawStation.connect(live, "CP-BAD")
    await station.boot()
    missing = await station.call("StatusNotification", {"connectorId": 1, "status": "Available"})
    assert missing[0] == 4 and missing[2] == "OccurenceConstraintViolation"
    wrong_type = await station.call(
        "StatusNotification", {"connectorId": "1", "errorCode": "NoError", "status": "Available"}
    )
    assert wrong_type[2] == "TypeConstraintViolation"
    bad_enum = await station.call(
        "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}
    )
    assert bad_enum[2] == "PropertyConstraintViolation"
    assert (await station.call("FlyToTheMoon", {}))[2] == "NotImplemented"
    # A CSMS-side action sent by a station is a real 1.6 action the CSMS does not accept.
    remote = await station.call("RemoteStartTransaction", {"idTag": "X"})
    assert remote[2] == "NotSupported"
    await station.send("this is not json")
    garbage = await station.recv()
    assert garbage[0] == 4 and garbage[2] == "FormationViolation"
    # The link survives all of it.
    assert "currentTime" in await station.result("Heartbeat", {})
    await station.close()


async def test_authorize_answers_what_the_listener_decides(live):
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    live.listener.decisions["BLOCKED"] = IdTagStatus("Blocked")
    live.listener.decisions["FLEET-1"] = IdTagStatus("Accepted", expiry, "FLEET")
    station = await RawStation.connect(live, "CP-AUTH")
    await station.boot()
    assert await station.result("Authorize", {"idTag": "BLOCKED"}) == {
        "idTagInfo": {"status": "Blocked"}
    }
    info = (await station.result("Authorize", {"idTag": "FLEET-1"}))["idTagInfo"]
    assert info == {
        "status": "Accepted",
        "expiryDate": "2030-01-01T00:00:00.000Z",
        "parentIdTag": "FLEET",
    }
    assert [h.data["id_tag"] for h in live.listener.of("authorize")] == ["BLOCKED", "FLEET-1"]
    await station.close()


async def test_authorize_that_is_too_slow_answers_invalid(start_csms):
    listener = RecordingListener(delays={"authorize": 5.0})
    live = await start_csms(listener, authorize_timeout=0.2)
    station = await RawStation.connect(live, "CP-SLOW")
    await station.boot()
    started = time.monotonic()
    answer = await station.result("Authorize", {"idTag": "T"})
    assert answer == {"idTagInfo": {"status": "Invalid"}}
    assert time.monotonic() - started < 2
    await station.close()


async def test_transaction_flow_over_the_wire(live):
    station = await RawStation.connect(live, "CP-TX")
    await station.boot()
    start = {"connectorId": 2, "idTag": "TAG-1", "meterStart": 1000, "timestamp": NOW}
    started = await station.result("StartTransaction", start)
    tx_id = started["transactionId"]
    assert started["idTagInfo"] == {"status": "Accepted"}
    tx = live.csms.find_transaction_by_connector(CPO, "CP-TX", 2)
    assert tx is not None and tx.transaction_id == tx_id and tx.is_open
    values = {
        "connectorId": 2,
        "transactionId": tx_id,
        "meterValue": [meter_value("2025-03-01T12:01:00Z", "1.5", unit="kWh")],
    }
    assert await station.result("MeterValues", values) == {}
    stop = {
        "transactionId": tx_id,
        "idTag": "TAG-1",
        "meterStop": 2750,
        "timestamp": "2025-03-01T12:10:00Z",
        "reason": "EVDisconnected",
    }
    stopped = await station.result("StopTransaction", stop)
    assert stopped == {"idTagInfo": {"status": "Accepted"}}
    # The tag that started the transaction is not authorized a second time.
    assert len(live.listener.of("authorize")) == 1
    await live.csms.idle()
    assert [h.kind for h in live.listener.heard if h.kind.startswith(("trans", "meter"))] == [
        "transaction_started",
        "meter_values",
        "transaction_stopped",
    ]
    sample = live.listener.of("meter_values")[0].data["samples"][0]
    assert (sample.energy_wh, sample.power_w) == (1500.0, 11000.0)
    final = live.listener.txs("transaction_stopped")[0]
    assert (final.meter_start_wh, final.meter_stop_wh, final.energy_wh) == (1000, 2750, 1750)
    assert final.stop_reason == "EVDisconnected" and final.connector_id == 2
    assert final.stopped_at == datetime(2025, 3, 1, 12, 10, tzinfo=UTC)
    # A resent StopTransaction is answered again but reported once.
    assert await station.result("StopTransaction", stop) == stopped
    await live.csms.idle()
    assert len(live.listener.of("transaction_stopped")) == 1
    assert live.csms.transaction(CPO, tx_id).stop_reason == "EVDisconnected"
    assert live.csms.transaction("another-cpo", tx_id) is None
    await station.close()


async def test_stop_for_a_transaction_the_csms_never_saw(live):
    """After a CSMS restart a station closes its open transaction (PowerLoss)."""
    station = await RawStation.connect(live, "CP-LOST")
    await station.boot()
    stop = {
        "transactionId": 4242,
        "meterStop": 9000,
        "timestamp": "2025-03-01T13:00:00Z",
        "reason": "PowerLoss",
        "transactionData": [
            meter_value("2025-03-01T12:00:00Z", "5000", context="Transaction.Begin"),
            meter_value("2025-03-01T13:00:00Z", "9000", context="Transaction.End"),
        ],
    }
    assert await station.result("StopTransaction", stop) == {}
    await live.csms.idle()
    (tx,) = live.listener.txs("transaction_stopped", "CP-LOST")
    assert tx.recovered and tx.transaction_id == 4242 and tx.stop_reason == "PowerLoss"
    assert (tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == (5000, 9000, 4000)
    assert tx.started_at == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert len(tx.samples) == 2
    await station.close()


async def test_meter_values_adopt_an_unknown_open_transaction(live):
    station = await RawStation.connect(live, "CP-ADOPT")
    await station.boot()
    values = {
        "connectorId": 1,
        "transactionId": 777,
        "meterValue": [meter_value("2025-03-01T12:00:00Z", "3000")],
    }
    await station.result("MeterValues", values)
    tx = live.csms.find_transaction_by_connector(CPO, "CP-ADOPT", 1)
    assert tx is not None and tx.recovered and tx.meter_start_wh == 3000
    await live.csms.idle()
    assert [t.transaction_id for t in live.listener.txs("transaction_started")] == [777]
    await station.close()


async def test_start_on_a_busy_connector_closes_the_stale_transaction(live):
    station = await RawStation.connect(live, "CP-STALE")
    await station.boot()
    first = await station.result(
        "StartTransaction", {"connectorId": 1, "idTag": "A", "meterStart": 100, "timestamp": NOW}
    )
    second = await station.result(
        "StartTransaction",
        {"connectorId": 1, "idTag": "B", "meterStart": 600, "timestamp": "2025-03-01T13:00:00Z"},
    )
    assert second["transactionId"] > first["transactionId"]
    await live.csms.idle()
    (stale,) = live.listener.txs("transaction_stopped")
    assert stale.transaction_id == first["transactionId"] and stale.inferred_stop
    assert stale.energy_wh == 500
    assert live.csms.find_transaction_by_connector(CPO, "CP-STALE", 1).id_tag == "B"
    await station.close()


# -- listener failures -----------------------------------------------------------------------


async def test_listener_exceptions_never_break_the_link(start_csms, caplog):
    failing = {
        "authorize",
        "station_registered",
        "connector_status",
        "transaction_started",
        "meter_values",
        "transaction_stopped",
    }
    live = await start_csms(RecordingListener(failing=failing))
    station = await RawStation.connect(live, "CP-FRAGILE")
    assert (await station.boot())["status"] == "Accepted"
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"}
    assert await station.result("StatusNotification", status) == {}
    # Authorization fails closed: Invalid, in a valid answer.
    assert await station.result("Authorize", {"idTag": "T"}) == {"idTagInfo": {"status": "Invalid"}}
    start = {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": NOW}
    started = await station.result("StartTransaction", start)
    assert started["idTagInfo"]["status"] == "Invalid"
    values = {
        "connectorId": 1,
        "transactionId": started["transactionId"],
        "meterValue": [meter_value(NOW, "10")],
    }
    assert await station.result("MeterValues", values) == {}
    stop = {"transactionId": started["transactionId"], "meterStop": 20, "timestamp": NOW}
    assert await station.result("StopTransaction", stop) == {}
    await live.csms.idle()
    kinds = [h.kind for h in live.listener.heard]
    for kind in failing:
        assert kind in kinds  # each one was called, and raised
    assert "currentTime" in await station.result("Heartbeat", {})
    assert live.csms.is_connected(CPO, "CP-FRAGILE")
    assert any(isinstance(r.exc_info and r.exc_info[1], ListenerBroke) for r in caplog.records)
    await station.close()


async def test_a_slow_listener_does_not_delay_answers_and_keeps_order(start_csms):
    listener = RecordingListener(delays={"connector_status": 0.3})
    live = await start_csms(listener)
    station = await RawStation.connect(live, "CP-PATIENT")
    await station.boot()
    started = time.monotonic()
    for status in ("Preparing", "Charging", "Finishing", "Available"):
        payload = {"connectorId": 1, "errorCode": "NoError", "status": status}
        await station.result("StatusNotification", payload)
    assert time.monotonic() - started < 0.5  # four answers, no listener time in them
    await live.csms.idle()
    heard = [h.data["status"] for h in listener.of("connector_status")]
    assert heard == ["Preparing", "Charging", "Finishing", "Available"]
    await station.close()


# -- connections -----------------------------------------------------------------------------


async def test_a_second_connection_is_refused_while_the_first_lives(live):
    first = await RawStation.connect(live, "CP-TWIN")
    await first.boot()
    with pytest.raises(InvalidStatus) as refused:
        await RawStation.connect(live, "CP-TWIN")
    assert refused.value.response.status_code == 409
    assert b"already connected" in refused.value.response.body
    # The first connection is untouched: it still talks to the CSMS.
    await first.send([2, "hb-1", "Heartbeat", {}])
    answer = await asyncio.wait_for(first.recv(), 5)
    assert answer[:2] == [3, "hb-1"] and "currentTime" in answer[2]
    assert live.csms.is_connected(CPO, "CP-TWIN")
    await live.csms.idle()
    assert live.listener.of("station_disconnected") == []
    # Once the first has closed, the identity may connect again at once.
    await first.close()
    second = await RawStation.connect(live, "CP-TWIN")
    assert (await second.boot())["status"] == "Accepted"
    assert live.csms.is_connected(CPO, "CP-TWIN")
    await second.close()
    await wait_until(lambda: live.listener.of("station_disconnected", "CP-TWIN"))


async def test_calls_to_a_station(live):
    station = await RawStation.connect(live, "CP-CALLED")
    await station.boot()

    async def answer_next(payload: dict) -> list:
        frame = await station.recv()
        await station.send([3, frame[1], payload])
        return frame

    answering = asyncio.create_task(answer_next({"status": "Accepted"}))
    assert await live.csms.remote_start(CPO, "CP-CALLED", 1, "TAG") == "Accepted"
    request = await answering
    assert request[2:] == ["RemoteStartTransaction", {"idTag": "TAG", "connectorId": 1}]

    answering = asyncio.create_task(answer_next({"status": "Accepted"}))
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    assert await live.csms.reserve_now(CPO, "CP-CALLED", 1, "TAG", expiry, 7) == "Accepted"
    assert (await answering)[3]["expiryDate"] == "2030-01-01T00:00:00.000Z"

    answering = asyncio.create_task(answer_next({"status": "Unlocked"}))
    assert await live.csms.unlock_connector(CPO, "CP-CALLED", 1) == "Unlocked"
    await answering

    with pytest.raises(OcppError):  # schema-invalid request: never sent
        await live.csms.call(CPO, "CP-CALLED", "Reset", {"type": "Gentle"})
    with pytest.raises(CallTimeout):
        await live.csms.call(CPO, "CP-CALLED", "Reset", {"type": "Soft"}, timeout=0.2)
    await station.recv()  # the unanswered Reset
    with pytest.raises(StationNotConnected):
        await live.csms.reset(CPO, "CP-ABSENT")
    await station.close()
    await wait_until(lambda: not live.csms.is_connected(CPO, "CP-CALLED"))
    with pytest.raises(StationNotConnected):
        await live.csms.remote_stop(CPO, "CP-CALLED", 1)


async def test_a_call_in_flight_fails_when_the_station_leaves(live):
    station = await RawStation.connect(live, "CP-GONE")
    await station.boot()
    pending = asyncio.create_task(live.csms.reset(CPO, "CP-GONE"))
    await station.recv()
    await station.close()
    with pytest.raises(StationNotConnected):
        await asyncio.wait_for(pending, 5)


async def test_frames_are_observed_with_their_station(start_csms):
    frames: list[tuple[str, str, str, int]] = []

    def observe(cpo_id: str, identity: str, direction: str, text: str) -> None:
        frames.append((cpo_id, identity, direction, json.loads(text)[0]))

    live = await start_csms(on_frame=observe)
    station = await RawStation.connect(live, "CP-LOG")
    await station.boot()
    assert frames == [(CPO, "CP-LOG", "in", 2), (CPO, "CP-LOG", "out", 3)]
    await station.close()


async def test_disconnect_and_forget_a_cpo(live):
    station = await RawStation.connect(live, "CP-BYE")
    await station.boot()
    assert await live.csms.disconnect(CPO, "CP-BYE", code=1001, reason="bye")
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(station.websocket.recv(), 5)
    assert station.websocket.close_code == 1001
    await live.csms.forget_cpo(CPO)
    assert live.csms.stations(CPO) == []
    assert not await live.csms.disconnect(CPO, "CP-BYE")
