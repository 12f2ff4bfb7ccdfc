"""Offline behaviour against the strict ocpp-rpc CSMS: the CSMS dies mid-session and comes back
30 s later; every transaction message the station produced meanwhile arrives, in order, none
lost, none duplicated, and the session's stop comes after its meter values."""

from __future__ import annotations

import asyncio

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

INTERVAL = 60  # MeterValueSampleInterval, simulated seconds


def meter_times_16(calls: list[dict]) -> list[float]:
    return [parse_timestamp(mv["timestamp"]) for call in calls for mv in call["meterValue"]]


def periodic_201(events: list[dict]) -> list[dict]:
    return [e for e in events if e["triggerReason"] == "MeterValuePeriodic"]


@pytest.mark.parametrize(("version", "outage"), [("ocpp1.6", 30.0), ("ocpp2.0.1", 5.0)])
async def test_csms_outage_queue_delivered_in_order(runtime, version, outage):
    identity = f"OFF-{version[-3:]}"
    first = OcppRpcPeer(protocols=(version,), strict=True)
    await first.start()
    port = first.port
    await runtime.start_charger(
        ChargerSpec("dep-off", "org", identity, first.url, version, "ac-22kw-2c")
    )
    runner = runtime.runner("dep-off")
    await wait_until(lambda: runner.link.online)
    await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "NIGHT-OWL"})
    action = "MeterValues" if version == "ocpp1.6" else "TransactionEvent"
    await wait_until(lambda: len(first.calls(identity, action)) >= 3)
    await first.sync()
    before = list(first.calls(identity, action))
    await first.stop()  # the CSMS dies
    await wait_until(lambda: not runner.link.online)
    await asyncio.sleep(outage / 2)
    # A loaded event loop fires the sampler late (x100 in simulated time): wait, bounded, for
    # the four samples the half outage should hold rather than trusting the sleep alone.
    for _ in range(600):
        if await runner.offline.queue.pending() >= 4:
            break
        await asyncio.sleep(0.05)
    # the driver ends the session while the CSMS is away: its stop is queued too
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    queued = await runner.offline.queue.pending()
    assert queued >= 5
    await asyncio.sleep(outage / 2)
    async with OcppRpcPeer(protocols=(version,), strict=True, port=port) as second:
        await wait_until(lambda: runner.link.online, timeout=20)
        if version == "ocpp1.6":
            await wait_until(lambda: second.calls(identity, "StopTransaction"), timeout=30)
            after = second.calls(identity, "MeterValues")
            times = meter_times_16(before + after)
            stop = second.calls(identity, "StopTransaction")[0]
            tx_id = before[0]["transactionId"]
            assert {c["transactionId"] for c in after} == {tx_id} and stop["transactionId"] == tx_id
            # the stop comes after every queued meter value
            frames = [f for f in second.frames(identity, direction="in") if f[0] == 2]
            actions = [f[2] for f in frames if f[2] in ("MeterValues", "StopTransaction")]
            assert actions[-1] == "StopTransaction" and actions.count("StopTransaction") == 1
        else:
            await wait_until(
                lambda: any(e["eventType"] == "Ended" for e in second.calls(identity, action)),
                timeout=30,
            )
            after = second.calls(identity, action)
            queued_events = [e for e in after if e.get("offline")]
            assert queued_events and all(e["offline"] is True for e in queued_events)
            seq = [e["seqNo"] for e in before + after]
            assert seq == list(range(seq[0], seq[0] + len(seq)))  # none lost, none twice, in order
            assert after[-1]["eventType"] == "Ended"
            times = [
                parse_timestamp(e["meterValue"][0]["timestamp"])
                for e in periodic_201(before + after)
            ]
        # in order, none lost, none duplicated: one sample every interval, no gaps. The sampler
        # re-arms when it fires, so a gap is never under INTERVAL; event-loop lag (x100 in
        # simulated time) can lengthen one. A lost sample makes a gap of two intervals and a
        # duplicate one near 0, so [INTERVAL - 2, 2 * (INTERVAL - 2)) still tells both apart.
        gaps = [round(b - a) for a, b in zip(times, times[1:], strict=False)]
        assert gaps and all(INTERVAL - 2 <= g < 2 * (INTERVAL - 2) for g in gaps), gaps
        # the last delivered message leaves the queue once its answer is committed
        for _ in range(100):
            if await runner.offline.queue.pending() == 0:
                break
            await asyncio.sleep(0.05)
        assert await runner.offline.queue.pending() == 0
        await second.sync()
        assert second.strict_failures == []
    print(f"{version}: {queued} messages queued during a {outage:.0f} s outage, all delivered")


async def test_offline_start_gets_its_real_id_after_reconnect(runtime):
    """1.6, AllowOfflineTxForUnknownId: a session starts while the CSMS is away; its queued
    StartTransaction is answered after reconnect and the queued MeterValues/StopTransaction go
    out under the id the CSMS gave, not the provisional one."""
    identity = "OFF-START"
    first = OcppRpcPeer(protocols=("ocpp1.6",), strict=True)
    await first.start()
    port = first.port
    await runtime.start_charger(
        ChargerSpec("dep-os", "org", identity, first.url, "ocpp1.6", "ac-7kw-1c")
    )
    runner = runtime.runner("dep-os")
    await wait_until(lambda: runner.link.online)
    await COMMANDS["configuration"](runner, {"key": "AllowOfflineTxForUnknownId", "value": "true"})
    await first.stop()
    await wait_until(lambda: not runner.link.online)
    result = await COMMANDS["start_session"](runner, {"connector_id": 1, "id_tag": "UNKNOWN-1"})
    assert result["authorized_by"] == "offline" and result["transaction_id"] < 0
    await asyncio.sleep(2.0)  # a few queued samples
    await COMMANDS["stop_session"](runner, {"connector_id": 1})
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True, port=port) as second:
        stop = await second.wait_for_call(identity, "StopTransaction", timeout=30)
        await second.sync()
        start = second.calls(identity, "StartTransaction")[0]
        tx_ids = {c["transactionId"] for c in second.calls(identity, "MeterValues")}
        real = stop["transactionId"]
        assert real > 0 and tx_ids == {real}
        assert stop["meterStop"] > start["meterStart"]
        assert second.strict_failures == []
