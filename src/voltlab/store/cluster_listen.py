"""LISTEN for the installation's wake-ups (`cluster_repo.CHARGERS_CHANNEL`, `COMMANDS_CHANNEL`)
on a connection of its own, in a thread: a NOTIFY from any process reaches the fleet workers
within milliseconds instead of at their next poll. The poll stays (every heartbeat) for what a
notification cannot promise: a NOTIFY sent while this connection was down is not replayed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import make_url

from voltlab.store.cluster_repo import CHARGERS_CHANNEL, COMMANDS_CHANNEL

log = logging.getLogger(__name__)

RECONNECT_WAIT = 1.0  # seconds between attempts after the listening connection failed


def libpq_url(sqlalchemy_url: str) -> str:
    """The SQLAlchemy URL as psycopg's conninfo (no `+psycopg` driver part)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """Calls `wake(channel)` from its thread for every notification on the two channels."""

    def __init__(self, sqlalchemy_url: str, wake: Callable[[str], None]) -> None:
        self._conninfo = libpq_url(sqlalchemy_url)
        self._wake = wake
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cluster-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHARGERS_CHANNEL}")
                    conn.execute(f"LISTEN {COMMANDS_CHANNEL}")
                    while not self._stopping.is_set():
                        # A short timeout: the thread notices `stop` within it.
                        for notice in conn.notifies(timeout=0.5):
                            self._wake(notice.channel)
            except Exception:  # noqa: BLE001 - the poll covers the gap; try again shortly
                if self._stopping.is_set():
                    return
                log.warning("cluster wake-ups: listening connection failed", exc_info=True)
                self._stopping.wait(RECONNECT_WAIT)
