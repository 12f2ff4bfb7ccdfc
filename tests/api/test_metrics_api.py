"""`GET /metrics` in-process: who may read it, one registry per app (two apps in one process
each report their own fleet, with no clash between their metrics), the keyless listener, and
`serve`'s options refused before anything starts."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from voltlab.api.app import create_app
from voltlab.cli import app as cli
from voltlab.store.db import Database

from .conftest import FakeFleet, Headers


def station_counts(text: str) -> dict[tuple[str, str], float]:
    """voltlab_stations by (connection, registration)."""
    counts = {}
    for family in text_string_to_metric_families(text):
        if family.name == "voltlab_stations":
            for sample in family.samples:
                key = (sample.labels["connection"], sample.labels["registration"])
                counts[key] = sample.value
    return counts


async def test_metrics_need_an_admin_key(
    client: httpx.AsyncClient, keys: dict[str, Headers]
) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    for role in ("operator", "viewer"):
        response = await client.get("/metrics", headers=keys[role])
        assert response.status_code == 403, role
        assert response.json() == {"detail": f"role {role!r}: admin only"}
    response = await client.get("/metrics", headers=keys["admin"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"voltlab_info", "voltlab_stations", "voltlab_cpos", "process_cpu_seconds"} <= names


async def test_each_app_reports_its_own_fleet(
    app: FastAPI,
    fleet: FakeFleet,
    client: httpx.AsyncClient,
    admin: Headers,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet.live["dep-a"] = {
        "connection": "connected",
        "registration": "Accepted",
        "connectors": [{"status": "Available"}, {"status": "Charging"}],
    }
    other_fleet = FakeFleet()
    for charger_id in ("dep-b", "dep-c"):
        other_fleet.live[charger_id] = {
            "connection": "connecting",
            "registration": None,
            "connectors": [{"status": None}],
        }
    other = create_app(database, other_fleet)  # type: ignore[arg-type]
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as http:
            theirs = await http.get("/metrics", headers=admin)
        ours = await client.get("/metrics", headers=admin)
    assert theirs.status_code == ours.status_code == 200
    assert station_counts(ours.text) == {("connected", "Accepted"): 1.0}
    assert station_counts(theirs.text) == {("connecting", "none"): 2.0}
    connectors = {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(theirs.text)
        if family.name == "voltlab_connectors"
        for sample in family.samples
    }
    assert connectors == {"unknown": 2.0}
    assert app.state.metrics.registry is not other.state.metrics.registry


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--metrics-listen", "9100", "expected HOST:PORT"),
        ("--metrics-listen", "127.0.0.1:http", "is not a number"),
        ("--metrics-listen", "127.0.0.1:70000", "between 1 and 65535"),
        ("--log-format", "xml", "text, json"),
        ("--log-level", "loud", "debug, info"),
    ],
)
def test_serve_refuses_bad_options_before_it_starts(
    option: str, value: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOLTLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    result = CliRunner().invoke(cli, ["serve", option, value])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.replace("│", " ").split())  # rich's error box, unwrapped
    assert option in said and says in said
    assert not (tmp_path / "never.db").exists()


async def test_a_metrics_address_in_use_stops_the_start(database: Database) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create_app(database, FakeFleet(), metrics_listen=("127.0.0.1", port))  # type: ignore[arg-type]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            async with app.router.lifespan_context(app):
                pass
        assert app.state.ready is False


async def test_the_metrics_listener_answers_without_a_key(database: Database) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fleet = FakeFleet()
    fleet.live["dep-a"] = {"connection": "connected", "registration": "Pending", "connectors": []}
    app = create_app(database, fleet, metrics_listen=("127.0.0.1", port))  # type: ignore[arg-type]
    async with app.router.lifespan_context(app), httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        assert station_counts(response.text) == {("connected", "Pending"): 1.0}
        assert (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 404
    with pytest.raises(httpx.ConnectError):  # stopped with the app
        async with httpx.AsyncClient(timeout=2) as http:
            await http.get(f"http://127.0.0.1:{port}/metrics")


async def test_a_scrape_counts_every_station_of_a_large_fleet(
    fleet: FakeFleet, client: httpx.AsyncClient, admin: Headers
) -> None:
    """Read in steps between yields to the event loop: none is lost or counted twice."""
    for index in range(1234):
        fleet.live[f"dep-{index:04d}"] = {
            "connection": "connected" if index % 2 else "disconnected",
            "registration": "Accepted",
            "connectors": [{"status": "Available"}],
        }
    response = await client.get("/metrics", headers=admin)
    assert station_counts(response.text) == {
        ("connected", "Accepted"): 617.0,
        ("disconnected", "Accepted"): 617.0,
    }
