"""Alembic's environment for voltlab's tables. `voltlab.store.migrate` hands it a connection
that already holds the migration lock inside an open transaction; the migrations run in that
transaction, so a failed one leaves the database as it was (SQLite and PostgreSQL both have
transactional DDL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from voltlab.store.migrate import include_name
from voltlab.store.schema import METADATA


def run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        # Offline (--sql) mode and a bare `alembic` command have no lock; the lock is the point.
        raise RuntimeError("run voltlab's migrations with `voltlab db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        include_name=include_name,
        # SQLite cannot ALTER most of a table: batch mode copies it instead ("move and copy"),
        # so that a revision's alter_column and drop_column work on both databases.
        render_as_batch=True,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
