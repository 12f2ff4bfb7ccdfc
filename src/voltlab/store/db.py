"""Engine and session factory. SQLite file by default, any SQLAlchemy URL via
VOLTLAB_DATABASE_URL. The tables come from the migrations (`Database.migrate`,
`voltlab.store.migrate`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from voltlab.live import LiveHub
from voltlab.store.migrate import Outcome, upgrade

DEFAULT_DATABASE_URL = "sqlite:///voltlab.db"


def database_url_from_env() -> str:
    return normalize_url(os.environ.get("VOLTLAB_DATABASE_URL") or DEFAULT_DATABASE_URL)


def normalize_url(url: str) -> str:
    # Plain postgresql:// means psycopg 3 here, the driver we install.
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    elif url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return database


class Database:
    """Owns the engine; `session()` is a unit of work that commits on success. `live` is the
    change feed of what is written through it (`voltlab.live`): whoever stores a change can
    announce it, and a scale-out deployment carries it where the data is (LISTEN/NOTIFY)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # Kept open rather than SQLAlchemy's 5: a connection beyond the pool is closed when
            # it comes back, and opening one costs its pragmas (WAL) under the file's lock.
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 30
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.live = LiveHub()

    def migrate(self) -> Outcome:
        """Bring the schema to the code's revision (creating it on an empty database), under
        the migration lock; raises `SchemaTooNew` for a newer release's database."""
        return upgrade(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while the fleet writes state batches.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
