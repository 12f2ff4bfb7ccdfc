"""The durable workflow engine (DBOS) as voltlab uses it: one engine per process, its system
database beside voltlab's (a SQLite file by default, the same PostgreSQL server otherwise).

DBOS workflows are module-level functions, so what they act on is bound when the engine starts
(`voltlab.cpo.workflow_services`).

Executor ids (issue 14): DBOS marks each workflow with the executor that runs it and, at
launch, recovers only its own executor's unfinished ones. A process of a PostgreSQL
installation uses its worker id (`wrk-…`, fresh per start), so two processes never recover,
and so run twice, each other's workflows; the workflows a dead process left are recovered by
the one process leading the "dbos-recovery" singleton (`recover_dead`), once that worker's
heartbeat has expired. SQLite (one process) keeps DBOS's default, "local", so a restart
recovers what the previous run left, as before."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSConfig

# Imported for its decorators: they register the workflows with DBOS before launch().
from voltlab.cpo import workflows  # noqa: F401
from voltlab.cpo.workflow_services import WorkflowServices, bind

log = logging.getLogger(__name__)


def system_database_url(database_url: str) -> str:
    """Where DBOS keeps its state: `voltlab.db` -> `voltlab.dbos.sqlite`; PostgreSQL: same URL
    (DBOS uses its own schema)."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1] if "///" in database_url else "voltlab.db"
        if path in ("", ":memory:"):
            raise ValueError("DBOS needs a file database, not an in-memory one")
        stem = Path(path)
        return "sqlite:///" + str(stem.with_name(stem.stem + ".dbos.sqlite"))
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


LOCAL_EXECUTOR = "local"


class DurableEngine:
    def __init__(self, database_url: str, executor_id: str = LOCAL_EXECUTOR) -> None:
        self.system_url = system_database_url(database_url)
        self.executor_id = executor_id
        self.running = False

    def start(self, services: WorkflowServices) -> None:
        bind(services)
        config: DBOSConfig = {
            "name": "voltlab",
            "system_database_url": self.system_url,
            "log_level": "WARNING",
            "executor_id": self.executor_id,
        }
        DBOS(config=config)
        # launch() also recovers the workflows this process left unfinished (crash, kill -9).
        DBOS.launch()
        self.running = True

    def stop(self) -> None:
        if self.running:
            DBOS.destroy(workflow_completion_timeout_sec=0)
            self.running = False
        bind(None)

    async def recover_dead(self, live_executors: set[str]) -> int:
        """Recover the unfinished workflows of executors that are not live (dead processes);
        returns how many. Call from one process at a time (the "dbos-recovery" singleton)."""
        if not self.running:
            return 0
        # The async listing: DBOS refuses its blocking one on a thread with a running loop, and
        # the recovery below must run on the loop (it resumes async workflows there).
        pending = await DBOS.list_workflows_async(status="PENDING")
        dead = sorted(
            {
                w.executor_id
                for w in pending
                if w.executor_id
                and w.executor_id not in live_executors
                and w.executor_id != self.executor_id
            }
        )
        if not dead:
            return 0
        log.warning("recovering the unfinished workflows of dead executors %s", dead)
        # DBOS's own recovery routine (what launch() runs for this executor), for theirs.
        return len(DBOS._recover_pending_workflows(dead))

    @staticmethod
    async def workflow_status(workflow_id: str) -> Any:
        return await DBOS.get_workflow_status_async(workflow_id)
