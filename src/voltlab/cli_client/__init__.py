"""The client commands of `voltlab`: they talk to a running server over HTTP (httpx) and import
nothing of the server (an import-linter contract), so they see what any API client sees.

`register(app)` adds `cpo`, `locations`, `chargers`, `cmd` and `logs` to the `voltlab` app;
docs/cli.md describes them, their options and their exit statuses."""

from __future__ import annotations

import typer

from voltlab.cli_client.commands import command
from voltlab.cli_client.cpo import cpo_app
from voltlab.cli_client.fleet import chargers_app, locations_app
from voltlab.cli_client.logs import logs


def register(app: typer.Typer) -> None:
    app.add_typer(cpo_app, name="cpo")
    app.add_typer(locations_app, name="locations")
    app.add_typer(chargers_app, name="chargers")
    app.command("cmd")(command)
    app.command("logs")(logs)
