"""`voltlab locations create|ls|show|rm` and `voltlab chargers ls|show|start|stop|rm`: the
virtual chargers (`/ocpp/locations`, `/ocpp/chargers`).

A charger is named by its id (`dep-…`) or, where that is not one, by its exact identity."""

from __future__ import annotations

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
    key_values,
    out,
    paged,
    print_json,
    status_text,
    table,
    text,
)
from voltlab.cli_client.http import CliFailure, ExitCode, Gateway, check, segment
from voltlab.cli_client.waiting import interruptible, poll, progress_bar

locations_app = typer.Typer(help="Locations: groups of virtual chargers.", no_args_is_help=True)
chargers_app = typer.Typer(help="Virtual chargers: list, inspect, connect.", no_args_is_help=True)

LOCATION_OPTIONS = {
    "name": "--name",
    "csms_url": "--csms-url",
    "ocpp_version": "--ocpp-version",
    "chargers": "--chargers",
    "model": "--model",
    "identity_prefix": "--identity-prefix",
    "security.profile": "--security-profile",
    "security.password": "--password",
    "security": "--security-profile",
}


def resolve_charger(client: Gateway, ref: str) -> dict[str, Any]:
    """The charger `ref` names: its id, else the charger whose identity is exactly `ref`."""
    response = client.send("GET", f"/ocpp/chargers/{segment(ref)}")
    if response.status_code == 404:
        found = client.get("/ocpp/chargers", q=ref, limit=200)["items"]
        exact = [charger for charger in found if charger["identity"] == ref]
        if len(exact) == 1:
            return dict(exact[0])
    check(response)
    return dict(response.json())


def online(charger: dict[str, Any]) -> bool:
    return charger.get("connection") == "connected" and charger.get("registration") == "Accepted"


def wait_online(
    client: Gateway, read: Any, count: int, timeout: float, what: str
) -> list[dict[str, Any]]:
    """Poll `read()` (the chargers) until all `count` are connected and Accepted; a charger
    its CSMS Rejected ends the wait as a failure."""
    with interruptible(what), progress_bar() as bar:
        task: TaskID = bar.add_task("connecting", total=count)

        def step() -> list[dict[str, Any]]:
            chargers: list[dict[str, Any]] = read()
            up = sum(1 for charger in chargers if online(charger))
            bar.update(task, completed=up, description=f"online {up}/{count}")
            rejected = [c["identity"] for c in chargers if c.get("registration") == "Rejected"]
            if rejected:
                raise CliFailure(
                    ExitCode.FAILED, f"the CSMS rejected {', '.join(rejected)} (BootNotification)"
                )
            return chargers

        return poll(step, lambda chargers: all(map(online, chargers)), timeout, what)


def _connectors(charger: dict[str, Any]) -> str:
    return " ".join(f"{c['connector_id']}:{c.get('status')}" for c in charger.get("connectors", []))


def chargers_table(chargers: list[dict[str, Any]]) -> Any:
    rows = table(
        "charger", "identity", "version", "model", "connection", "registration", "connectors"
    )
    for charger in chargers:
        rows.add_row(
            text(charger["charger_id"]),
            text(charger["identity"]),
            text(charger["ocpp_version"]),
            text(charger["model"]),
            status_text(charger.get("connection")),
            status_text(charger.get("registration")),
            text(_connectors(charger)),
        )
    return rows


