"""`voltlab cmd SLUG`: one command path, `POST /ocpp/commands/{slug}`, as the API and the
dashboard use it; `--wait` follows the command records to their final status."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import TaskID

from voltlab.cli_client.common import (
    DEFAULT,
    JsonOption,
    KeyOption,
    ServerOption,
    TimeoutOption,
    gateway,
    out,
    print_json,
    status_text,
    table,
    text,
)
from voltlab.cli_client.fleet import resolve_charger
from voltlab.cli_client.http import CliFailure, ExitCode, Gateway, check, segment
from voltlab.cli_client.waiting import interruptible, poll, progress_bar

FINAL = frozenset({"succeeded", "failed", "timed_out"})
SLUG = re.compile(r"^[a-z0-9][a-z0-9/-]{0,63}$")
COMMAND_OPTIONS = {
    "target.charger_id": "--charger",
    "target.location_id": "--location",
    "target.charger_ids": "--charger-ids",
    "target": "--charger/--location",
    "event": "--event",
}
# Records read per request while waiting on a location's commands.
PAGE = 200


def _event(value: str) -> dict[str, Any]:
    """--event: a JSON object, `@FILE` or `-` (stdin)."""
    source = value
    try:
        if value == "-":
            source = sys.stdin.read()
        elif value.startswith("@"):
            source = Path(value[1:]).read_text(encoding="utf-8")
    except OSError as error:
        raise typer.BadParameter(str(error), param_hint="--event") from None
    try:
        event = json.loads(source)
    except ValueError as error:
        raise typer.BadParameter(f"not JSON: {error}", param_hint="--event") from None
    if not isinstance(event, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--event")
    return event


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _known_slugs(client: Gateway) -> list[str]:
    response = client.send("GET", "/openapi.json")
    if response.status_code != 200:
        return []
    prefix = "/ocpp/commands/"
    paths = response.json().get("paths", {})
    return sorted(
        path[len(prefix) :]
        for path, operations in paths.items()
        if path.startswith(prefix) and "{" not in path and "post" in operations
    )


def _submit(client: Gateway, slug: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.send("POST", f"/ocpp/commands/{slug}", json=body)
    if response.status_code in (404, 405):
        # No such route (405: POST on the path of GET /ocpp/commands/{command_id}).
        known = _known_slugs(client)
        if slug not in known:
            raise CliFailure(
                ExitCode.REFUSED, f"no command {slug!r} on this server; one of: {', '.join(known)}"
            )
    check(response, COMMAND_OPTIONS)
    accepted: dict[str, Any] = response.json()
    return accepted


def _read_records(
    client: Gateway, pending: set[str], location_id: str | None
) -> dict[str, dict[str, Any]]:
    """The current records of the `pending` commands: one GET each for a few, else the
    location's list (newest first) page by page until all of them were seen."""
    if location_id is None or len(pending) <= 5:
        return {i: client.get(f"/ocpp/commands/{segment(i)}") for i in pending}
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    for _ in range(len(pending) // PAGE + 3):  # bounded: ours are the newest records
        page = client.get("/ocpp/commands", location_id=location_id, limit=PAGE, cursor=cursor)
        found |= {r["id"]: r for r in page["items"] if r["id"] in pending}
        cursor = page.get("next_cursor")
        if len(found) == len(pending) or not cursor:
            break
    return found


def wait_records(
    client: Gateway, ids: list[str], location_id: str | None, timeout: float
) -> list[dict[str, Any]]:
    """Every command's record once it reached a final status, in `ids`' order."""
    final: dict[str, dict[str, Any]] = {}
    what = f"{len(ids)} command(s)"
    with interruptible(what), progress_bar() as bar:
        task: TaskID = bar.add_task("running", total=len(ids))

        def read() -> int:
            pending = {i for i in ids if i not in final}
            for command_id, record in _read_records(client, pending, location_id).items():
                if record["status"] in FINAL:
                    final[command_id] = record
                    bar.console.print(_record_line(record), highlight=False)
            label = "finished" if len(final) == len(ids) else "running"
            bar.update(task, completed=len(final), description=label)
            return len(final)

        poll(read, lambda count: count == len(ids), timeout, f"{what} to finish")
    return [final[i] for i in ids]


def _detail(record: dict[str, Any]) -> str:
    error = record.get("error")
    if error:
        return f"{error.get('code')}: {error.get('message')}"
    result = record.get("result")
    return "" if result is None else json.dumps(result, ensure_ascii=False)


def _record_line(record: dict[str, Any]) -> str:
    mark = "[green]✓[/green]" if record["status"] == "succeeded" else "[red]✗[/red]"
    return f"{mark} {record['identity']} {record['event_type']} {record['status']}"


def _print_records(accepted: dict[str, Any], records: list[dict[str, Any]] | None) -> None:
    rows = table("charger", "identity", "command", "status", "detail")
    if records is None:
        for queued in accepted["results"]:
            rows.add_row(
                text(queued["charger_id"]),
                text(queued["identity"]),
                text(queued["command"]["id"]),
                status_text("queued"),
                text(""),
            )
    else:
        for record in records:
            rows.add_row(
                text(record["charger_id"]),
                text(record["identity"]),
                text(record["id"]),
                status_text(record["status"]),
                text(_detail(record)),
            )
    for failed in accepted["failed"]:
        error = failed["error"]
        rows.add_row(
            text(failed["charger_id"]),
            text(failed.get("identity")),
            text(""),
            status_text("failed"),
            text(f"{error['code']}: {error['message']}"),
        )
    out().print(rows)


def command(
    slug: Annotated[str, typer.Argument(help="the command, e.g. start-session (docs/api.md)")],
    charger: Annotated[
        str | None, typer.Option("--charger", help="target: one charger (id or identity)")
    ] = None,
    location: Annotated[str | None, typer.Option("--location", help="target: a location")] = None,
    charger_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--charger-ids", help="with --location: only these chargers (repeat, or comma list)"
        ),
    ] = None,
    event: Annotated[
        str, typer.Option("--event", help="the event as JSON, @FILE or - (stdin)")
    ] = "{}",
    wait: Annotated[
        bool, typer.Option("--wait", help="follow the commands until their final status")
    ] = False,
    timeout: TimeoutOption = 300.0,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a command to virtual chargers (POST /ocpp/commands/SLUG).

    Exit status: 0 queued (with --wait: succeeded), 1 failed or timed_out,
    3 refused by the server (the field is named), 4 no server, 6 --timeout."""
    if not SLUG.match(slug):
        raise typer.BadParameter("a command slug, e.g. start-session", param_hint="SLUG")
    body: dict[str, Any] = {"target": {}, "event": _event(event)}
    with gateway(server, key, COMMAND_OPTIONS) as client:
        if charger is not None:
            body["target"]["charger_id"] = resolve_charger(client, charger)["charger_id"]
        if location is not None:
            body["target"]["location_id"] = location
        ids = _split(charger_ids)
        if ids is not None:
            body["target"]["charger_ids"] = ids
        accepted = _submit(client, slug, body)
        records: list[dict[str, Any]] | None = None
        command_ids = [queued["command"]["id"] for queued in accepted["results"]]
        if wait and command_ids:
            records = wait_records(client, command_ids, location, timeout)
    if as_json:
        print_json(accepted if records is None else {"accepted": accepted, "commands": records})
    else:
        _print_records(accepted, records)
    failed = accepted["failed_count"] > 0 or any(r["status"] != "succeeded" for r in records or [])
    if failed:
        raise typer.Exit(int(ExitCode.FAILED))
