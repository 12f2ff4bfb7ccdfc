"""RpcConnection, outgoing side: a raw websockets peer observes what goes on the wire."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from voltlab.ocpp.errors import CallErrorReceived, CallTimeout, ConnectionLost, OcppError
from voltlab.ocpp.versions import OCPP16, OCPP21, OCPP201

if TYPE_CHECKING:  # the fixture lives in conftest; import it for annotations only
    from conftest import Lab

NOW = "2024-05-01T12:00:00Z"
HEARTBEAT_RESULT = {"currentTime": NOW}


async def test_single_outstanding_call_fifo(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16)
    # Three concurrent calls, distinguishable by connectorId, issued in a known order.
    calls = [
        asyncio.create_task(
            conn.call(
                "StatusNotification",
                {"connectorId": n, "errorCode": "NoError", "status": "Available"},
            )
        )
        for n in (1, 2, 3)
    ]
    answered_at: list[float] = []
    received: list[tuple[float, list[Any]]] = []
    for _ in calls:
        frame = await peer.recv()
        received.append((time.monotonic(), frame))
        # While this CALL is unanswered, nothing else may arrive.
        await peer.expect_silence(0.2)
        answered_at.append(time.monotonic())
        await peer.send([3, frame[1], {}])
    assert await asyncio.gather(*calls) == [{}, {}, {}]
    assert [frame[3]["connectorId"] for _, frame in received] == [1, 2, 3]
    for index in (1, 2):
        assert received[index][0] >= answered_at[index - 1]
    assert len({frame[1] for _, frame in received}) == 3  # unique message ids


async def test_next_call_is_sent_after_a_timeout(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP201)
    first = asyncio.create_task(conn.call("Heartbeat", {}, timeout=0.3))
    second = asyncio.create_task(conn.call("Heartbeat", {}))
    frame1 = await peer.recv()
    started = time.monotonic()
    frame2 = await peer.recv()
    assert 0.25 <= time.monotonic() - started < 1.5  # the per-call timeout, not the default
    with pytest.raises(CallTimeout):
        await first
    # The late answer to the first call must be ignored, not resolve the second one.
    await peer.send([3, frame1[1], {"currentTime": "late"}])
    await peer.expect_silence(0.1)
    assert not second.done()
    await peer.send([3, frame2[1], HEARTBEAT_RESULT])
    assert await second == HEARTBEAT_RESULT


async def test_a_cancelled_caller_passes_its_turn_on(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16)

    def heartbeat() -> asyncio.Task[dict[str, Any]]:
        return asyncio.create_task(conn.call("Heartbeat", {}))

    first, queued, handed, last = heartbeat(), heartbeat(), heartbeat(), heartbeat()
    await peer.recv()
    queued.cancel()  # cancelled while waiting for its turn
    first.cancel()  # gives up on its answer: the turn goes to `handed`...
    await asyncio.sleep(0)  # ...which `first` hands over in this step
    handed.cancel()  # the turn is handed over, not yet taken: it must go on to `last`
    frame = await peer.recv()
    await peer.send([3, frame[1], HEARTBEAT_RESULT])
    assert await asyncio.wait_for(last, 2) == HEARTBEAT_RESULT
    for task in (first, queued, handed):
        with pytest.raises(asyncio.CancelledError):
            await task
    await peer.expect_silence(0.1)  # the cancelled callers never reached the wire
    # The gate is free again: a new call goes out at once.
    fifth = heartbeat()
    frame5 = await peer.recv()
    await peer.send([3, frame5[1], HEARTBEAT_RESULT])
    assert await fifth == HEARTBEAT_RESULT


async def test_each_call_times_out_at_its_own_deadline(lab: Lab) -> None:
    # Calls queued back to back share one timer: a short call behind a long one must not
    # wait for the long one's deadline, a long call behind a short one must not expire at it.
    peer, conn = await lab.raw_and_rpc(OCPP16)
    long_call = asyncio.create_task(conn.call("Heartbeat", {}, timeout=5.0))
    short_call = asyncio.create_task(conn.call("Heartbeat", {}, timeout=0.2))
    frame = await peer.recv()
    await peer.send([3, frame[1], HEARTBEAT_RESULT])
    assert await long_call == HEARTBEAT_RESULT
    await peer.recv()  # the short call, never answered
    started = time.monotonic()
    with pytest.raises(CallTimeout):
        await short_call
    assert time.monotonic() - started < 1.5  # not the long call's 5 s
    short_call = asyncio.create_task(conn.call("Heartbeat", {}, timeout=0.2))
    slow = asyncio.create_task(conn.call("Heartbeat", {}, timeout=0.6))
    frame = await peer.recv()
    await peer.send([3, frame[1], HEARTBEAT_RESULT])
    assert await short_call == HEARTBEAT_RESULT
    await peer.recv()  # the slow call, never answered
    started = time.monotonic()
    await asyncio.sleep(0.35)  # past the short call's deadline
    assert not slow.done()
    with pytest.raises(CallTimeout):
        await slow
    assert 0.15 <= time.monotonic() - started < 1.5


async def test_call_timeout_uses_default(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16, call_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(CallTimeout):
        await conn.call("Heartbeat", {})
    assert 0.15 <= time.monotonic() - started < 1.5
    assert (await peer.recv())[2] == "Heartbeat"


async def test_call_error_received(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16)
    task = asyncio.create_task(conn.call("Heartbeat", {}))
    frame = await peer.recv()
    await peer.send([4, frame[1], "NotSupported", "nope", {"why": "test"}])
    with pytest.raises(CallErrorReceived) as info:
        await task
    assert (info.value.code, info.value.description, info.value.details) == (
        "NotSupported",
        "nope",
        {"why": "test"},
    )


async def test_invalid_outgoing_payload_is_not_sent(lab: Lab) -> None:
    frames: list[tuple[str, str]] = []
    peer, conn = await lab.raw_and_rpc(OCPP16, on_frame=lambda d, t: frames.append((d, t)))
    with pytest.raises(OcppError) as info:
        await conn.call("BootNotification", {"chargePointVendor": "V"})
    assert info.value.code == "OccurenceConstraintViolation"
    with pytest.raises(OcppError) as info:
        await conn.call("NoSuchAction", {})
    assert info.value.code == "NotImplemented"
    await peer.expect_silence(0.2)
    assert frames == []


async def test_validate_false_sends_anything(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16, validate=False)
    task = asyncio.create_task(conn.call("BootNotification", {"chargePointVendor": 1}))
    frame = await peer.recv()
    assert frame[2:] == ["BootNotification", {"chargePointVendor": 1}]
    await peer.send([3, frame[1], {"anything": True}])
    assert await task == {"anything": True}


async def test_invalid_call_result_raises_and_is_logged(lab: Lab) -> None:
    frames: list[tuple[str, str]] = []
    peer, conn = await lab.raw_and_rpc(OCPP201, on_frame=lambda d, t: frames.append((d, t)))
    task = asyncio.create_task(conn.call("Heartbeat", {}))
    frame = await peer.recv()
    bad = json.dumps([3, frame[1], {"currentTime": 5}])
    await peer.send(bad)
    with pytest.raises(OcppError) as info:
        await task
    assert info.value.code == "TypeConstraintViolation"
    assert ("in", bad) in frames
    await peer.expect_silence(0.2)  # 2.0.1 has no CALLRESULTERROR


async def test_invalid_call_result_gets_callresulterror_in_2_1(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP21)
    task = asyncio.create_task(conn.call("Heartbeat", {}))
    frame = await peer.recv()
    await peer.send([3, frame[1], {}])
    with pytest.raises(OcppError) as info:
        await task
    assert info.value.code == "OccurrenceConstraintViolation"
    answer = await peer.recv()
    assert answer[:3] == [5, frame[1], "OccurrenceConstraintViolation"]
    assert "currentTime" in answer[3]


async def test_malformed_result_fails_the_pending_call_without_reply(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16)
    task = asyncio.create_task(conn.call("Heartbeat", {}))
    frame = await peer.recv()
    await peer.send([3, frame[1], "not an object"])
    with pytest.raises(OcppError) as info:
        await task
    assert info.value.code == "FormationViolation"
    await peer.expect_silence(0.2)  # responses are never answered with a CALLERROR


async def test_unknown_result_ids_are_ignored(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16)
    await peer.send([3, "nobody-asked", HEARTBEAT_RESULT])
    await peer.send([4, "nobody-asked", "GenericError", "", {}])
    await peer.expect_silence(0.2)
    task = asyncio.create_task(conn.call("Heartbeat", {}))
    frame = await peer.recv()
    await peer.send([3, frame[1], HEARTBEAT_RESULT])
    assert await task == HEARTBEAT_RESULT


async def test_injected_message_ids_and_exact_frame_log(lab: Lab) -> None:
    frames: list[tuple[str, str]] = []
    counter = itertools.count(1)
    peer, conn = await lab.raw_and_rpc(
        OCPP16,
        message_ids=lambda: f"m{next(counter)}",
        on_frame=lambda d, t: frames.append((d, t)),
    )
    task = asyncio.create_task(conn.call("Heartbeat", {}))
    sent_text = await peer.recv_text()
    assert sent_text == '[2,"m1","Heartbeat",{}]'
    reply = '[3, "m1",  {"currentTime": "2024-05-01T12:00:00Z"}]'  # odd spacing on purpose
    await peer.send(reply)
    await task
    task = asyncio.create_task(conn.call("Heartbeat", {}))
    assert (await peer.recv())[1] == "m2"
    await peer.send([3, "m2", HEARTBEAT_RESULT])
    await task
    assert frames[:2] == [("out", sent_text), ("in", reply)]
    assert len(frames) == 4


async def test_connection_lost_fails_outstanding_and_queued_calls(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP16)
    outstanding = asyncio.create_task(conn.call("Heartbeat", {}))
    queued = asyncio.create_task(conn.call("Heartbeat", {}))
    await peer.recv()
    await peer.close()
    with pytest.raises(ConnectionLost):
        await outstanding
    with pytest.raises(ConnectionLost):
        await queued
    read_loop = lab.read_loop(conn)
    await asyncio.wait_for(read_loop, 2.0)
    assert read_loop.exception() is None  # run() returns normally on close
    assert conn.closed
    with pytest.raises(ConnectionLost):
        await conn.call("Heartbeat", {})


async def test_local_close_fails_outstanding_call(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP201)
    outstanding = asyncio.create_task(conn.call("Heartbeat", {}))
    await peer.recv()
    await conn.close()
    with pytest.raises(ConnectionLost):
        await outstanding
    assert conn.closed
    await asyncio.wait_for(lab.read_loop(conn), 2.0)


async def test_send_unconfirmed_2_1(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP21)
    payload = {"id": 7, "pending": 0, "basetime": NOW, "data": [{"t": 0, "v": "3.5"}]}
    # SEND is not subject to the single-outstanding-CALL rule.
    outstanding = asyncio.create_task(conn.call("Heartbeat", {}))
    call_frame = await peer.recv()
    await conn.send_unconfirmed("NotifyPeriodicEventStream", payload)
    frame = await peer.recv()
    assert frame[0] == 6 and frame[2:] == ["NotifyPeriodicEventStream", payload]
    await peer.send([3, call_frame[1], HEARTBEAT_RESULT])
    await outstanding
    with pytest.raises(OcppError):
        await conn.send_unconfirmed("NotifyPeriodicEventStream", {"id": 7})
    await peer.expect_silence(0.1)


async def test_send_unconfirmed_needs_2_1(lab: Lab) -> None:
    peer, conn = await lab.raw_and_rpc(OCPP201)
    with pytest.raises(OcppError) as info:
        await conn.send_unconfirmed("NotifyPeriodicEventStream", {})
    assert info.value.code == "NotSupported"
    await peer.expect_silence(0.1)
