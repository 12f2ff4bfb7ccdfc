"""The station's writes as the driver asks for them: a change marked for the next flush
(write-behind), a snapshot stored now (write-ahead), and the store's progress for a meter
reading (a meter value leaves only once a restart could not close its transaction below it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

# An awaitable write of one charger's snapshot, now (`persist`).
SnapshotWrite = Callable[[str], Awaitable[None]]


class StoredMeter(Protocol):
    """Where a meter reading becomes durable: the regular flush of the station's snapshot
    (`persistence.FleetWriter`)."""

    def settle_mark(self, charger_id: str) -> int: ...

    def stored_since(self, mark: int) -> bool: ...

    async def settled_since(self, mark: int) -> None: ...


class StationWrites:
    __slots__ = ("_charger_id", "_on_change", "_persist", "_stored_meter")

    def __init__(
        self,
        charger_id: str,
        on_change: Callable[[str], None],
        persist: SnapshotWrite | None,
        stored_meter: StoredMeter | None,
    ) -> None:
        self._charger_id = charger_id
        self._on_change = on_change
        self._persist = persist
        self._stored_meter = stored_meter

    def changed(self) -> None:
        """The station changed: stored with the next regular flush (write-behind)."""
        self._on_change(self._charger_id)

    async def write_ahead(self) -> None:
        """Store the station's state now, before a frame that announces a transaction's start
        or end is sent: after a crash the station neither repeats nor invents one."""
        if self._persist is not None:
            await self._persist(self._charger_id)
        else:
            self._on_change(self._charger_id)

    def meter_mark(self) -> int | None:
        """Where the store stands now, for a reading just taken (see `meter_settled`)."""
        if self._stored_meter is None:
            return None
        return self._stored_meter.settle_mark(self._charger_id)

    async def meter_settled(self, mark: int | None = None) -> None:
        """Wait until the stored meter register is at least the one about to be sent: until a
        regular flush that started after `mark` (taken when the reading was; now if None)
        ended. No write of its own, so a restart never closes a transaction below a meter
        value the CSMS saw; readings a flush covered already wait for nothing."""
        store = self._stored_meter
        if store is None:
            self._on_change(self._charger_id)
            return
        if mark is None:
            mark = store.settle_mark(self._charger_id)
        if not store.stored_since(mark):
            await store.settled_since(mark)
