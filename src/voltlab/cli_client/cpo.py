"""`voltlab cpo templates|create|ls|show|report|rm`: virtual OCPI CPOs (`/ocpi/cpos`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import Progress, TaskID

from voltlab.cli_client.common import (
    DEFAULT,
    JsonOption,
    KeyOption,
    ServerOption,
    TimeoutOption,
    gateway,
    key_values,
    out,
    paged,
    print_json,
    status_text,
    table,
    text,
)
from voltlab.cli_client.http import ExitCode, Gateway, segment
from voltlab.cli_client.waiting import interruptible, poll, progress_bar

cpo_app = typer.Typer(
    help="Virtual OCPI CPOs: create, watch, report, destroy.", no_args_is_help=True
)

# Where a field of POST /ocpi/cpos came from, for the server's 422 to name the option too.
CREATE_OPTIONS = {
    "template": "--template",
    "country_code": "--country-code",
    "party_id": "--party-id",
    "name_prefix": "--name-prefix",
    "role": "--role",
    "ocpi_version": "--ocpi-version",
    "seed": "--seed",
    "ttl_seconds": "--ttl-seconds",
    "overrides.locations": "--locations",
    "overrides.chargers_per_location": "--chargers-per-location",
}
PROVISIONED = frozenset({"READY", "FAILED", "DESTROYING", "DESTROYED"})
MARK = {"done": "[green]✓[/green]", "failed": "[red]✗[/red]"}


@cpo_app.command("templates")
def templates(
    server: ServerOption = DEFAULT, key: KeyOption = None, as_json: JsonOption = False
) -> None:
    """The template gallery: what `cpo create --template` accepts."""
    with gateway(server, key) as client:
        gallery = client.get("/ocpi/cpos/templates")
    if as_json:
        print_json(gallery)
        return
    rows = table("template", "title", "locations", "chargers/location", "models")
    for item in gallery:
        defaults, caps = item["defaults"], item["caps"]
        models = ", ".join(str(m["slug"]) for m in item.get("models", []))
        rows.add_row(
            text(item["slug"]),
            text(item["title"]),
            text(f"{defaults['locations']} (max {caps['locations']})"),
            text(f"{defaults['chargers_per_location']} (max {caps['chargers_per_location']})"),
            text(models),
        )
    out().print(rows)


def _step_lines(bar: Progress, steps: list[dict[str, Any]], shown: dict[str, str]) -> None:
    for step in steps:
        state = step["state"]
        if state not in MARK or shown.get(step["name"]) == state:
            continue
        shown[step["name"]] = state
        seconds = step.get("duration_seconds")
        took = f" ({seconds:.2f} s)" if isinstance(seconds, int | float) else ""
        error = f": {step['last_error']}" if state == "failed" and step.get("last_error") else ""
        bar.console.print(f"{MARK[state]} {step['name']}{took}{error}", highlight=False)


def follow_status(
    client: Gateway, cpo_id: str, final: frozenset[str], timeout: float, what: str
) -> dict[str, Any]:
    """Poll the CPO's status until it is one of `final`, the steps as a progress bar."""
    shown: dict[str, str] = {}
    with interruptible(what), progress_bar() as bar:
        task: TaskID = bar.add_task("PENDING", total=None)

        def read() -> dict[str, Any]:
            status: dict[str, Any] = client.get(f"/ocpi/cpos/{segment(cpo_id)}/status")
            steps = status.get("steps", [])
            _step_lines(bar, steps, shown)
            running = [s["name"] for s in steps if s["state"] == "running"]
            label = f"{status['status']}" + (f": {running[0]}" if running else "")
            done = sum(1 for s in steps if s["state"] == "done")
            bar.update(task, description=label, total=len(steps) or None, completed=done)
            return status

        return poll(read, lambda s: s["status"] in final, timeout, what)


def _print_created(body: dict[str, Any]) -> None:
    console = out()
    party = body["party"]
    console.print(
        f"[bold]CPO {body['cpo_id']}[/bold] created ({body['status']}), "
        f"party {party['country_code']}*{party['party_id']} ({party['role']})",
        highlight=False,
    )
    # Plain lines, never wrapped or cut: Token A and the URLs are copied from here.
    for label, value in (
        ("Token A", body["token_a"]),
        ("versions URL", body["ocpi_peer_url"]),
        ("status URL", body["status_url"]),
        ("expires at", body.get("expires_at") or "never"),
    ):
        console.print(f"{label + ':':14}{value}", markup=False, highlight=False, soft_wrap=True)
    snippet = (body.get("roam_helper") or {}).get("curl_snippet")
    if snippet:
        console.print("Register your eMSP (Token B, your versions URL and roles):", markup=False)
        console.print(snippet, markup=False, highlight=False, soft_wrap=True)


