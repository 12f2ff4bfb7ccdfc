"""A process's presence in the installation, kept by PostgreSQL itself (issue 14).

Each process holds one dedicated database connection with session-level advisory locks:
- its *presence token* (a random 31-bit integer under `PRESENCE_SPACE`): the outbox marks the
  rows a process delivers with it, and another process may take such a row exactly when the
  lock is no longer held, which PostgreSQL decides the moment the holder's connection ends
  (exit, kill -9, a lost host after TCP keep-alive). No lease to wait out, no clock involved;
- the *singletons* it leads (`lead`): the TTL reaper and the other periodic jobs run in the
  one process holding their lock; when it dies, the next process to ask takes over.

Advisory locks rather than a DBOS scheduled workflow: the jobs need "one runner at a time,
another at once when it dies", which one held lock says directly and DBOS's schedule (a
workflow per tick, deduplicated by its id) says only per tick, leaving two processes' ticks to
overlap when their clocks differ; and the outbox needs the liveness check in SQL anyway.

SQLite: one process per installation (the cluster refuses a second), so the token is constant
and every singleton is held."""

from __future__ import annotations

import logging
import secrets
import threading

from sqlalchemy import Connection, text

from voltlab.store.db import Database

log = logging.getLogger(__name__)

# The two-key advisory lock namespaces (first key); "volt" and "voln" as 32-bit integers.
PRESENCE_SPACE = 0x766F6C74
SINGLETON_SPACE = 0x766F6C6E
SQLITE_TOKEN = 1


class Presence:
    """Sync methods (call them off the event loop); thread-safe."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.token = SQLITE_TOKEN
        self._conn: Connection | None = None
        self._held: set[str] = set()
        self._lock = threading.Lock()

    @property
    def clustered(self) -> bool:
        return not self.database.is_sqlite

    def join(self) -> int:
        """Take a presence token (PostgreSQL: a fresh one whose lock this process holds)."""
        if not self.clustered:
            return SQLITE_TOKEN
        with self._lock:
            self._connect()
            return self.token

    def current_token(self) -> int:
        """The token to claim with now (re-taken if the presence connection was lost)."""
        return self.join()

    def lead(self, name: str) -> bool:
        """Whether this process runs singleton `name` now: True while it holds its lock (asked
        again on every call, so a lost connection shows, and a dead leader's lock is taken)."""
        if not self.clustered:
            return True
        with self._lock:
            try:
                conn = self._connect()
                if name not in self._held:
                    # Keyed by the schema too: advisory locks are per database, and two
                    # installations may share one database in different schemas.
                    got = conn.execute(
                        text(
                            "SELECT pg_try_advisory_lock(:space, "
                            "hashtext(:name || '|' || current_schema()))"
                        ),
                        {"space": SINGLETON_SPACE, "name": name},
                    ).scalar()
                    if got:
                        self._held.add(name)
                        # A warning: which process runs what is worth finding in any log.
                        log.warning("this process now runs the singleton %s", name)
                else:
                    conn.execute(text("SELECT 1"))  # still connected, hence still holding it
                return name in self._held
            except Exception:  # noqa: BLE001 - the locks went with the connection
                log.warning(
                    "presence connection lost; singletons and token re-taken", exc_info=True
                )
                self._drop()
                return False

    def leave(self) -> None:
        with self._lock:
            self._drop()

    def _connect(self) -> Connection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if not self.clustered:
            raise RuntimeError("SQLite has no presence connection")
        conn = self.database.engine.connect()
        # Autocommit: session-level locks outlive no transaction, and an idle connection
        # must not sit "idle in transaction".
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        while True:
            token = secrets.randbelow(2**31 - 2) + 1
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:space, :token)"),
                {"space": PRESENCE_SPACE, "token": token},
            ).scalar()
            if got:
                break
        self._conn, self.token = conn, token
        self._held.clear()
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            try:
                # Invalidate, not close: a closed connection goes back to the pool with its
                # session-level locks still held; an invalidated one is really closed.
                conn.invalidate()
                conn.close()
            except Exception:  # noqa: BLE001 - already broken
                log.debug("closing the presence connection failed", exc_info=True)
