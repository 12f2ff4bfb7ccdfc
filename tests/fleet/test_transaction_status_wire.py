"""2.0.1 GetTransactionStatus against the strict ocpp-rpc CSMS while the station's offline
queue still holds a transaction's messages (OCPP 2.0.1 E14): the CSMS dies mid-session, the
session ends meanwhile, and once the CSMS is back the station says messagesInQueue true for
that transaction (and in general) until the slow drain has delivered them, then false."""

from __future__ import annotations

import asyncio

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime_api import ChargerSpec

VERSION = "ocpp2.0.1"


async def test_messages_in_queue_until_the_queue_is_delivered(runtime):
    identity = "GTS-QUEUE"
    first = OcppRpcPeer(protocols=(VERSION,), strict=True)
    await first.start()
    port = first.port
    await runtime.start_charger(
        ChargerSpec("dep-gts", "org", identity, first.url, VERSION, "ac-7kw-1c")
    )
    runner = runtime.runner("dep-gts")
    await wait_until(lambda: runner.link.online)
    # One queued message a simulated 100 s (a real second at the tests' 100x) once back.
    await COMMANDS["configuration"](runner, {"key": "VoltlabQueueDrainPerSecond", "value": "0.01"})
    await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "QUEUED-1"})
    await wait_until(lambda: first.calls(identity, "TransactionEvent"))
    tx_id = first.calls(identity, "TransactionEvent")[0]["transactionInfo"]["transactionId"]
    assert await first.call(identity, "GetTransactionStatus", {"transactionId": tx_id}) == {
        "messagesInQueue": False,
        "ongoingIndicator": True,
    }
    await first.stop()  # the CSMS dies
    await wait_until(lambda: not runner.link.online)
    for _ in range(600):  # periodic samples queue up (every 0.6 s real)
        if await runner.offline.queue.pending() >= 2:
            break
        await asyncio.sleep(0.05)
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    assert await runner.offline.queue.pending() >= 3
    async with OcppRpcPeer(protocols=(VERSION,), strict=True, port=port) as second:
        await wait_until(lambda: runner.link.online, timeout=20)
        # The drain sends one message a second: the transaction's end is still queued.
        status = await second.call(identity, "GetTransactionStatus", {"transactionId": tx_id})
        assert status == {"messagesInQueue": True, "ongoingIndicator": False}
        assert await second.call(identity, "GetTransactionStatus", {}) == {"messagesInQueue": True}
        other = await second.call(identity, "GetTransactionStatus", {"transactionId": "other"})
        assert other == {"messagesInQueue": False, "ongoingIndicator": False}
        await wait_until(
            lambda: any(
                e["eventType"] == "Ended" for e in second.calls(identity, "TransactionEvent")
            ),
            timeout=30,
        )
        for _ in range(100):  # the last message leaves the queue once its answer is stored
            if await runner.offline.queue.pending() == 0:
                break
            await asyncio.sleep(0.05)
        assert await runner.offline.queue.pending() == 0
        status = await second.call(identity, "GetTransactionStatus", {"transactionId": tx_id})
        assert status == {"messagesInQueue": False, "ongoingIndicator": False}
        assert await second.call(identity, "GetTransactionStatus", {}) == {"messagesInQueue": False}
        await second.sync()
        assert second.strict_failures == []
