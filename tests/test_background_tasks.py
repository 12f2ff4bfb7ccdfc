"""BackgroundTasks: what a CPO bridge starts without awaiting is drained at shutdown, within a
bound when one is given, and a failure is logged rather than lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from voltlab.tasks import BackgroundTasks


async def test_drain_waits_for_tasks_started_while_draining() -> None:
    tasks = BackgroundTasks("test")
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.01)
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        tasks.spawn(second())
        done.append("first")

    tasks.spawn(first())
    assert await tasks.drain() == 0
    assert done == ["first", "second"]
    assert len(tasks) == 0


async def test_drain_with_a_timeout_cancels_what_is_still_running() -> None:
    tasks = BackgroundTasks("test")
    cancelled = asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def quick() -> None:
        await asyncio.sleep(0)

    tasks.spawn(stuck())
    tasks.spawn(quick())
    assert await tasks.drain(timeout=0.05) == 1
    assert cancelled.is_set()
    assert len(tasks) == 0


async def test_a_failing_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks("bridge")

    async def boom() -> None:
        raise RuntimeError("peer went away")

    tasks.spawn(boom())
    with caplog.at_level(logging.ERROR, logger="voltlab.tasks"):
        assert await tasks.drain() == 0
    [record] = [r for r in caplog.records if r.name == "voltlab.tasks"]
    assert "bridge: background task failed" in record.getMessage()
    assert record.exc_info is not None and "peer went away" in str(record.exc_info[1])