@locations_app.command("create")
def create_location(
    name: Annotated[str, typer.Option(help="the location's name")],
    csms_url: Annotated[str, typer.Option(help="the CSMS under test, ws:// or wss://")],
    ocpp_version: Annotated[
        str | None, typer.Option(help="ocpp1.6 | ocpp2.0.1 | ocpp2.1 (server default 1.6)")
    ] = None,
    chargers: Annotated[int | None, typer.Option(help="how many chargers (default 1)")] = None,
    model: Annotated[str | None, typer.Option(help="catalog slug (GET /ocpp/models)")] = None,
    identity_prefix: Annotated[
        str | None, typer.Option(help="identities are PREFIX001, PREFIX002, …")
    ] = None,
    security_profile: Annotated[int | None, typer.Option(help="OCPP security profile 0-3")] = None,
    password: Annotated[
        str | None, typer.Option(help="Basic-auth password (profiles 1 and 2)")
    ] = None,
    auto_start: Annotated[
        bool, typer.Option("--auto-start/--no-auto-start", help="connect the chargers at once")
    ] = True,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until every charger is connected and Accepted")
    ] = False,
    timeout: TimeoutOption = 120.0,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a location with its chargers (POST /ocpp/locations)."""
    body: dict[str, Any] = {"name": name, "csms_url": csms_url, "auto_start": auto_start}
    optional = {
        "ocpp_version": ocpp_version,
        "chargers": chargers,
        "model": model,
        "identity_prefix": identity_prefix,
    }
    body |= {field: value for field, value in optional.items() if value is not None}
    if security_profile is not None or password is not None:
        body["security"] = {"profile": security_profile, "password": password}
    with gateway(server, key, LOCATION_OPTIONS) as client:
        created: dict[str, Any] = client.call("POST", "/ocpp/locations", json=body)
        members = created["chargers"]
        if wait and auto_start:
            path = "/ocpp/chargers"

            def read() -> list[dict[str, Any]]:
                return paged(client, path, len(members), {"location_id": created["location_id"]})

            what = f"the chargers of {created['location_id']} connecting"
            members = wait_online(client, read, len(members), timeout, what)
    if as_json:
        print_json(created if not wait else created | {"chargers": members})
        return
    console = out()
    console.print(f"location {created['location_id']} ({created['name']})", markup=False)
    console.print(chargers_table(members))


@locations_app.command("ls")
def list_locations(
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The org's locations (a CPO's locations too)."""
    with gateway(server, key) as client:
        items = paged(client, "/ocpp/locations", limit)
    if as_json:
        print_json({"items": items})
        return
    rows = table("location", "name", "version", "model", "chargers", "CSMS")
    for location in items:
        rows.add_row(
            text(location["location_id"]),
            text(location["name"]),
            text(location["ocpp_version"]),
            text(location["model"]),
            text(location["charger_count"]),
            text(location["csms_url"]),
        )
    out().print(rows)


