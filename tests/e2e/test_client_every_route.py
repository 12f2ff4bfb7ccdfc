"""Every Gateway API route through `voltlab.client` against a live `voltlab serve` (real fleet)
whose chargers talk to the strict ocpp-rpc CSMS peer; the routes hit are checked against the
app's route inventory, so a route added to the server and not to the client fails here."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from client.route_inventory import Route, gateway_routes
from e2e.serve_support import API_KEY, ServeProcess, free_port
from peers.ocpp_rpc_peer import OcppRpcPeer
from voltlab.api.app import create_app
from voltlab.api.command_events import COMMAND_KINDS
from voltlab.client import (
    Client,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    ValidationFailed,
    models,
)
from voltlab.client.waiting import poll

T = TypeVar("T")
TAG = "TAG-ROUTES-1"


def _viewer_key(workdir: Path) -> str:
    env = dict(os.environ, VOLTLAB_DATABASE_URL=f"sqlite:///{workdir / 'voltlab.db'}")
    done = subprocess.run(
        [sys.executable, "-m", "voltlab", "keys", "create", "--org", "default", "--role", "viewer"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def _raises(kind: type[Exception], call: Callable[[], object]) -> Any:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


def _ok(batch: Any, timeout: float = 30.0) -> models.CommandView:
    """One command on one charger, waited for until it succeeded."""
    assert batch.accepted.failed == [], batch.accepted
    (command,) = batch.commands
    return command.wait(timeout, check=True)


def _online(client: Client, charger_id: str) -> models.ChargerView:
    return poll(
        lambda: client.chargers.get(charger_id),
        lambda c: c.connection == "connected" and c.registration == "Accepted",
        20.0,
        0.05,
        f"{charger_id} online",
    )


def _connector(client: Client, charger_id: str, status: str) -> models.ChargerView:
    return poll(
        lambda: client.chargers.get(charger_id),
        lambda c: c.connectors[0].status == status,
        20.0,
        0.05,
        f"{charger_id} connector 1 {status}",
    )


def _fleet(client: Client, csms_url: str) -> tuple[str, str]:
    """Installation, locations and chargers; returns (charger id, location id)."""
    assert client.health().status == "ok"
    me = client.me()
    assert (me.role, me.can_write) == ("admin", True)
    assert "ac-22kw-2c" in {m.slug for m in client.charger_models()}
    assert client.cluster().mode == "single"
    assert "# TYPE voltlab_" in client.metrics()

    location = client.locations.create(
        models.LocationCreate(
            name="routes", csms_url=csms_url, chargers=2, identity_prefix="CP-ROUTES-"
        )
    )
    assert [c.identity for c in location.chargers] == ["CP-ROUTES-001", "CP-ROUTES-002"]
    assert location.location_id in {loc.location_id for loc in client.locations.iterate(limit=1)}
    assert client.locations.list(limit=1).items
    assert client.locations.get(location.location_id).charger_count == 2
    assert client.locations.findings(location.location_id).findings == []
    assert client.fleet_summary(location_id=location.location_id).total == 2

    charger = client.chargers.create(
        models.ChargerCreate(identity="CP-ROUTES-SOLO", csms_url=csms_url)
    )
    ids = {c.charger_id for c in client.chargers.iterate(limit=2)}
    assert ids >= {charger.charger_id, *(c.charger_id for c in location.chargers)}
    assert client.chargers.list(q="SOLO").items[0].charger_id == charger.charger_id
    _online(client, charger.charger_id)
    configuration = client.chargers.configuration(charger.charger_id)
    assert isinstance(configuration, models.Configuration16View)
    assert "HeartbeatInterval" in {key.key for key in configuration.keys}

    # Off and on again; then the live channel carries the frames of a CALL it sends.
    assert client.chargers.stop(charger.charger_id).desired_running is False
    assert client.chargers.start(charger.charger_id).desired_running is True
    _online(client, charger.charger_id)
    with client.events([f"charger:{charger.charger_id}"], read_timeout=30) as stream:
        heartbeat = models.ProxyMessageEvent(action="Heartbeat", payload={})
        _ok(client.commands.proxy_message(charger.charger_id, heartbeat))
        message = next(stream)
    assert message.event == "frame", message
    assert "Heartbeat" in str(message.data)
    return charger.charger_id, location.location_id


def _commands(client: Client, charger_id: str) -> None:
    """Every command (COMMAND_KINDS), each waited for until it succeeded."""
    c = client.commands
    c1 = models.ConnectorEvent(connector_id=1)
    _ok(
        c.configuration(
            charger_id, models.ConfigurationEvent(key="MeterValueSampleInterval", value="30")
        )
    )
    _ok(c.cache_reset(charger_id))
    entry = models.AuthListEntry(id_tag=TAG, status="Accepted")
    _ok(
        c.local_auth_list(
            charger_id,
            models.LocalAuthListEvent(list_version=3, update_type="Full", entries=[entry]),
        )
    )
    _ok(c.clear_local_auth_list(charger_id))
    _ok(c.authorize_id_tag(charger_id, models.AuthorizeIdTagEvent(id_tag=TAG)))
    proxied = _ok(
        c.proxy_message(
            charger_id,
            models.ProxyMessageEvent(action="DataTransfer", payload={"vendorId": "voltlab.test"}),
        )
    )
    assert proxied.result["response"]["status"] in ("Accepted", "UnknownVendorId")

    _ok(c.plug_connector(charger_id, models.PlugConnectorEvent(connector_id=1, soc_percent=40)))
    _ok(c.start_transaction(charger_id, models.StartTransactionEvent(connector_id=1, id_tag=TAG)))
    _ok(c.ev_requests_energy(charger_id, models.EvRequestsEnergyEvent(connector_id=1, power_kw=7)))
    _ok(
        c.power_update(
            charger_id, models.PowerUpdateEvent(connector_id=1, power_kw=5, soc_percent=50)
        )
    )
    _ok(c.ev_stops_energy(charger_id, c1))
    _ok(c.stop_transaction(charger_id, models.StopTransactionEvent(connector_id=1)))
    _ok(c.unplug_connector(charger_id, c1))
    _ok(c.unlock_connector(charger_id, c1))

    _ok(c.start_session(charger_id, models.StartSessionEvent(id_tag=TAG, connector_id=1)))
    _connector(client, charger_id, "Charging")
    series = poll(
        lambda: client.chargers.meter_series(charger_id, connector_id=1),
        lambda s: len(s.points) >= 2,
        20.0,
        0.1,
        "two meter samples",
    )
    assert series.transaction_id is not None
    _ok(c.stop_session(charger_id, models.StopSessionEvent(connector_id=1)))
    _ok(
        c.inject_fault(
            charger_id, models.InjectFaultEvent(connector_id=1, fault_type="GroundFault")
        )
    )
    _connector(client, charger_id, "Faulted")
    _ok(c.clear_fault(charger_id, models.ClearFaultEvent(connector_id=1)))
    _ok(c.partition(charger_id, models.PartitionEvent(duration_seconds=5)))
    _ok(c.restart_link(charger_id))
    _online(client, charger_id)
    limit = models.ChargingLimitEvent(connector_id=0, limit_kw=11)
    assert _ok(c.set_charging_limit(charger_id, limit)).result["limit_w"] == 11000
    _ok(c.clear_charging_limit(charger_id, models.StationOrConnectorEvent(connector_id=0)))

    page = client.commands.list(charger_id=charger_id, limit=50)
    for_16 = {k.event_type for k in COMMAND_KINDS if k.versions is None}
    assert {command.event_type for command in page.items} == for_16
    assert {command.status for command in page.items} == {"succeeded"}
    _v2x_commands(client, charger_id)
    assert client.commands.get(page.items[0].id).id == page.items[0].id

    frames = client.chargers.messages(charger_id, limit=1000).items
    assert any(f.direction == "out" and f.frame[2:3] == ["StartTransaction"] for f in frames)
    older = client.chargers.messages(charger_id, limit=2, before=frames[0].id)
    assert all(f.id < frames[0].id for f in older.items)
    assert client.chargers.findings(charger_id).findings == []


def _v2x_commands(client: Client, charger_16: str) -> None:
    """The commands of a later version (OCPP 2.1's discharge) on a charger of that version, and
    refused at submit for the 1.6 one."""
    csms_url = client.chargers.get(charger_16).csms_url
    charger = client.chargers.create(
        models.ChargerCreate(identity="CP-ROUTES-V2X", csms_url=csms_url, ocpp_version="ocpp2.1")
    )
    _online(client, charger.charger_id)
    plug = models.PlugConnectorEvent(connector_id=1, ev_profile="v2x-ac-hatch", soc_percent=60)
    _ok(client.commands.plug_connector(charger.charger_id, plug))
    _ok(
        client.commands.start_session(
            charger.charger_id, models.StartSessionEvent(id_tag=TAG, connector_id=1)
        )
    )
    discharge = models.DischargeEvent(connector_id=1, power_kw=7)
    assert _ok(client.commands.discharge(charger.charger_id, discharge)).result["power_w"] == -7000
    page = client.commands.list(charger_id=charger.charger_id, limit=50)
    later = {k.event_type for k in COMMAND_KINDS if k.versions is not None}
    assert later <= {command.event_type for command in page.items}
    assert {command.status for command in page.items} == {"succeeded"}
    _ok(client.commands.stop_session(charger.charger_id, models.StopSessionEvent(connector_id=1)))
    client.chargers.delete(charger.charger_id)


def _cpos(client: Client) -> None:
    templates = client.cpos.templates()
    body = models.CpoCreate(
        template=templates[0].slug,
        country_code="NL",
        party_id="RTS",
        name_prefix="rts",
        seed=5,
        overrides={"locations": 1, "chargers_per_location": 1},
    )
    created = client.cpos.create(body)
    assert created.token_a and created.ocpi_peer_url.endswith("/versions")
    assert client.cpos.wait_ready(created.cpo_id, 120).status == "READY"
    view = client.cpos.get(created.cpo_id)
    assert len(view.charger_ids) == 1
    assert created.cpo_id in {cpo.cpo_id for cpo in client.cpos.list().items}
    assert client.cpos.status(created.cpo_id).steps
    assert client.cpos.report(created.cpo_id).cpo_id == created.cpo_id
    assert client.cpos.traffic(created.cpo_id, limit=10).items == []
    assert client.cpos.findings(created.cpo_id).findings == []
    # VOLTLAB_MAX_CPOS_PER_ORG=1: a second live CPO is over capacity.
    over = _raises(
        Unavailable, lambda: client.cpos.create(body.model_copy(update={"party_id": "RTT"}))
    )
    assert "CPO" in str(over.detail)
    assert client.cpos.delete(created.cpo_id).status in ("DESTROYING", "DESTROYED")


def _scenarios(client: Client, csms_url: str) -> None:
    names = {s.name for s in client.scenarios.library().scenarios}
    assert "fault-mid-charge" in names
    assert client.scenarios.get("fault-mid-charge").scenario["name"] == "fault-mid-charge"
    target = models.RunTarget(csms_url=csms_url, ocpp_version="ocpp1.6")
    accepted = client.scenarios.start_run(
        models.RunCreate(scenario="fault-mid-charge", target=target)
    )
    run = client.scenarios.wait(accepted.run_id, 120)
    assert run.verdict == "passed", run.steps
    assert accepted.run_id in {r.run_id for r in client.scenarios.runs(limit=5).items}
    assert client.scenarios.run(accepted.run_id).status == "finished"
    assert "<testsuite" in client.scenarios.junit(accepted.run_id)
    assert "fault-mid-charge" in client.scenarios.report(accepted.run_id)


def _replays(client: Client, charger_id: str, csms_url: str) -> None:
    """A charger's frame log exported as a capture and replayed against the same CSMS."""
    capture = client.chargers.messages_jsonl(charger_id)
    assert '"BootNotification"' in capture.splitlines()[0]
    assert len(client.chargers.messages_jsonl(charger_id, limit=2).splitlines()) == 2
    body = models.ReplayCreate(csms_url=csms_url, capture=capture, speed=100)
    started = client.replays.start(body)
    run = client.replays.wait(started.run_id, 60)
    assert run.status == "passed", run
    assert started.run_id in {r.run_id for r in client.replays.list(limit=5).items}


def _errors(client: Client, server: ServeProcess, viewer_key: str, charger_id: str) -> None:
    with Client(server.base, "vl_not_a_key") as stranger:
        assert "unknown" in _raises(Unauthorized, stranger.me).detail
    with Client(server.base, viewer_key) as viewer:
        assert viewer.me().role == "viewer"
        assert "read-only" in _raises(Forbidden, lambda: viewer.chargers.stop(charger_id)).detail
        assert "admin only" in _raises(Forbidden, viewer.metrics).detail
    missing = _raises(NotFound, lambda: client.chargers.get("dep-missing"))
    assert missing.detail == "charger 'dep-missing' not found"
    taken = models.ChargerCreate(identity="CP-ROUTES-SOLO", csms_url="ws://127.0.0.1:9/ocpp")
    assert _raises(Conflict, lambda: client.chargers.create(taken)).status_code == 409
    bad = models.ChargerCreate.model_construct(identity="no spaces", csms_url="http://x")
    invalid = _raises(ValidationFailed, lambda: client.chargers.create(bad))
    assert {("body", "identity"), ("body", "csms_url")} <= set(invalid.fields())
    huge = models.ProxyMessageEvent.model_construct(
        action="DataTransfer", payload={"data": "x" * (2 * 1024 * 1024)}
    )
    too_big = lambda: client.commands.proxy_message(charger_id, huge)  # noqa: E731
    assert _raises(PayloadTooLarge, too_big).status_code == 413


def _deletes(client: Client, charger_id: str, location_id: str) -> None:
    client.chargers.delete(charger_id)
    client.locations.delete(location_id)
    _raises(NotFound, lambda: client.chargers.get(charger_id))
    _raises(NotFound, lambda: client.locations.get(location_id))


async def test_every_gateway_route_through_the_client(
    tmp_path: Path, peer_all: OcppRpcPeer
) -> None:
    server = ServeProcess(tmp_path, free_port(), VOLTLAB_MAX_CPOS_PER_ORG="1")
    server.start()
    try:
        await server.wait_healthy()
        viewer_key = _viewer_key(tmp_path)
        hits: set[tuple[str, str]] = set()

        def run() -> None:
            with Client(server.base, API_KEY, timeout=60) as client:
                client.http.event_hooks["response"].append(
                    lambda r: hits.add((r.request.method, r.request.url.path))
                )
                charger_id, location_id = _fleet(client, peer_all.url)
                location_charger = client.locations.get(location_id).chargers[0].charger_id
                _commands(client, charger_id)
                _cpos(client)
                _scenarios(client, peer_all.url)
                _replays(client, location_charger, peer_all.url)
                _errors(client, server, viewer_key, charger_id)
                _deletes(client, charger_id, location_id)

        # The client blocks: it runs on a thread, the peer's pipes on this loop.
        await asyncio.to_thread(run)
    finally:
        server.stop()

    inventory = gateway_routes(create_app(port=1))
    missed = sorted(r for r in inventory if not any(r.matches(m, p) for m, p in hits))
    covered = len(inventory) - len(missed)
    print(f"Gateway API routes through voltlab.client: {covered}/{len(inventory)}")
    assert missed == [], f"routes no client call reached: {missed}"
    await peer_all.sync()
    assert peer_all.strict_failures == []


def test_the_inventory_reads_included_routers() -> None:
    """The inventory is not empty by accident: it finds routes of included routers, not OCPI's
    protocol routes, and every command slug."""
    inventory = gateway_routes(create_app(port=1))
    assert Route("GET", "/ocpp/chargers/{charger_id}/messages") in inventory
    assert Route("POST", "/ocpp/commands/cache/reset") in inventory
    assert not any(r.path.startswith("/ocpi/2.") for r in inventory)
    assert len(inventory) >= 59
