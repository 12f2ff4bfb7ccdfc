"""The built-in CSMS against an OCPP 2.0.1 station our code did not write (`ocpp-rpc`, strict
mode): every answer and every request of the CSMS passes ocpp-rpc's own schema check."""

from __future__ import annotations

import shutil

import pytest
from csms_support import (  # noqa: F401 - the *_fixture names register fixtures
    CPO,
    live_fixture,
    start_csms_fixture,
)
from ocpp_rpc_station import OcppRpcStation

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "Peer", "vendorName": "ocpp-rpc"}}


def at(minute: int) -> str:
    return f"2025-03-01T12:{minute:02d}:00.000Z"


def energy(minute: int, wh: float, context: str) -> list[dict]:
    return [{"timestamp": at(minute), "sampledValue": [{"value": wh, "context": context}]}]


async def test_an_independent_201_station_charges_and_is_commanded(live):
    csms = live.csms
    async with OcppRpcStation(live.url, "CS-PEER") as station:
        boot = await station.call("BootNotification", BOOT)
        assert boot["status"] == "Accepted"
        await station.call("Heartbeat", {})
        status = {"timestamp": at(0), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}
        await station.call("StatusNotification", status)
        token = {"idToken": "0A1B2C3D", "type": "ISO14443"}
        assert (await station.call("Authorize", {"idToken": token}))["idTokenInfo"] == {
            "status": "Accepted"
        }
        started = {
            "eventType": "Started",
            "timestamp": at(1),
            "triggerReason": "CablePluggedIn",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "peer-tx-1", "chargingState": "EVConnected"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": energy(1, 200, "Transaction.Begin"),
        }
        assert await station.call("TransactionEvent", started) == {}
        # The CSMS starts the session remotely; the station reports the token it was given.
        assert await csms.remote_start(CPO, "CS-PEER", 1, "0A1B2C3D") == "Accepted"
        (request,) = station.calls("RequestStartTransaction")
        updated = {
            "eventType": "Updated",
            "timestamp": at(2),
            "triggerReason": "RemoteStart",
            "seqNo": 1,
            "transactionInfo": {
                "transactionId": "peer-tx-1",
                "chargingState": "Charging",
                "remoteStartId": request["remoteStartId"],
            },
            "idToken": request["idToken"],
            "meterValue": energy(2, 250, "Sample.Periodic"),
        }
        assert (await station.call("TransactionEvent", updated))["idTokenInfo"] == {
            "status": "Accepted"
        }
        tx = csms.find_transaction_by_connector(CPO, "CS-PEER", 1)
        assert await csms.remote_stop(CPO, "CS-PEER", tx.transaction_id) == "Accepted"
        ended = {
            "eventType": "Ended",
            "timestamp": at(9),
            "triggerReason": "RemoteStop",
            "seqNo": 2,
            "transactionInfo": {"transactionId": "peer-tx-1", "stoppedReason": "Remote"},
            "meterValue": energy(9, 1200, "Transaction.End"),
        }
        assert await station.call("TransactionEvent", ended) == {}
        for operation in (
            csms.reset(CPO, "CS-PEER"),
            csms.unlock_connector(CPO, "CS-PEER", 1),
            csms.change_availability(CPO, "CS-PEER", 1, operative=False),
            csms.trigger_message(CPO, "CS-PEER", "StatusNotification", connector_id=1),
            csms.cancel_reservation(CPO, "CS-PEER", 3),
        ):
            assert await operation in ("Accepted", "Unlocked")
        assert station.calls("RequestStopTransaction") == [{"transactionId": "peer-tx-1"}]
        assert not station.strict_failures
    await live.csms.idle()
    (final,) = live.listener.txs("transaction_stopped", "CS-PEER")
    assert (final.id_tag, final.energy_wh, final.stop_reason) == ("0A1B2C3D", 1000, "Remote")
    assert [h.kind for h in live.listener.of("transaction_started")] == ["transaction_started"]
