"""RpcConnection, incoming side: CALLERRORs as observed on the wire, handlers, callbacks."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from voltlab.ocpp.connection import Reply, RpcConnection
from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

if TYPE_CHECKING:  # the fixture lives in conftest; import it for annotations only
    from conftest import Lab

NOW = "2024-05-01T12:00:00Z"


async def reset_handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("type") == "Hard":
        raise OcppError("SecurityError", "hard reset refused", {"hint": "soft"})
    if payload.get("type") == "Immediate":
        raise RuntimeError("handler bug")
    if action == "ClearCache":
        return {"status": "Maybe"}  # not a valid ClearCache response
    return {"status": "Accepted"}


# (frame sent by the peer, expected [4, id, code] in 1.6, in 2.0.1)
CALL_ERRORS_16 = [
    ("not json", ["-1", "FormationViolation"]),
    ('[2, 42, "Reset", {"type": "Soft"}]', ["-1", "FormationViolation"]),
    ('[7, "t1", "Reset", {}]', ["t1", "ProtocolError"]),
    ('[2, "t2", "Reset"]', ["t2", "FormationViolation"]),
    ('[2, "t3", "Reset", "soft"]', ["t3", "FormationViolation"]),
    ('[5, "t4", "GenericError", "", {}]', ["t4", "ProtocolError"]),
    ('[2, "t5", "TransactionEvent", {}]', ["t5", "NotImplemented"]),
    ('[2, "t6", "UnlockConnector", {"connectorId": 1}]', ["t6", "NotSupported"]),
    ('[2, "t7", "Reset", {"type": "Bogus"}]', ["t7", "PropertyConstraintViolation"]),
    ('[2, "t8", "Reset", {}]', ["t8", "OccurenceConstraintViolation"]),
    ('[2, "t9", "Reset", {"type": "Hard"}]', ["t9", "SecurityError"]),
    ('[2, "t10", "ClearCache", {}]', ["t10", "InternalError"]),
]
CALL_ERRORS_201 = [
    ("[2, ", ["-1", "RpcFrameworkError"]),
    ('{"not": "an array"}', ["-1", "RpcFrameworkError"]),
    ('[2, 42, "Reset", {"type": "OnIdle"}]', ["-1", "FormatViolation"]),
    ('[7, "t1", "Reset", {}]', ["t1", "MessageTypeNotSupported"]),
    ('[6, "t2", "NotifyPeriodicEventStream", {}]', ["t2", "MessageTypeNotSupported"]),
    ('[2, "t3", "Reset", {"type": "OnIdle"}, {}]', ["t3", "FormatViolation"]),
    (json.dumps([2, "x" * 37, "Reset", {"type": "OnIdle"}]), ["x" * 37, "FormatViolation"]),
    ('[2, "t5", "StartTransaction", {}]', ["t5", "NotImplemented"]),
    ('[2, "t6", "UnlockConnector", {"evseId": 1, "connectorId": 1}]', ["t6", "NotSupported"]),
    ('[2, "t7", "Reset", {"type": 3}]', ["t7", "TypeConstraintViolation"]),
    ('[2, "t8", "Reset", {}]', ["t8", "OccurrenceConstraintViolation"]),
    ('[2, "t9", "Reset", {"type": "Immediate"}]', ["t9", "InternalError"]),
    ('[2, "t10", "ClearCache", {}]', ["t10", "InternalError"]),
]


@pytest.mark.parametrize(
    ("version", "cases", "ok_call"),
    [
        (OCPP16, CALL_ERRORS_16, [2, "ok", "Reset", {"type": "Soft"}]),
        (OCPP201, CALL_ERRORS_201, [2, "ok", "Reset", {"type": "OnIdle"}]),
    ],
)
async def test_call_errors_on_the_wire(
    lab: Lab, version: str, cases: list[tuple[str, list[str]]], ok_call: list[Any]
) -> None:
    peer, _conn = await lab.raw_and_rpc(
        version, handler=reset_handler, supported_actions={"Reset", "ClearCache"}
    )
    for text, (message_id, code) in cases:
        await peer.send(text)
        answer = await peer.recv()
        assert answer[:3] == [4, message_id, code], text
        assert isinstance(answer[3], str) and isinstance(answer[4], dict)
    # The read loop survived all of it.
    await peer.send(ok_call)
    assert await peer.recv() == [3, "ok", {"status": "Accepted"}]


async def test_handler_error_details_are_sent(lab: Lab) -> None:
    peer, _conn = await lab.raw_and_rpc(OCPP16, handler=reset_handler)
    await peer.send([2, "h", "Reset", {"type": "Hard"}])
    assert await peer.recv() == [4, "h", "SecurityError", "hard reset refused", {"hint": "soft"}]


async def test_handler_error_code_is_spelt_for_the_version(lab: Lab) -> None:
    async def handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        raise OcppError("FormatViolation", "x" * 300)

    peer, _conn = await lab.raw_and_rpc(OCPP16, handler=handler)
    await peer.send([2, "a", "Heartbeat", {}])
    answer = await peer.recv()
    assert answer[2] == "FormationViolation"
    assert len(answer[3]) == 255


async def test_responses_and_sends_are_never_answered(lab: Lab) -> None:
    peer, _conn = await lab.raw_and_rpc(OCPP21)
    for text in ('[3, "a", "x"]', '[4, "a", 1, "", {}]', '[6, "a", 3, {}]', '[5, "a"]'):
        await peer.send(text)
    await peer.send(b"\x00binary")  # not OCPP-J: ignored, no answer
    await peer.expect_silence(0.3)


async def test_incoming_call_answered_while_outgoing_outstanding(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16, handler=reset_handler)
    outgoing = asyncio.create_task(conn.call("Heartbeat", {}))
    call = await peer.recv()
    await peer.send([2, "in-1", "Reset", {"type": "Soft"}])
    assert await peer.recv() == [3, "in-1", {"status": "Accepted"}]
    assert not outgoing.done()
    await peer.send([3, call[1], {"currentTime": NOW}])
    assert await outgoing == {"currentTime": NOW}


async def test_reply_after_runs_once_the_result_is_sent(lab: Lab) -> None:
    events: list[str] = []
    conn_box: list[RpcConnection] = []

    async def start_transaction() -> None:
        events.append("after")
        await conn_box[0].call(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": NOW},
        )

    async def handler(action: str, payload: dict[str, Any]) -> Reply:
        return Reply({"status": "Accepted"}, after=start_transaction)

    def on_frame(direction: str, text: str) -> None:
        events.append(f"{direction}:{json.loads(text)[0]}")

    peer, conn = await lab.raw_and_rpc(OCPP16, handler=handler, on_frame=on_frame)
    conn_box.append(conn)
    await peer.send([2, "rs", "RemoteStartTransaction", {"idTag": "TAG"}])
    assert await peer.recv() == [3, "rs", {"status": "Accepted"}]
    follow_up = await peer.recv()
    assert follow_up[0] == 2 and follow_up[2] == "StartTransaction"
    assert events == ["in:2", "out:3", "after", "out:2"]


async def test_sync_after_callback_runs(lab: Lab) -> None:
    ran = asyncio.Event()

    async def handler(action: str, payload: dict[str, Any]) -> Reply:
        return Reply({"status": "Accepted"}, after=ran.set)

    peer, _conn = await lab.raw_and_rpc(OCPP201, handler=handler)
    await peer.send([2, "r", "Reset", {"type": "OnIdle"}])
    assert await peer.recv() == [3, "r", {"status": "Accepted"}]
    await asyncio.wait_for(ran.wait(), 1.0)


async def test_after_does_not_run_when_handler_fails(lab: Lab) -> None:
    ran: list[bool] = []

    async def handler(action: str, payload: dict[str, Any]) -> Reply:
        return Reply({"status": "Bogus"}, after=lambda: ran.append(True))

    peer, _conn = await lab.raw_and_rpc(OCPP201, handler=handler)
    await peer.send([2, "r", "Reset", {"type": "OnIdle"}])
    assert (await peer.recv())[2] == "InternalError"
    await asyncio.sleep(0.05)
    assert ran == []


async def test_handler_may_call_back_without_deadlock(lab: Lab) -> None:
    """Station boots; the CSMS, inside its BootNotification handler, queries the station."""
    server_ws, client_ws = await lab.pair(OCPP201)
    csms_box: list[RpcConnection] = []

    async def csms_handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert action == "BootNotification"
        variables = await csms_box[0].call(
            "GetVariables",
            {
                "getVariableData": [
                    {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}}
                ]
            },
        )
        assert variables["getVariableResult"][0]["attributeValue"] == "CS-1"
        return {"currentTime": NOW, "interval": 300, "status": "Accepted"}

    async def station_handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert action == "GetVariables"
        item = payload["getVariableData"][0]
        result = {"attributeStatus": "Accepted", "attributeValue": "CS-1", **item}
        return {"getVariableResult": [result]}

    csms = lab.run(RpcConnection(server_ws, OCPP201, handler=csms_handler, call_timeout=2.0))
    csms_box.append(csms)
    station = lab.run(RpcConnection(client_ws, OCPP201, handler=station_handler, call_timeout=2.0))
    boot = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}
    result = await asyncio.wait_for(station.call("BootNotification", boot), 3.0)
    assert result["status"] == "Accepted"


async def test_handlers_run_concurrently(lab: Lab) -> None:
    release = asyncio.Event()

    async def handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if payload["type"] == "Soft":
            await release.wait()  # a slow handler must not block the next CALL
        return {"status": "Accepted"}

    peer, _conn = await lab.raw_and_rpc(OCPP16, handler=handler)
    await peer.send([2, "slow", "Reset", {"type": "Soft"}])
    await peer.send([2, "fast", "Reset", {"type": "Hard"}])
    assert await peer.recv() == [3, "fast", {"status": "Accepted"}]
    release.set()
    assert await peer.recv() == [3, "slow", {"status": "Accepted"}]


async def test_close_cancels_running_handlers(lab: Lab) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {"status": "Accepted"}

    peer, conn = await lab.raw_and_rpc(OCPP16, handler=handler)
    await peer.send([2, "a", "Reset", {"type": "Soft"}])
    await asyncio.wait_for(started.wait(), 1.0)
    await conn.close()
    await asyncio.wait_for(cancelled.wait(), 1.0)
    assert conn.closed


async def test_handler_may_close_the_connection(lab: Lab) -> None:
    box: list[RpcConnection] = []

    async def handler(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        await box[0].close(1000, "bye")
        return {"status": "Accepted"}

    peer, conn = await lab.raw_and_rpc(OCPP16, handler=handler)
    box.append(conn)
    await peer.send([2, "a", "Reset", {"type": "Soft"}])
    await asyncio.wait_for(lab.read_loop(conn), 2.0)
    assert conn.closed


async def test_incoming_send_goes_to_on_send_and_is_not_answered(lab: Lab) -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    async def on_send(action: str, payload: dict[str, Any]) -> None:
        received.append((action, payload))

    peer, _conn = await lab.raw_and_rpc(OCPP21, on_send=on_send)
    good = {"id": 1, "pending": 0, "basetime": NOW, "data": [{"t": 0, "v": "1"}]}
    await peer.send([6, "s1", "NotifyPeriodicEventStream", {"id": 1}])  # invalid: dropped
    await peer.send([6, "s2", "NotifyPeriodicEventStream", good])
    await peer.expect_silence(0.2)
    assert received == [("NotifyPeriodicEventStream", good)]


async def test_broken_frame_observer_does_not_break_the_link(lab: Lab) -> None:
    def on_frame(direction: str, text: str) -> None:
        raise ValueError("observer bug")

    peer, _conn = await lab.raw_and_rpc(OCPP16, handler=reset_handler, on_frame=on_frame)
    await peer.send([2, "a", "Reset", {"type": "Soft"}])
    assert await peer.recv() == [3, "a", {"status": "Accepted"}]
