"""HeapKeeper: a settled fleet's objects leave the cyclic collector's walk; removing stations
thaws them so a removed station's cycles can be collected."""

from __future__ import annotations

import asyncio
import gc

import pytest

from voltlab.fleet.hosting import heap
from voltlab.fleet.hosting.heap import HeapKeeper


async def test_freeze_after_settling_and_thaw_on_removal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "SETTLE_SECONDS", 0.05)
    keeper = HeapKeeper()
    gc.unfreeze()
    try:
        keeper.stations_added()
        keeper.stations_added()  # a burst: one freeze, after the last one
        assert gc.get_freeze_count() == 0
        await asyncio.sleep(0.2)
        assert gc.get_freeze_count() > 0
        keeper.stations_removed()
        assert gc.get_freeze_count() == 0  # thawed at once
        await asyncio.sleep(0.2)
        assert gc.get_freeze_count() > 0  # and frozen again once settled
    finally:
        keeper.close()
    assert gc.get_freeze_count() == 0


async def test_a_burst_is_frozen_every_few_hundred_stations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long burst does not wait for the fleet to settle: every BURST_FREEZE_EVERY stations
    the heap so far is frozen, so collections during the burst skip the stations built."""
    monkeypatch.setattr(heap, "BURST_FREEZE_EVERY", 3)
    keeper = HeapKeeper()
    gc.unfreeze()
    try:
        keeper.stations_added()
        keeper.stations_added()
        assert gc.get_freeze_count() == 0
        kept = [[n] for n in range(10)]  # lists are tracked by the collector
        keeper.stations_added()  # the third: frozen now, before the burst settles
        assert gc.get_freeze_count() >= len(kept)
    finally:
        keeper.close()
    assert gc.get_freeze_count() == 0


def test_tune_raises_only_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, before[1], before[2])
        HeapKeeper().tune()
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, before[1], before[2])
    finally:
        gc.set_threshold(*before)
