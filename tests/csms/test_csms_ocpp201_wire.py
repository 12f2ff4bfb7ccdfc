"""The built-in CSMS serving OCPP 2.0.1 (and 2.1) stations, driven frame by frame by a raw
websockets client: handshake, boot and status, and TransactionEvent series reaching the
listener in 1.6 terms (see also test_csms_ocpp201_calls.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from csms_support import (  # noqa: F401 - the *_fixture names register fixtures
    CPO,
    live_fixture,
    start_csms_fixture,
    wait_until,
)
from ocpp201_support import (
    BOOT,
    T0,
    V21,
    V201,
    at,
    booted,
    connect,
    event,
    meter,
    rfid,
    status,
    statuses,
    tx_kinds,
)
from websockets.exceptions import InvalidStatus

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
