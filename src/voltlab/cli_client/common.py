"""What every client command shares: the connection options, the consoles and the JSON output.

Data goes to stdout (a table, or with `--json` the server's JSON); progress bars, step lines
and errors go to stderr, so `--json` output stays parseable while a bar runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from voltlab.cli_client.http import DEFAULT_SERVER, CliFailure, ExitCode, Gateway

ServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar="VOLTLAB_URL",
        help="the voltlab server's URL (VOLTLAB_URL)",
        show_default=True,
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", envvar="VOLTLAB_KEY", help="API key (VOLTLAB_KEY)", show_default=False),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="print the server's JSON instead of tables (for scripts)")
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=0.1, help="with --wait: seconds to wait for the outcome"),
]
DEFAULT = DEFAULT_SERVER


# Tables written to a pipe or a file: wide rows rather than cells wrapped at 80 columns.
PIPE_WIDTH = 200


def out() -> Console:
    # Made per use: the console follows the current sys.stdout (typer's test runner swaps it)
    # and the environment's COLUMNS / NO_COLOR / FORCE_COLOR.
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=PIPE_WIDTH)
    return console


def err() -> Console:
    return Console(stderr=True)


def fail(failure: CliFailure) -> typer.Exit:
    err().print(failure.message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(int(failure.code))


@contextmanager
def gateway(
    server: str, key: str | None, options: Mapping[str, str] | None = None
) -> Iterator[Gateway]:
    """The server for one command; a `CliFailure` raised inside ends the command with its
    message on stderr and its exit status (never a traceback)."""
    if not key:
        err().print(
            "no API key: pass --key or set VOLTLAB_KEY (`voltlab keys create --org NAME` "
            "prints one on the server's machine)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(int(ExitCode.USAGE))
    try:
        with Gateway(server, key, dict(options or {})) as client:
            yield client
    except CliFailure as failure:
        raise fail(failure) from None
    except KeyboardInterrupt:
        # Not click's "Aborted!" with status 1, which reads as a failed outcome.
        raise fail(CliFailure(ExitCode.INTERRUPTED, "interrupted")) from None


def print_json(body: Any) -> None:
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))


def print_json_line(body: Any) -> None:
    typer.echo(json.dumps(body, ensure_ascii=False, separators=(",", ":")))


def text(value: Any) -> Text:
    """A cell, taken literally (no markup): '' for null, JSON for structures."""
    if value is None:
        return Text("")
    if isinstance(value, Text):
        return value
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return Text(str(value))


def key_values(title: str | None, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, box=None, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in rows:
        table.add_row(name, text(value))
    return table


def table(*columns: str) -> Table:
    result = Table(*columns)
    for column in result.columns:
        column.overflow = "fold"
    return result


def paged(
    client: Gateway, path: str, limit: int, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Items of a cursor-paged list route, up to `limit` of them."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(items) < limit:
        page = client.get(
            path, **dict(params or {}), limit=min(200, limit - len(items)), cursor=cursor
        )
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items[:limit]


GOOD = frozenset({"READY", "succeeded", "connected", "Accepted", "Available", "done"})
BAD = frozenset(
    {"FAILED", "failed", "timed_out", "Rejected", "Faulted", "disconnected", "Unavailable"}
)


def status_text(value: str | None) -> Text:
    """A status word coloured by what it means to an operator."""
    if value is None:
        return Text("")
    style = "green" if value in GOOD else "red" if value in BAD else "yellow"
    return Text(value, style=style)