@cpo_app.command("create")
def create(
    template: Annotated[str, typer.Option(help="template slug (`voltlab cpo templates`)")],
    country_code: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2, e.g. FR")],
    party_id: Annotated[str, typer.Option(help="OCPI party id, 3 characters")],
    name_prefix: Annotated[str, typer.Option(help="prepended to the chargers' identities")],
    role: Annotated[str | None, typer.Option(help="OCPI role (cpo)")] = None,
    ocpi_version: Annotated[str | None, typer.Option(help="2.2.1 or 2.1.1")] = None,
    seed: Annotated[int | None, typer.Option(help="the network's random seed")] = None,
    ttl_seconds: Annotated[
        int | None, typer.Option(help="destroyed after this many seconds (server default)")
    ] = None,
    locations: Annotated[int | None, typer.Option(help="override: number of locations")] = None,
    chargers_per_location: Annotated[
        int | None, typer.Option(help="override: chargers per location")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="show the provisioning until READY or FAILED")
    ] = False,
    timeout: TimeoutOption = 300.0,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a virtual CPO (POST /ocpi/cpos) and print Token A and its versions URL.

    Exit status with --wait: 0 READY, 1 FAILED, 6 no outcome within --timeout."""
    body: dict[str, Any] = {
        "template": template,
        "country_code": country_code,
        "party_id": party_id,
        "name_prefix": name_prefix,
    }
    optional = {"role": role, "ocpi_version": ocpi_version, "seed": seed}
    body |= {name: value for name, value in optional.items() if value is not None}
    if ttl_seconds is not None:
        body["ttl_seconds"] = ttl_seconds
    overrides = {"locations": locations, "chargers_per_location": chargers_per_location}
    if any(value is not None for value in overrides.values()):
        body["overrides"] = {name: v for name, v in overrides.items() if v is not None}
    with gateway(server, key, CREATE_OPTIONS) as client:
        created: dict[str, Any] = client.call("POST", "/ocpi/cpos", json=body)
        if as_json and not wait:
            print_json(created)
            return
        if not as_json:
            _print_created(created)
        if not wait:
            return
        what = f"CPO {created['cpo_id']} provisioning"
        status = follow_status(client, created["cpo_id"], PROVISIONED, timeout, what)
    if as_json:
        print_json({"cpo": created, "status": status})
    else:
        _print_outcome(status)
    if status["status"] != "READY":
        raise typer.Exit(int(ExitCode.FAILED))


def _print_outcome(status: dict[str, Any]) -> None:
    console = out()
    line = text(f"CPO {status['cpo_id']} is ")
    line.append_text(status_text(status["status"]))
    console.print(line)
    if status.get("error"):
        console.print(f"error: {status['error']}", markup=False, highlight=False)


@cpo_app.command("ls")
def list_cpos(
    limit: Annotated[int, typer.Option(min=1, help="at most this many, newest first")] = 50,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The org's CPOs, newest first."""
    with gateway(server, key) as client:
        items = paged(client, "/ocpi/cpos", limit)
    if as_json:
        print_json({"items": items})
        return
    rows = table("cpo", "status", "party", "template", "ocpi", "locations", "chargers", "expires")
    for cpo in items:
        party = cpo["party"]
        rows.add_row(
            text(cpo["cpo_id"]),
            status_text(cpo["status"]),
            text(f"{party['country_code']}*{party['party_id']}"),
            text(cpo["template"]),
            text(cpo["ocpi_version"]),
            text(len(cpo["location_ids"])),
            text(len(cpo["charger_ids"])),
            text(cpo.get("expires_at") or "never"),
        )
    out().print(rows)


