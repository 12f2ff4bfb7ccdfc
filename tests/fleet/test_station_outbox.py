"""The station's outbox (fleet/driver/effects.py, `MachineDriver`): what its timers start runs
in order on one task of the station, not one task per meter sample; a MeterValues frame leaves
only once the store covered its reading, and one stored-meter wait covers every reading taken
before the flush; one CALL at a time. A station runner on an in-process socket whose CSMS
answers when the test says, and a store the test flushes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from voltlab.clock import Clock
from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.model.catalog import get_model
from voltlab.ocpp.connection import RpcConnection
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

ANSWERS: dict[str, dict[str, Any]] = {
    "BootNotification": {
        "status": "Accepted",
        "currentTime": "2026-01-01T00:00:00Z",
        "interval": 86400,
    },
    "StatusNotification": {},
    "MeterValues": {},
    "StartTransaction": {"transactionId": 7, "idTagInfo": {"status": "Accepted"}},
}


class Csms:
    """The socket's far end: records each CALL; answers at once unless held."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.held: list[str] = []  # answers not given yet
        self.hold = False
        self.receiver: Any = None
        self.closed = asyncio.get_running_loop().create_future()
        self.subprotocol = "ocpp1.6"

    def deliver_to(self, receiver: Any) -> asyncio.Future[None]:
        self.receiver = receiver
        return self.closed

    async def send(self, text: str) -> None:
        _, message_id, action, payload = json.loads(text)
        self.calls.append((action, payload))
        answer = json.dumps([3, message_id, ANSWERS[action]])
        if self.hold:
            self.held.append(answer)
        else:
            asyncio.get_running_loop().call_soon(self.receiver, answer)

    def answer_one(self) -> None:
        self.receiver(self.held.pop(0))

    async def close(self, *_: object) -> None:
        pass

    def meter_values(self) -> list[dict[str, Any]]:
        return [payload for action, payload in self.calls if action == "MeterValues"]


class Store:
    """Flushes when the test says (FleetWriter's marks, without a database)."""

    def __init__(self) -> None:
        self.started = self.ended = 0
        self.waiters: list[asyncio.Future[None]] = []
        self.marks = 0

    def settle_mark(self, charger_id: str) -> int:
        self.marks += 1
        return self.started

    def stored_since(self, mark: int) -> bool:
        return self.ended > mark

    async def settled_since(self, mark: int) -> None:
        if self.ended <= mark:
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            await waiter

    def flush(self) -> None:
        self.started += 1
        self.ended = self.started
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.set_result(None)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_samples_leave_in_order_one_task_one_call_after_the_store_covered_them() -> None:
    store = Store()
    runner = StationRunner(
        charger_id="dep-outbox",
        identity="OUTBOX-1",
        model=get_model("ac-7kw-1c"),  # type: ignore[arg-type]
        csms_url="ws://127.0.0.1:9",
        version="ocpp1.6",
        security=None,
        clock=Clock(1.0),
        on_frame=lambda *_: None,
        on_change=lambda _: None,
        stored_meter=store,
    )
    csms = Csms()
    rpc = RpcConnection(csms, "ocpp1.6", handler=runner.driver.handle_request)
    runner.link._rpc = rpc
    reader = asyncio.create_task(rpc.run())
    try:
        runner.registration.link_connected()
        for _ in range(100):
            if runner.machine.online:
                break
            await asyncio.sleep(0.01)
        # An hour between samples: no sample timer fires by itself during the test.
        runner.station.config.set_local("MeterValueSampleInterval", "3600")
        await runner.plug(1)
        await runner.start_transaction(1, "TAG-1")
        await settle()
        tasks_before = len(runner.tasks)

        csms.hold = True
        for _ in range(3):  # three samples come due while the store has not flushed
            runner.driver.timer_fired("sample:1")
            await asyncio.sleep(0.002)  # each reading at its own instant
        await settle()
        assert csms.meter_values() == [], "no meter value before the store holds its reading"
        assert runner.driver.outbox_busy and len(runner.tasks) == tasks_before + 1
        assert len(store.waiters) == 1, "one wait for the store covers every queued reading"

        runner.driver.timer_fired("sample:1")  # a fourth, before the flush: covered by it
        await asyncio.sleep(0.002)
        store.started += 1  # the flush takes its snapshots now ...
        runner.driver.timer_fired("sample:1")  # ... a fifth after that: the next flush covers it
        store.started -= 1
        store.flush()
        await settle()
        # One CALL at a time: the first sample is out, unanswered; the others wait for it.
        assert len(csms.meter_values()) == 1
        for sent in range(2, 5):
            csms.answer_one()
            await settle()
            assert len(csms.meter_values()) == sent
        csms.answer_one()
        await settle()
        assert len(csms.meter_values()) == 4 and not csms.held
        assert len(store.waiters) == 1, "the fifth reading waits for the next flush"
        store.flush()
        await settle()
        csms.answer_one()
        await settle()

        values = csms.meter_values()
        assert len(values) == 5
        times = [parse_timestamp(v["meterValue"][0]["timestamp"]) for v in values]
        registers = [float(v["meterValue"][0]["sampledValue"][0]["value"]) for v in values]
        assert times == sorted(times) and len(set(times)) == 5, "in the order they were taken"
        assert registers == sorted(registers)
        assert {v["transactionId"] for v in values} == {7}
        await settle()
        assert not runner.driver.outbox_busy, "the task ends when drained"
        assert len(runner.tasks) == tasks_before
    finally:
        await runner.stop()
        csms.closed.set_result(None)
        await asyncio.gather(reader, return_exceptions=True)
