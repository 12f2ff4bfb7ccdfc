"""`voltlab replay FILE --csms URL`: replay a captured OCPP-J session against a CSMS
(docs/replay.md).

Like `voltlab scenario run`, it talks to the replay API either of a running server
(`--server URL`, the key from VOLTLAB_KEY) or of a server embedded in this process (no
`--server`: the Gateway API starts here on a throw-away SQLite database), so both take the
same path: POST /ocpp/replays, then the run is polled until it ends. Exit status 0 when the
CSMS answered as captured, 1 on divergences, 2 when the replay could not run or was refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from voltlab.cli_servers import embedded_server, remote_server

console = Console()

POLL_SECONDS = 0.2
EXIT = {"passed": 0, "diverged": 1}


async def _replay(server: str | None, body: dict[str, Any]) -> dict[str, Any]:
    async with remote_server(server) if server else embedded_server("replay") as client:
        response = await client.post("/ocpp/replays", json=body)
        if response.status_code != 202:
            console.print(f"[red]replay refused ({response.status_code}):[/red]")
            console.print(_refusal(response), markup=False, highlight=False)
            raise typer.Exit(2)
        status_url = response.json()["status_url"]
        with console.status("replaying"):
            while True:
                run: dict[str, Any] = (await client.get(status_url)).raise_for_status().json()
                if run["status"] != "running":
                    return run
                await asyncio.sleep(POLL_SECONDS)


def _refusal(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        return response.text
    if isinstance(detail, list):
        return "\n".join(
            f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        )
    return str(detail)


def _frame_text(side: dict[str, Any] | None) -> str:
    if side is None:
        return "(nothing)"
    where = f"line {side['line']}" if "line" in side else side.get("at", "")
    return f"{where}\n{json.dumps(side['frame'], indent=1, ensure_ascii=False)}"


def _show(run: dict[str, Any]) -> None:
    for finding in run["findings"]:
        table = Table(
            title=f"{finding['kind']}: {finding['detail']}", title_justify="left", expand=True
        )
        table.add_column("expected (capture)", overflow="fold")
        table.add_column("actual (CSMS)", overflow="fold")
        table.add_row(_frame_text(finding["expected"]), _frame_text(finding["actual"]))
        console.print(table)
    counts = run["counts"]
    status = run["status"]
    colour = {"passed": "green", "diverged": "red"}.get(status, "magenta")
    seconds = run.get("duration_seconds")
    took = f" in {seconds:.2f} s" if isinstance(seconds, int | float) else ""
    console.print(
        f"[bold {colour}]{status}[/bold {colour}]{took}: {counts.get('played', 0)} station "
        f"CALL(s) played, {counts.get('answers_compared', 0)} answer(s) compared, "
        f"{counts.get('csms_calls_received', 0)} CSMS CALL(s), "
        f"{counts.get('divergences', 0)} divergence(s)",
        highlight=False,
    )
    if run.get("message"):
        console.print(run["message"], markup=False)


def replay(
    file: Annotated[Path, typer.Argument(help="the capture: JSON lines or a Python ocpp log")],
    csms: Annotated[str, typer.Option("--csms", help="CSMS WebSocket URL, e.g. ws://host/ocpp")],
    speed: Annotated[float, typer.Option(help="1: the captured pacing; 60: 60x faster")] = 1.0,
    format: Annotated[
        str, typer.Option("--format", help="auto | jsonl | python-ocpp-log")
    ] = "auto",
    identity: Annotated[
        str | None, typer.Option(help="the station's identity (default: the capture's)")
    ] = None,
    ocpp_version: Annotated[
        str | None, typer.Option("--ocpp-version", help="default: the capture's")
    ] = None,
    answer_timeout: Annotated[
        float, typer.Option(help="seconds the CSMS has to answer a CALL")
    ] = 30.0,
    csms_call_timeout: Annotated[
        float, typer.Option(help="seconds a captured CSMS CALL may come late")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the run as JSON")] = False,
    server: Annotated[
        str | None, typer.Option(help="voltlab server URL (key from VOLTLAB_KEY)")
    ] = None,
) -> None:
    """Replay a captured session against a CSMS; exit 0 if it answered as captured, 1 on
    divergences, 2 if the replay could not run."""
    try:
        capture = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{file}: {exc}", param_hint="FILE") from exc
    body: dict[str, Any] = {
        "csms_url": csms,
        "capture": capture,
        "format": format,
        "speed": speed,
        "answer_timeout_seconds": answer_timeout,
        "csms_call_timeout_seconds": csms_call_timeout,
    }
    if identity is not None:
        body["identity"] = identity
    if ocpp_version is not None:
        body["ocpp_version"] = ocpp_version
    run = asyncio.run(_replay(server, body))
    if as_json:
        typer.echo(json.dumps(run, indent=2, ensure_ascii=False))
    else:
        _show(run)
    raise typer.Exit(EXIT.get(str(run["status"]), 2))