@locations_app.command("show")
def show_location(
    location_id: Annotated[str, typer.Argument(help="loc-… id")],
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """A location and its chargers."""
    with gateway(server, key) as client:
        body = client.get(f"/ocpp/locations/{segment(location_id)}")
    if as_json:
        print_json(body)
        return
    console = out()
    console.print(
        key_values(
            f"location {body['location_id']}",
            [
                ("name", body["name"]),
                ("CSMS", body["csms_url"]),
                ("version", body["ocpp_version"]),
                ("model", body["model"]),
                ("identity prefix", body.get("identity_prefix")),
            ],
        )
    )
    console.print(chargers_table(body.get("chargers", [])))


@locations_app.command("rm")
def remove_location(
    location_id: Annotated[str, typer.Argument(help="loc-… id")],
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
) -> None:
    """Delete a location and its chargers."""
    with gateway(server, key) as client:
        client.call("DELETE", f"/ocpp/locations/{segment(location_id)}")
    out().print(f"deleted {location_id}", markup=False, highlight=False)


@chargers_app.command("ls")
def list_chargers(
    location: Annotated[str | None, typer.Option(help="only this location's")] = None,
    q: Annotated[str | None, typer.Option("--q", help="identity contains this")] = None,
    connection: Annotated[
        str | None, typer.Option(help="connecting | connected | disconnected | stopped")
    ] = None,
    registration: Annotated[str | None, typer.Option(help="Accepted | Pending | Rejected")] = None,
    status: Annotated[str | None, typer.Option(help="a connector status, e.g. Charging")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many")] = 100,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Chargers with their live state, oldest first."""
    params = {
        "location_id": location,
        "q": q,
        "connection": connection,
        "registration": registration,
        "status": status,
    }
    options = {f"query.{name}": f"--{name}" for name in params} | {
        "query.location_id": "--location"
    }
    with gateway(server, key, options) as client:
        items = paged(client, "/ocpp/chargers", limit, params)
    if as_json:
        print_json({"items": items})
        return
    out().print(chargers_table(items))


@chargers_app.command("show")
def show_charger(
    charger: Annotated[str, typer.Argument(help="charger id (dep-…) or identity")],
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """One charger: connection, registration, connectors, faults."""
    with gateway(server, key) as client:
        body = resolve_charger(client, charger)
    if as_json:
        print_json(body)
        return
    console = out()
    console.print(
        key_values(
            f"charger {body['charger_id']}",
            [
                ("identity", body["identity"]),
                ("location", body.get("location_id")),
                ("CSMS", body["csms_url"]),
                ("version", body["ocpp_version"]),
                ("model", f"{body['model']} ({body.get('vendor')})"),
                ("connection", status_text(body.get("connection"))),
                ("registration", status_text(body.get("registration"))),
                ("last error", body.get("last_error")),
                ("faults", body.get("faults") or None),
                ("findings", body.get("findings")),
            ],
        )
    )
    rows = table("connector", "type", "status", "error", "transaction", "kWh", "kW", "SoC %")
    for connector in body.get("connectors", []):
        meter, power = connector.get("meter_wh"), connector.get("power_w")
        rows.add_row(
            text(connector["connector_id"]),
            text(connector.get("connector_type")),
            status_text(connector.get("status")),
            text(connector.get("error_code")),
            text(connector.get("transaction_id")),
            text(None if meter is None else round(meter / 1000, 3)),
            text(None if power is None else round(power / 1000, 2)),
            text(connector.get("soc_percent")),
        )
    console.print(rows)


def _switch(
    refs: list[str],
    action: str,
    wait: bool,
    timeout: float,
    server: str,
    key: str | None,
    as_json: bool,
) -> None:
    with gateway(server, key) as client:
        ids = [resolve_charger(client, ref)["charger_id"] for ref in refs]
        bodies = [client.call("POST", f"/ocpp/chargers/{segment(i)}/{action}") for i in ids]
        if wait and action == "start":

            def read() -> list[dict[str, Any]]:
                return [client.get(f"/ocpp/chargers/{segment(i)}") for i in ids]

            bodies = wait_online(client, read, len(ids), timeout, "the chargers connecting")
    if as_json:
        print_json(bodies[0] if len(bodies) == 1 else {"items": bodies})
        return
    out().print(chargers_table(bodies))


@chargers_app.command("start")
def start_chargers(
    chargers: Annotated[list[str], typer.Argument(help="charger ids or identities")],
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until connected and Accepted by the CSMS")
    ] = False,
    timeout: TimeoutOption = 60.0,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect chargers to their CSMS (they boot)."""
    _switch(chargers, "start", wait, timeout, server, key, as_json)


@chargers_app.command("stop")
def stop_chargers(
    chargers: Annotated[list[str], typer.Argument(help="charger ids or identities")],
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Disconnect chargers (their state is kept; `start` connects them again)."""
    _switch(chargers, "stop", False, 0.0, server, key, as_json)


@chargers_app.command("rm")
def remove_chargers(
    chargers: Annotated[list[str], typer.Argument(help="charger ids or identities")],
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
) -> None:
    """Delete chargers."""
    with gateway(server, key) as client:
        for ref in chargers:
            charger_id = resolve_charger(client, ref)["charger_id"]
            client.call("DELETE", f"/ocpp/chargers/{segment(charger_id)}")
            out().print(f"deleted {charger_id}", markup=False, highlight=False)