@cpo_app.command("show")
def show(
    cpo_id: Annotated[str, typer.Argument(help="cpo-… id")],
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """One CPO (never shows Token A): party, peer, locations, chargers, provisioning steps."""
    with gateway(server, key) as client:
        cpo = client.get(f"/ocpi/cpos/{segment(cpo_id)}")
        status = None if as_json else client.get(f"/ocpi/cpos/{segment(cpo_id)}/status")
    if as_json:
        print_json(cpo)
        return
    peer = cpo.get("ocpi_peer") or {}
    party = cpo["party"]
    console = out()
    console.print(
        key_values(
            f"CPO {cpo['cpo_id']}",
            [
                ("status", status_text(cpo["status"])),
                ("error", cpo.get("error")),
                ("party", f"{party['country_code']}*{party['party_id']} ({party['role']})"),
                ("template", f"{cpo['template']} v{cpo['template_version']}"),
                ("name prefix", cpo["name_prefix"]),
                ("seed", cpo.get("seed")),
                ("OCPI", cpo["ocpi_version"]),
                ("versions URL", cpo["ocpi_peer_url"]),
                ("eMSP registered", peer.get("registered")),
                ("eMSP versions URL", peer.get("peer_versions_url")),
                ("locations", " ".join(cpo["location_ids"])),
                ("chargers", " ".join(cpo["charger_ids"])),
                ("findings", cpo.get("findings")),
                ("created", cpo.get("created_at")),
                ("ready", cpo.get("ready_at")),
                ("expires", cpo.get("expires_at") or "never"),
            ],
        )
    )
    if status and status.get("steps"):
        console.print(_steps_table(status["steps"]))


def _steps_table(steps: list[dict[str, Any]]) -> Any:
    rows = table("step", "state", "attempts", "seconds", "last error")
    for step in steps:
        rows.add_row(
            text(step["name"]),
            status_text(step["state"]),
            text(step.get("attempts")),
            text(step.get("duration_seconds")),
            text(step.get("last_error")),
        )
    return rows


@cpo_app.command("report")
def report(
    cpo_id: Annotated[str, typer.Argument(help="cpo-… id")],
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """What the CPO did: network, sessions, CDRs, energy, revenue, OCPI traffic."""
    with gateway(server, key) as client:
        body = client.get(f"/ocpi/cpos/{segment(cpo_id)}/report")
    if as_json:
        print_json(body)
        return
    network, revenue = body["network"], body["revenue"]
    provisioning = body.get("provisioning") or {}
    totals = (body.get("traffic") or {}).get("totals") or {}
    currency = revenue.get("currency") or ""
    console = out()
    console.print(
        key_values(
            f"CPO {body['cpo_id']} report",
            [
                ("status", status_text(body["status"])),
                ("seconds to READY", provisioning.get("seconds_to_ready")),
                (
                    "network",
                    f"{network['locations']} locations, {network['chargers']} chargers "
                    f"({network['chargers_connected']} connected), {network['evses']} EVSEs, "
                    f"{network['connectors']} connectors",
                ),
                ("models", network.get("chargers_by_model")),
                ("sessions", f"{body['sessions']['total']} {body['sessions']['by_status']}"),
                ("CDRs", body["cdrs"]["total"]),
                ("energy", f"{body['energy_kwh']} kWh"),
                (
                    "revenue",
                    f"{revenue['excl_vat']} excl. VAT, {revenue['incl_vat']} incl. VAT "
                    f"{currency}".rstrip(),
                ),
                ("OCPI requests", f"{totals.get('in', 0)} in, {totals.get('out', 0)} out"),
                ("eMSP registered", (body.get("ocpi_peer") or {}).get("registered")),
            ],
        )
    )
    if provisioning.get("steps"):
        console.print(_steps_table(provisioning["steps"]))


@cpo_app.command("rm")
def remove(
    cpo_id: Annotated[str, typer.Argument(help="cpo-… id")],
    wait: Annotated[bool, typer.Option("--wait", help="wait until DESTROYED")] = False,
    timeout: TimeoutOption = 120.0,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Destroy a CPO (DELETE /ocpi/cpos/{id}): its chargers stop, its locations go."""
    with gateway(server, key) as client:
        answer: dict[str, Any] = client.call("DELETE", f"/ocpi/cpos/{segment(cpo_id)}")
        status: dict[str, Any] | None = None
        if wait:
            what = f"CPO {cpo_id} destruction"
            final = frozenset({"DESTROYED", "FAILED"})
            status = follow_status(client, cpo_id, final, timeout, what)
    if as_json:
        print_json(answer if status is None else {"deleted": answer, "status": status})
    else:
        _print_outcome(status or answer)
    if status is not None and status["status"] != "DESTROYED":
        raise typer.Exit(int(ExitCode.FAILED))
