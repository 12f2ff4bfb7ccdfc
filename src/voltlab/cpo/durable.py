"""The durable workflow engine (DBOS) as voltlab uses it: one engine per process, its system
database beside voltlab's (a SQLite file by default, the same PostgreSQL server otherwise).

DBOS workflows are module-level functions, so what they act on is bound when the engine starts
(`voltlab.cpo.workflow_services`)."""

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


class DurableEngine:
    def __init__(self, database_url: str) -> None:
        self.system_url = system_database_url(database_url)
        self.running = False

    def start(self, services: WorkflowServices) -> None:
        bind(services)
        config: DBOSConfig = {
            "name": "voltlab",
            "system_database_url": self.system_url,
            "log_level": "WARNING",
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

    @staticmethod
    async def workflow_status(workflow_id: str) -> Any:
        return await DBOS.get_workflow_status_async(workflow_id)
