"""`voltlab scenario list|run|schema`: scenarios from the command line.

`run` talks to the scenario API either of a running server (`--server URL`, the key from
VOLTLAB_KEY) or of a server embedded in this process (no `--server`: the Gateway API and the
fleet start here, on a throw-away SQLite database), so both take the same path: POST
/scenarios/runs, then the run is polled and shown step by step. Exit status 0 only when the
verdict is `passed` (1 failed, 2 error or a refused run)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from voltlab.cli_servers import embedded_server, remote_server

# The scenario modules (their schema compiles at import: a third of a second) are imported by
# the commands that use them, not by every `voltlab` command.

scenario_app = typer.Typer(help="Run scenarios against a CSMS under test.", no_args_is_help=True)
console = Console()

POLL_SECONDS = 0.25
MARK = {"passed": "[green]PASS[/green]", "failed": "[red]FAIL[/red]"}
MARK |= {"error": "[magenta]ERROR[/magenta]", "skipped": "[yellow]SKIP[/yellow]"}


@scenario_app.command("list")
def scenario_list() -> None:
    """The built-in scenarios: name, OCPP versions, title."""
    from voltlab.scenarios.library import library

    for scenario in library().values():
        versions = ",".join(scenario.versions) or "any"
        console.print(f"[bold]{scenario.name}[/bold]  ({versions})  {scenario.title}")


@scenario_app.command("schema")
def scenario_schema() -> None:
    """Print the JSON Schema scenarios follow."""
    from voltlab.scenarios.schema import schema_text

    typer.echo(schema_text(), nl=False)


def _scenario_argument(name_or_file: str) -> str | dict[str, Any]:
    from voltlab.scenarios.format import ScenarioInvalid, parse_text
    from voltlab.scenarios.library import library

    if name_or_file in library():
        return name_or_file
    path = Path(name_or_file)
    if not path.is_file():
        known = ", ".join(library())
        raise typer.BadParameter(
            f"neither a library scenario ({known}) nor a file", param_hint="NAME_OR_FILE"
        )
    try:
        return parse_text(path.read_text(encoding="utf-8"))
    except ScenarioInvalid as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="NAME_OR_FILE") from exc


def _params(pairs: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs; VALUE read as YAML (100 is a number, true a boolean, else text)."""
    from voltlab.scenarios.format import parse_value

    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--param")
        try:
            value = parse_value(text)
        except ValueError as exc:
            raise typer.BadParameter(f"{pair!r}: {exc}", param_hint="--param") from exc
        params[name] = value
    return params


async def _follow(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/scenarios/runs", json=body)
    if response.status_code != 202:
        console.print(f"[red]run refused ({response.status_code}):[/red] {response.text}")
        raise typer.Exit(2)
    status_url = response.json()["status_url"]
    shown: set[int] = set()
    with console.status("starting") as spinner:
        while True:
            run: dict[str, Any] = (await client.get(status_url)).raise_for_status().json()
            for step in run["steps"]:
                if step["index"] in shown or step["status"] in ("pending", "running"):
                    if step["status"] == "running":
                        spinner.update(f"step {step['index'] + 1}: {step['name']}")
                    continue
                shown.add(step["index"])
                seconds = step.get("duration_seconds")
                took = f" ({seconds:.1f} s)" if isinstance(seconds, int | float) else ""
                console.print(
                    f"{MARK.get(step['status'], step['status'])} {step['name']}{took}: "
                    f"{step['message']}",
                    highlight=False,
                )
            if run["status"] == "finished":
                return run
            await asyncio.sleep(POLL_SECONDS)


async def _run(
    server: str | None, body: dict[str, Any], junit: Path | None, report: Path | None
) -> str:
    async with remote_server(server) if server else embedded_server("scenarios") as client:
        run = await _follow(client, body)
        if junit is not None:
            xml = (await client.get(run["junit_url"])).raise_for_status().text
            junit.write_text(xml, encoding="utf-8")
        if report is not None:
            text = (await client.get(run["report_url"])).raise_for_status().text
            report.write_text(text, encoding="utf-8")
    verdict = str(run["verdict"])
    colour = {"passed": "green", "failed": "red"}.get(verdict, "magenta")
    console.print(f"[bold {colour}]{run['scenario_name']}: {verdict}[/bold {colour}]")
    if run.get("message"):
        console.print(run["message"], markup=False)
    return verdict


@scenario_app.command("run")
def scenario_run(
    name_or_file: Annotated[str, typer.Argument(help="library scenario name or a YAML/JSON file")],
    csms: Annotated[str, typer.Option("--csms", help="CSMS WebSocket URL, e.g. ws://host/ocpp")],
    ocpp_version: Annotated[
        str, typer.Option("--ocpp-version", help="ocpp1.6 | ocpp2.0.1 | ocpp2.1")
    ] = "ocpp1.6",
    junit: Annotated[Path | None, typer.Option(help="write the JUnit XML here")] = None,
    report: Annotated[Path | None, typer.Option(help="write the Markdown report here")] = None,
    server: Annotated[
        str | None, typer.Option(help="voltlab server URL (key from VOLTLAB_KEY)")
    ] = None,
    keep: Annotated[bool, typer.Option(help="keep the run's chargers afterwards")] = False,
    param: Annotated[
        list[str] | None,
        typer.Option(help="a scenario parameter, NAME=VALUE (repeatable), e.g. stations=100"),
    ] = None,
    time_scale: Annotated[
        float | None,
        typer.Option(help="embedded only: simulated seconds per real second (VOLTLAB_TIME_SCALE)"),
    ] = None,
) -> None:
    """Run one scenario; exit 0 only if it passed."""
    scenario = _scenario_argument(name_or_file)
    if time_scale is not None:
        if server:
            raise typer.BadParameter(
                "the server's own time scale applies", param_hint="--time-scale"
            )
        os.environ["VOLTLAB_TIME_SCALE"] = repr(time_scale)
    body = {
        "scenario": scenario,
        "target": {"csms_url": csms, "ocpp_version": ocpp_version, "keep": keep},
        "params": _params(param or []),
    }
    verdict = asyncio.run(_run(server, json.loads(json.dumps(body)), junit, report))
    raise typer.Exit(0 if verdict == "passed" else 1 if verdict == "failed" else 2)
