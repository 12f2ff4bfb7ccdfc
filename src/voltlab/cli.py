"""`voltlab` command line: run the server, manage API keys and the schema, run scenarios and
replays; the client commands (cpo, locations, chargers, cmd, logs) live in `voltlab.cli_client`."""

from __future__ import annotations

import fcntl
import os
import signal
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

# Light (the standard library's logging): `serve`'s options name its formats and levels.
from voltlab.api.log_output import FORMATS, LEVELS, LogLines, configure_logging
from voltlab.cli_client import register as register_client_commands
from voltlab.cli_pki import pki_app
from voltlab.cli_replay import replay
from voltlab.cli_scenarios import scenario_app
from voltlab.clock import wall_now

if TYPE_CHECKING:
    from voltlab.store.db import Database

# The store (SQLAlchemy, Alembic) and the server stack are imported by the commands that use
# them: the client commands (cpo, chargers, logs, ...) start in a quarter of the time without.

app = typer.Typer(help="voltlab: virtual OCPP chargers and OCPI CPOs.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
db_app = typer.Typer(help="The database's schema (migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(scenario_app, name="scenario")
app.command("replay")(replay)
app.add_typer(pki_app, name="pki")
register_client_commands(app)

console = Console()


def _open_database() -> Database:
    """The database, migrated to this release's schema; a database this release cannot use
    ends the command with the reason (exit status 1), not a traceback."""
    from voltlab.store import migrate
    from voltlab.store.db import Database, database_url_from_env

    database = Database(database_url_from_env())
    try:
        outcome = database.migrate()
    except (migrate.SchemaTooNew, migrate.SchemaMismatch) as error:
        database.dispose()
        console.print(f"[bold red]voltlab cannot use this database:[/bold red] {error}")
        raise typer.Exit(1) from None
    if outcome.adopted:
        console.print(
            f"The database was made by the previous release: its tables are kept, now at schema "
            f"revision {outcome.after}."
        )
    return database


ROLES = ("api", "fleet", "all")
# The SQLite file's lock, held (open) for the life of `serve`: see `_one_process_per_file`.
_held_lock: list[int] = []


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    role: Annotated[
        str,
        typer.Option(
            help="on PostgreSQL: api (the API, hosts no chargers), fleet (hosts chargers, "
            "answers /health and /cluster) or all"
        ),
    ] = "all",
    log_format: Annotated[
        str, typer.Option(help="text or json (one JSON object a line)", envvar="VOLTLAB_LOG_FORMAT")
    ] = "text",
    log_level: Annotated[
        str,
        typer.Option(help=f"{' | '.join(LEVELS)} (libraries: warning)", envvar="VOLTLAB_LOG_LEVEL"),
    ] = "info",
    metrics_listen: Annotated[
        str | None,
        typer.Option(
            help="also serve GET /metrics without a key on HOST:PORT (docs/observability.md)",
            envvar="VOLTLAB_METRICS_LISTEN",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the Gateway API, the fleet runtime and everything else in one process; on
    PostgreSQL, one process of an installation of several (docs/api.md, "Process and health")."""
    # Imported here, not for a cycle: the server stack (uvicorn, FastAPI, DBOS) is only for
    # `serve`; the `keys` commands start without it.
    from voltlab.api.app import bootstrap_keys, create_app
    from voltlab.api.metrics_listener import parse_listen
    from voltlab.api.serving import live_server
    from voltlab.store.db import database_url_from_env, sqlite_path

    if role not in ROLES:
        raise typer.BadParameter(f"must be one of {', '.join(ROLES)}", param_hint="--role")
    if log_format not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--log-format")
    if log_level.lower() not in LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(LEVELS)}", param_hint="--log-level")
    try:
        listen = parse_listen(metrics_listen) if metrics_listen else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--metrics-listen") from None
    configure_logging(log_format, log_level.lower())
    if log_format == "json":
        # Every line the process writes is a log record: the messages below too.
        console.file = LogLines("voltlab.cli")
        console.soft_wrap = True
    url = database_url_from_env()
    path = sqlite_path(url)
    if url.startswith("sqlite") and role != "all":
        console.print(
            "[bold red]--role api and --role fleet need PostgreSQL[/bold red]: a SQLite "
            "database serves one process, which does everything (--role all)."
        )
        raise typer.Exit(2)
    if path is not None:
        _one_process_per_file(path)
    database = _open_database()
    created = bootstrap_keys(database, os.environ.get("VOLTLAB_API_KEY"), create_if_empty=True)
    if created is not None:
        console.print(
            "[bold]Created an admin API key for org 'default'. It is shown only once:[/bold]"
        )
        console.print(created, markup=False, highlight=False, soft_wrap=True)
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again so the default
    # action ends the process (exit status -15). A graceful stop is a success: exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # Its shutdown ends the dashboard's event streams first (uvicorn would wait for them).
    app = create_app(database, port=port, role=role, metrics_listen=listen)
    live_server(app, host, port, log_config=None).run()


def _one_process_per_file(path: str) -> None:
    """A SQLite installation is one process: a second `serve` on the same file would host every
    charger a second time. An exclusive `flock` on the database file, taken before anything
    is read or written and released by the kernel when the process ends however it ends; SQLite
    itself locks with POSIX record locks, which `flock` does not touch."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        console.print(
            f"[bold red]voltlab cannot start:[/bold red] another voltlab serve process is "
            f"using the SQLite database {path}. A SQLite database serves one process; stop "
            "the other one, or point several processes at PostgreSQL (VOLTLAB_DATABASE_URL)."
        )
        raise typer.Exit(1) from None
    _held_lock.append(descriptor)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option(help="org name (created if missing)")],
    role: Annotated[str, typer.Option(help="admin | operator | viewer")] = "admin",
) -> None:
    """Create an API key and print it (only the key, so scripts can capture it)."""
    from voltlab.store import repo

    if role not in repo.ROLES:
        raise typer.BadParameter(f"must be one of {', '.join(repo.ROLES)}", param_hint="--role")
    if not org.strip():
        raise typer.BadParameter("must not be empty", param_hint="--org")
    database = _open_database()
    try:
        with database.session() as session:
            org_row = repo.get_or_create_org(session, org.strip())
            key = repo.add_api_key(session, org_row.id, role)
    finally:
        database.dispose()
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (id, org, role, prefix); the keys themselves are not stored."""
    from voltlab.api.serialize import rfc3339
    from voltlab.store import repo

    database = _open_database()
    try:
        with database.session() as session:
            rows = repo.list_api_keys(session)
    finally:
        database.dispose()
    table = Table("id", "org", "role", "prefix", "created", "revoked")
    for key, org_name in rows:
        table.add_row(
            key.id,
            org_name,
            key.role,
            key.prefix + "...",
            rfc3339(key.created_at),
            rfc3339(key.revoked_at) or "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="key id from `keys list`")]) -> None:
    """Revoke an API key: it answers 401 within a second (servers keep a key 1 s at most)."""
    from voltlab.store import repo

    database = _open_database()
    try:
        with database.session() as session:
            key = repo.get_api_key(session, key_id)
            if key is None:
                raise typer.BadParameter(f"no key {key_id!r}", param_hint="KEY_ID")
            if key.revoked_at is None:
                key.revoked_at = wall_now()
    finally:
        database.dispose()
    typer.echo(f"revoked {key_id}")


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: VOLTLAB_DATABASE_URL, else sqlite:///voltlab.db)",
        show_default=False,
    ),
]


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Migrate the database to this release's schema (`serve` does this at every start)."""
    from voltlab.store import migrate
    from voltlab.store.db import Database, database_url_from_env, normalize_url

    database = Database(normalize_url(database_url) if database_url else database_url_from_env())
    try:
        outcome = database.migrate()
    except (migrate.SchemaTooNew, migrate.SchemaMismatch) as error:
        console.print(f"[bold red]not migrated:[/bold red] {error}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    if not outcome.changed:
        typer.echo(f"already at {outcome.after} (head)")
    elif outcome.adopted:
        typer.echo(f"adopted the previous release's tables; now at {outcome.after} (head)")
    else:
        typer.echo(f"upgraded {outcome.before or 'an empty database'} -> {outcome.after} (head)")


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Show the database's schema revision and how it relates to this release's."""
    from voltlab.store import migrate
    from voltlab.store.db import database_url_from_env, normalize_url

    url = normalize_url(database_url) if database_url else database_url_from_env()
    typer.echo(migrate.describe(url))
