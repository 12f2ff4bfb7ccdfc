"""The schema's migrations (voltlab.store.migrate) on SQLite and PostgreSQL: what they build
equals the models, a previous release's database is adopted with its rows, a newer release's
is refused, a failed adoption leaves the database as it was, and `voltlab db` drives them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from store.databases import (
    assert_previous_release_served,
    make_previous_release,
    previous_release_ddl,
    row_counts,
)
from voltlab.api.app import create_app
from voltlab.cli import app as cli
from voltlab.clock import Clock
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.store import migrate
from voltlab.store.db import Database
from voltlab.store.schema import METADATA

HEAD = migrate.head()
BASELINE = "0001"
OUR_TABLES = set(METADATA.tables)
# The previous release's tables (revisions after the baseline add others).
PREVIOUS_TABLES = {
    re.match(r'CREATE TABLE "?(\w+)', statement).group(1)  # type: ignore[union-attr]
    for statement in previous_release_ddl("sqlite")
    if statement.startswith("CREATE TABLE")
}


def differences(url: str) -> list[Any]:
    """What autogenerate would write to make the database equal the models: nothing left out
    (no include filter), types and server defaults compared."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, METADATA))
    finally:
        engine.dispose()


def tables_and_version(url: str) -> tuple[set[str], list[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = set(inspect(connection).get_table_names())
            versions = []
            if "alembic_version" in names:
                versions = list(
                    connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
                )
            return names, versions
    finally:
        engine.dispose()


def stamp(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_the_migrations_build_exactly_the_models(database_url: str) -> None:
    outcome = migrate.upgrade(database_url)
    assert (outcome.before, outcome.after, outcome.adopted) == (None, HEAD, False)
    assert tables_and_version(database_url) == (OUR_TABLES | {"alembic_version"}, [HEAD])
    assert differences(database_url) == []
    # Once there, a second run changes nothing.
    assert migrate.upgrade(database_url) == migrate.Outcome(HEAD, HEAD, adopted=False)


def test_the_comparison_sees_a_difference(database_url: str) -> None:
    """The check above has teeth: an index missing from the database is reported."""
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_frames_charger_id_id"))
    engine.dispose()
    assert [d[0] for d in differences(database_url)] == ["add_index"]


def _statement_parts(statement: str) -> tuple[str, frozenset[str]]:
    """A CREATE statement as its head and the set of its lines (columns and constraints),
    so that the order alembic and create_all list constraints in does not matter."""
    lines = [line.strip().rstrip(",").strip() for line in statement.splitlines()]
    return lines[0], frozenset(line for line in lines[1:] if line not in ("", ")", ");"))


def test_the_baseline_is_the_previous_release_ddl_on_sqlite(tmp_path: Path) -> None:
    """The baseline revision alone (later ones change the schema on purpose)."""
    url = f"sqlite:///{tmp_path / 'voltlab.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, BASELINE)
    with engine.connect() as connection:
        built = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name <> :v"),
            {"v": "alembic_version"},
        ).scalars()
        made = {_statement_parts(statement) for statement in built}
    engine.dispose()
    assert made == {_statement_parts(s) for s in previous_release_ddl("sqlite")}


async def test_a_previous_release_database_is_adopted_and_served(database_url: str) -> None:
    counts = make_previous_release(database_url)
    assert tables_and_version(database_url) == (PREVIOUS_TABLES, [])
    database = Database(database_url)
    fleet = FleetRuntime(database, Clock(100.0))
    app = create_app(database, fleet, virtual_cpos=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                await assert_previous_release_served(http)
    finally:
        database.dispose()
    assert tables_and_version(database_url) == (OUR_TABLES | {"alembic_version"}, [HEAD])
    assert row_counts(database_url, list(counts)) == counts
    assert differences(database_url) == []


def test_a_previous_release_database_missing_tables_gets_them(database_url: str) -> None:
    """Earlier builds created tables as they came (create_all at start; `ocpi_requests` came
    last): the baseline adds what is missing and keeps the rest."""
    counts = make_previous_release(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE ocpi_requests"))
        connection.execute(text("DROP TABLE scenario_runs"))
    engine.dispose()
    outcome = migrate.upgrade(database_url)
    assert (outcome.before, outcome.after, outcome.adopted) == (None, HEAD, True)
    assert row_counts(database_url, list(counts)) == counts
    assert differences(database_url) == []


def test_tables_that_are_not_a_previous_release_are_left_as_they_were(
    database_url: str,
) -> None:
    """An `orgs` without `created_at` is no release's: refused, and the tables the baseline
    created before the check are rolled back with it (transactional DDL on both)."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE orgs (id VARCHAR(40) PRIMARY KEY, name VARCHAR(120) NOT NULL)")
        )
    engine.dispose()
    with pytest.raises(migrate.SchemaMismatch, match="created_at"):
        migrate.upgrade(database_url)
    assert tables_and_version(database_url) == ({"orgs"}, [])


def test_a_newer_release_database_is_refused(database_url: str) -> None:
    migrate.upgrade(database_url)
    stamp(database_url, "9999")
    with pytest.raises(migrate.SchemaTooNew, match="'9999'.*newer release of voltlab"):
        migrate.upgrade(database_url)
    assert tables_and_version(database_url) == (OUR_TABLES | {"alembic_version"}, ["9999"])


def test_voltlab_db_upgrade_and_current(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["db", *args, "--database-url", database_url])
        return result.exit_code, " ".join(result.output.split())

    assert run("current") == (0, f"none: no voltlab tables yet (head is {HEAD})")
    assert run("upgrade") == (0, f"upgraded an empty database -> {HEAD} (head)")
    assert run("upgrade") == (0, f"already at {HEAD} (head)")
    assert run("current") == (0, f"{HEAD} (head)")
    assert differences(database_url) == []

    stamp(database_url, "9999")
    assert run("current") == (0, "9999: unknown to this voltlab, migrated by a newer release")
    code, output = run("upgrade")
    assert code == 1
    assert re.search(r"not migrated: the database is at schema revision '9999'", output), output

    # Without --database-url: VOLTLAB_DATABASE_URL, as `serve` reads it.
    stamp(database_url, HEAD)
    monkeypatch.setenv("VOLTLAB_DATABASE_URL", database_url)
    result = runner.invoke(cli, ["db", "current"])
    assert (result.exit_code, result.output.strip()) == (0, f"{HEAD} (head)")


def test_voltlab_db_upgrade_adopts_a_previous_release(database_url: str) -> None:
    counts = make_previous_release(database_url)
    runner = CliRunner()
    current = runner.invoke(cli, ["db", "current", "--database-url", database_url])
    assert "a previous release's tables, not migrated yet" in current.output
    result = runner.invoke(cli, ["db", "upgrade", "--database-url", database_url])
    assert (result.exit_code, result.output.strip()) == (
        0,
        f"adopted the previous release's tables; now at {HEAD} (head)",
    )
    assert row_counts(database_url, list(counts)) == counts
