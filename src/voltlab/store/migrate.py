"""Schema migrations of voltlab's tables (Alembic), for SQLite and PostgreSQL.

`upgrade(url)` runs at every start of the server and as `voltlab db upgrade`. It holds a lock
for the whole check-and-migrate, so that processes starting together against one database
migrate it once and the others find it current:
- PostgreSQL: a transaction-scoped advisory lock, keyed by the schema the connection works in
  (tests run side by side in schemas of one database);
- SQLite: `BEGIN IMMEDIATE`, the file's one write lock, taken before the version is read.
Everything runs in that one transaction: a failed revision leaves the database as it was.

A database the previous release made (tables from `create_all`, no `alembic_version`) is
adopted: the baseline revision creates the tables it lacks and keeps the rows of those it has,
then the result is compared with the models before the transaction commits. A database at a
revision this code does not know was migrated by a newer release and is refused.

DBOS's system tables are not ours: DBOS keeps them in its own file (SQLite) or schema
(PostgreSQL) and migrates them itself."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from voltlab.store.schema import METADATA

SCRIPTS = Path(__file__).with_name("migrations")
# Seconds a second process waits for the first one's migration (SQLite's busy timeout).
SQLITE_LOCK_TIMEOUT = 60.0
# The advisory lock's key: a hash of this text and the connection's schema.
ADVISORY_LOCK_NAME = "voltlab.migrate."


class SchemaTooNew(RuntimeError):
    """The database is at a revision this code does not know: a newer release migrated it."""


class SchemaMismatch(RuntimeError):
    """A database without a version table whose tables are not the previous release's."""


@dataclass(frozen=True)
class Outcome:
    """What `upgrade` found and left: revisions (None: no version table) and whether the
    database was a previous release's, adopted into the history."""

    before: str | None
    after: str
    adopted: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    # `v0002_add_x.py`: revision ids count up, so the files sort in the order they run.
    # (ConfigParser interpolation: %% is one %.)
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    return config


def head() -> str:
    """The revision the code's models are at; one line of history, so one head."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migration scripts in {SCRIPTS}")
    return revision


def upgrade(url: str) -> Outcome:
    """Bring the database at `url` to the head revision, under the migration lock."""
    with _locked(url) as connection:
        return _upgrade_locked(connection)


def new_revision(message: str) -> Path:
    """A new revision script in `versions/`: what the models have that the head revision does
    not, as autogenerate sees it on a scratch SQLite database (scripts/new-migration). Review
    it before committing: autogenerate misses renames and some type changes."""
    script = ScriptDirectory.from_config(alembic_config())
    previous = script.get_current_head()
    revision_id = f"{int(previous) + 1:04d}" if previous is not None else "0001"
    with tempfile.TemporaryDirectory(prefix="voltlab-revision-") as folder:
        url = f"sqlite:///{Path(folder) / 'scratch.db'}"
        if previous is not None:
            upgrade(url)
        with _locked(url) as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            made = command.revision(config, message, autogenerate=True, rev_id=revision_id)
    if not isinstance(made, Script):
        raise RuntimeError(f"alembic made no single revision: {made!r}")
    return Path(made.path)


def current(url: str) -> str | None:
    """The database's revision, read without the lock; None when it has no version table."""
    engine = _migration_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def describe(url: str) -> str:
    """One line for `voltlab db current`: the revision and how it relates to this code's."""
    revision = current(url)
    target = head()
    if revision is None:
        engine = _migration_engine(url)
        try:
            with engine.connect() as connection:
                legacy = _has_our_tables(connection)
        finally:
            engine.dispose()
        if legacy:
            return f"none: a previous release's tables, not migrated yet (head is {target})"
        return f"none: no voltlab tables yet (head is {target})"
    if revision == target:
        return f"{revision} (head)"
    if not _known(ScriptDirectory.from_config(alembic_config()), revision):
        return f"{revision}: unknown to this voltlab, migrated by a newer release"
    return f"{revision} (behind head {target}: run `voltlab db upgrade`)"


def _upgrade_locked(connection: Connection) -> Outcome:
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    target = script.get_current_head()
    if target is None:
        raise RuntimeError(f"no migration scripts in {SCRIPTS}")
    before = MigrationContext.configure(connection).get_current_revision()
    if before == target:
        return Outcome(before, target, adopted=False)
    if before is not None and not _known(script, before):
        raise SchemaTooNew(
            f"the database is at schema revision {before!r}, which this voltlab does not know "
            f"(its newest is {target!r}): a newer release of voltlab migrated it. Run that "
            "release, or point VOLTLAB_DATABASE_URL at another database."
        )
    adopted = before is None and _has_our_tables(connection)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    if adopted:
        _check_adopted(connection)
    return Outcome(before, target, adopted)


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False


def _has_our_tables(connection: Connection) -> bool:
    return any(name in METADATA.tables for name in inspect(connection).get_table_names())


def _check_adopted(connection: Connection) -> None:
    """A previous release's tables, brought to head, must be the models' tables; anything else
    (a release older than create_all could keep up with, tables edited by hand) is refused
    before the transaction commits, so the database is left as it was."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_name}
    )
    differences = compare_metadata(context, METADATA)
    if differences:
        listed = "; ".join(repr(difference) for difference in differences[:5])
        raise SchemaMismatch(
            "the database has voltlab tables but no schema revision, and they differ from "
            f"what the previous release created: {listed}"
        )


def include_name(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """Autogenerate and the adoption check look at voltlab's tables only: DBOS keeps its own
    system tables (its own SQLite file, or its own schema on PostgreSQL) and migrates them
    itself, and an operator's tables beside ours are none of our business. So a table that
    leaves the models needs a hand-written `op.drop_table` (docs/migrations.md)."""
    return type_ != "table" or name in METADATA.tables


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Released by the commit or rollback that ends the migration's transaction.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name || current_schema(), 0))"),
            {"name": ADVISORY_LOCK_NAME},
        )
    # SQLite: the transaction began with BEGIN IMMEDIATE (`_migration_engine`), which is the lock.


def _migration_engine(url: str) -> Engine:
    """An engine of its own, one connection and no pool: the migration's transaction and lock
    are not mixed up with the application's pool."""
    if not url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool)
    if url in ("sqlite://", "sqlite:///:memory:"):
        raise ValueError("migrations need a database file, not an in-memory SQLite database")
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_LOCK_TIMEOUT})
    # pysqlite opens transactions itself, lazily and only before DML; taking that over makes
    # the DDL transactional and lets the transaction start with the write lock.
    event.listen(engine, "connect", _sqlite_autocommit_driver)
    event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def _locked(url: str) -> Iterator[Connection]:
    """The migration lock and the transaction it lives in (committed when the block ends)."""
    engine = _migration_engine(url)
    try:
        with engine.begin() as connection:
            _lock(connection)
            yield connection
    finally:
        engine.dispose()
