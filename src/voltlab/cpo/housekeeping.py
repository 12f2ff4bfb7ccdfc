"""The installation's periodic jobs beside the TTL reaper (issue 14), each run by one process
at a time: the one leading its singleton (`store.presence.Presence.lead`, a PostgreSQL
advisory lock; see that module for why a lock rather than a DBOS scheduled workflow).

- "dbos-recovery": the durable workflows a dead process left unfinished are recovered here
  (each process runs DBOS under its own executor id, `cpo.durable`);
- "ocpi-outbox-prune": outbox rows that ended more than `OUTBOX_KEEP` ago are deleted (the
  push log keeps their story)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from voltlab.clock import wall_now
from voltlab.cpo.durable import DurableEngine
from voltlab.ocpi.service import OcpiService
from voltlab.store import cluster_repo
from voltlab.store.db import Database
from voltlab.store.presence import Presence

log = logging.getLogger(__name__)

RECOVERY_INTERVAL = 5.0  # seconds
PRUNE_INTERVAL = 60.0
OUTBOX_KEEP = timedelta(hours=1)

Job = Callable[[], Awaitable[None]]


class Housekeeping:
    def __init__(
        self, database: Database, presence: Presence, engine: DurableEngine, ocpi: OcpiService
    ) -> None:
        self.database = database
        self.presence = presence
        self.engine = engine
        self.ocpi = ocpi
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        jobs: list[tuple[str, float, Job]] = [("ocpi-outbox-prune", PRUNE_INTERVAL, self._prune)]
        if self.presence.clustered:
            jobs.append(("dbos-recovery", RECOVERY_INTERVAL, self._recover))
        for name, interval, job in jobs:
            self._tasks.append(
                asyncio.create_task(self._every(name, interval, job), name=f"singleton:{name}")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _every(self, name: str, interval: float, job: Job) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                if await asyncio.to_thread(self.presence.lead, name):
                    await job()
            except Exception:  # noqa: BLE001 - a periodic job must keep running
                log.exception("periodic job %s failed", name)

    async def _prune(self) -> None:
        deleted = await self.ocpi.prune_outbox(wall_now() - OUTBOX_KEEP)
        if deleted:
            log.info("OCPI outbox: %d delivered rows pruned", deleted)

    async def _recover(self) -> None:
        def live() -> set[str]:
            with self.database.engine.begin() as conn:
                return {row.id for row in cluster_repo.live_workers(conn)}

        live_executors = await asyncio.to_thread(live)
        # On the loop's thread: DBOS resumes async workflows on the running loop.
        await self.engine.recover_dead(live_executors)
