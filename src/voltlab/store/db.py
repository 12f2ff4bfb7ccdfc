"""Engine and session factory. SQLite file by default, any SQLAlchemy URL via
VOLTLAB_DATABASE_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from voltlab.live import LiveHub

# Tables declared in their own modules join Base.metadata when imported, before create_all.
from voltlab.store import (  # noqa: F401
    clock_state,
    csms_models,
    finding_models,
    ocpi_models,
    queue_models,
    scenario_models,
)
from voltlab.store.models import Base

DEFAULT_DATABASE_URL = "sqlite:///voltlab.db"


def database_url_from_env() -> str:
    url = os.environ.get("VOLTLAB_DATABASE_URL") or DEFAULT_DATABASE_URL
    # Plain postgresql:// means psycopg 3 here, the driver we install.
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    elif url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    return url


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
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.live = LiveHub()

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def drop_all(self) -> None:
        Base.metadata.drop_all(self.engine)

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
