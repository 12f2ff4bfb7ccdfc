"""Batched writes from the fleet to the store: the OCPP frame log and station snapshots.

Stations never wait for the database: frames and dirty markers are buffered in memory and
written in one transaction per flush."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from voltlab.store.db import Database
from voltlab.store.models import Charger, Frame

log = logging.getLogger(__name__)

FRAMES_KEPT_PER_CHARGER = 1000
PRUNE_EVERY = 200  # frames written for a charger between two prunes of its log


class FleetWriter:
    def __init__(
        self, database: Database, snapshot_of: Callable[[str], dict[str, Any] | None]
    ) -> None:
        self.database = database
        self._snapshot_of = snapshot_of
        self._frames: list[tuple[str, float, str, str]] = []
        self._dirty: set[str] = set()
        self._since_prune: dict[str, int] = {}
        self._lock = asyncio.Lock()

    def frame(self, charger_id: str, ts: float, direction: str, text: str) -> None:
        # A tuple now, the row later in the writer thread: the event loop pays only the append.
        self._frames.append((charger_id, ts, direction, text))

    def mark_dirty(self, charger_id: str) -> None:
        self._dirty.add(charger_id)

    def forget(self, charger_id: str) -> None:
        self._dirty.discard(charger_id)
        self._frames = [f for f in self._frames if f[0] != charger_id]

    async def flush(self) -> None:
        async with self._lock:
            frames, self._frames = self._frames, []
            dirty, self._dirty = self._dirty, set()
            snapshots = {cid: snap for cid in dirty if (snap := self._snapshot_of(cid)) is not None}
            if not frames and not snapshots:
                return
            to_prune = []
            for charger_id, *_ in frames:
                self._since_prune[charger_id] = self._since_prune.get(charger_id, 0) + 1
            for charger_id, count in list(self._since_prune.items()):
                if count >= PRUNE_EVERY:
                    to_prune.append(charger_id)
                    self._since_prune[charger_id] = 0
            try:
                await asyncio.to_thread(self._write, frames, snapshots, to_prune)
            except Exception:
                # Keep the process up; the snapshots are retried on the next flush.
                log.exception("fleet flush failed")
                self._dirty |= set(snapshots)

    def _write(
        self,
        frames: list[tuple[str, float, str, str]],
        snapshots: dict[str, dict[str, Any]],
        to_prune: list[str],
    ) -> None:
        now = datetime.now(UTC)
        with self.database.session() as session:
            if frames:
                # Core insert on the table: the ORM's bulk path costs more than the write.
                rows = [
                    {
                        "charger_id": charger_id,
                        "ts": datetime.fromtimestamp(ts, UTC),
                        "direction": direction,
                        "frame": text,
                    }
                    for charger_id, ts, direction, text in frames
                ]
                session.connection().execute(insert(Frame.__table__), rows)
            if snapshots:
                # One executemany for every dirty station, not a statement each.
                chargers = Charger.__table__
                session.connection().execute(
                    update(chargers)
                    .where(chargers.c.id == bindparam("charger_id"))
                    .values(state=bindparam("state"), updated_at=now),
                    [{"charger_id": cid, "state": snap} for cid, snap in snapshots.items()],
                )
            for charger_id in to_prune:
                cutoff = session.scalar(
                    select(Frame.id)
                    .where(Frame.charger_id == charger_id)
                    .order_by(Frame.id.desc())
                    .offset(FRAMES_KEPT_PER_CHARGER)
                    .limit(1)
                )
                if cutoff is not None:
                    session.execute(
                        delete(Frame).where(Frame.charger_id == charger_id, Frame.id <= cutoff)
                    )
