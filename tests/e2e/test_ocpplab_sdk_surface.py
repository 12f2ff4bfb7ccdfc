"""The rest of the SDK's `evcharger` surface and its `health` against a real `voltlab serve` and
the strict ocpp-rpc CSMS: templates (a template's body creates a location), one deployment,
runtime operations with their effect on the wire (restart: a second BootNotification; stop: a
disconnect), stage status and events, diagnostics, logs, deletes, and the 4xx of each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ocpplab import AsyncOcpplabSDK
from ocpplab.core.api_error import ApiError
from ocpplab.errors import NotFoundError, UnprocessableEntityError

from peers.ocpp_rpc_peer import OcppRpcPeer

from .ocpplab_support import until
from .serve_support import API_KEY, ServeProcess, free_port

DEP = "DEP-DC-1"


@pytest.fixture
async def peer() -> AsyncIterator[OcppRpcPeer]:
    async with OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1"), strict=True) as csms:
        yield csms


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServeProcess]:
    # Simulated time at the wall's pace: the diagnostics' default window (the last 15 minutes
    # of the fleet's clock) holds the whole test even on a slow machine.
    serve = ServeProcess(tmp_path, free_port(), VOLTLAB_TIME_SCALE="1")
    serve.start()
    try:
        await serve.wait_healthy()
        yield serve
    finally:
        serve.stop()


async def stages(client: AsyncOcpplabSDK, identities: list[str] | None = None) -> list[str]:
    status = await client.evcharger.deployment_runtime_ops.status(identity=identities)
    return [item.stage for item in status.items]


async def test_templates_deployments_runtime_ops_logs_and_health(
    server: ServeProcess, peer: OcppRpcPeer
) -> None:
    client = AsyncOcpplabSDK(base_url=server.base, token=API_KEY)
    ops = client.evcharger.deployment_runtime_ops

    assert (await client.health.check()).status == "ok"
    assert (await client.health.live()).status == "ok"
    ready = await client.health.ready()
    assert (ready.status, ready.database, ready.mqtt) == ("ok", "sqlite", "not_used")

    # Templates: four recommended, the extended gallery, the filters.
    templates = client.evcharger.templates
    recommended = await templates.list()
    assert recommended.count == 4 and recommended.filters.include_all is False
    pairs = {(t.ocpp_version, t.ocpi_version) for t in recommended.templates}
    assert pairs == {(o, i) for o in ("ocpp1.6", "ocpp2.0.1") for i in ("2.2.1", "2.1.1")}
    every = await templates.list(include_all=True)
    assert every.count == 24
    chademo = await templates.list(include_all=True, connector_type="CHAdeMO")
    assert chademo.count and {t.cpo_slug for t in chademo.templates} <= {
        "highway-dc-hub",
        "mixed-city",
    }
    narrowed = await templates.list(ocpp_version="ocpp2.0.1", ocpi_version="2.1.1")
    assert narrowed.count == 1
    with pytest.raises(UnprocessableEntityError):
        await templates.list(ocpp_version="ocpp9")

    # A template's body, pointed at the CSMS under test, is a location.
    body: dict[str, Any] = dict(recommended.templates[0].body)
    body["chargers"] = [charger | {"ws_url": peer.url} for charger in body["chargers"]]
    location = await client.evcharger.location.create(**body)
    identities = [charger["identity"] for charger in body["chargers"]]
    assert len(identities) == 3

    async def online(names: list[str] | None = None) -> bool:
        return set(await stages(client, names)) == {"online"}

    await until("template chargers online", lambda: online(identities))

    # One deployment into that location: a 2.0.1 DC charger.
    deployment = client.evcharger.deployment
    created = await deployment.create(
        identity=DEP,
        model="dc-50kw-ccs-chademo",
        ws_url=peer.url,
        ocpp_version="ocpp2.0.1",
        charger_name="rapid one",
        location_id=location.location_id,
        connector_type="CHAdeMO",
        power_kwh=50,
    )
    assert created.identity == DEP and created.deployment_id.startswith("dep-")
    assert created.provisioning_state in {"connecting", "registering", "online"}
    for wrong in ({"power_kwh": 60}, {"model": "toaster"}, {"connector_type": "Type1"}):
        with pytest.raises(UnprocessableEntityError):
            await deployment.create(
                **{
                    "identity": "DEP-X",
                    "model": "dc-50kw-ccs-chademo",
                    "ws_url": peer.url,
                    "ocpp_version": "ocpp2.0.1",
                    "charger_name": "x",
                }
                | wrong
            )
    with pytest.raises(UnprocessableEntityError):
        await deployment.create(
            identity="DEP-X",
            model="ac-7kw-1c",
            ws_url=peer.url,
            ocpp_version="ocpp1.6",
            charger_name="x",
            security_profile=3,
        )
    await until("deployment online", lambda: online([DEP]))

    # Restart: the station boots again; status and events say so from the frame log.
    restarted = await ops.operate(action="restart", deployment_id=created.deployment_id)
    assert (restarted.target_type, restarted.accepted_count, restarted.failed_count) == (
        "deployment",
        1,
        0,
    )
    await until("second boot", lambda: _boots(peer, DEP, 2))

    async def second_attempt_online() -> Any:
        status = await ops.status(identity=[DEP], events=True)
        item = status.items[0]
        return item if item.stage == "online" and item.attempt == 2 else None

    item = await until("online again", second_attempt_online)
    assert [(e.stage, e.outcome) for e in item.events] == [
        ("registering", "in_progress"),
        ("online", "succeeded"),
    ] * 2
    events = await ops.events(identity=DEP, limit=3)
    assert [(e.attempt, e.stage) for e in events.events] == [
        (2, "online"),
        (2, "registering"),
        (1, "online"),
    ]
    assert (await ops.events(outcome="alerts")).events == []
    with pytest.raises(UnprocessableEntityError):
        await ops.status(identity=[DEP, identities[0]], events=True)
    with pytest.raises(NotFoundError):
        await ops.status(identity=["NOBODY"])

    diagnosis = await ops.diagnostics(deployment_id=created.deployment_id)
    assert diagnosis.verdict.code == "connected" and diagnosis.verdict.severity == "ok"
    assert (diagnosis.deployment.replicas, diagnosis.deployment.ready_replicas) == (1, 1)
    assert diagnosis.pods == [] and diagnosis.logs.source == "history"
    texts = [line.text for line in diagnosis.logs.lines]
    assert sum('"BootNotification"' in text for text in texts) == 2, texts
    errors_only = await ops.diagnostics(deployment_id=created.deployment_id, level="error")
    assert errors_only.logs.lines == []
    async with httpx.AsyncClient(base_url=server.base) as http:
        plain = await http.get(
            "/evcharger/deployment-runtime-ops/diagnostics",
            params={"deployment_id": created.deployment_id, "download": "true", "tail_lines": 2},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert plain.headers["content-type"].startswith("text/plain")
    assert len(plain.text.splitlines()) == 2
    with pytest.raises(NotFoundError):
        await ops.diagnostics(deployment_id="dep-nope")

    # Stop the whole location: every charger disconnects and is `stopped`.
    stopped = await ops.operate(action="stop", location_id=location.location_id)
    assert (stopped.accepted_count, stopped.failed_count) == (4, 0)
    for identity in [*identities, DEP]:
        await peer.wait_disconnected(identity)
    assert set(await stages(client, [*identities, DEP])) == {"stopped"}
    with pytest.raises(UnprocessableEntityError):
        await ops.operate(action="stop")
    with pytest.raises(ApiError) as foreign:
        await ops.operate(action="stop", location_id="loc-nope")
    assert foreign.value.status_code == 404

    # Logs: read, then deleted for good.
    logs = client.evcharger.logs
    entries = [entry async for entry in await logs.list(identity=DEP, page_size=10)]
    assert {"BootNotification", "StatusNotification"} <= {e.action for e in entries}
    await logs.delete(identity=DEP)
    assert [entry async for entry in await logs.list(identity=DEP)] == []
    assert [entry async for entry in await logs.list(identity="NOBODY")] == []

    # Deletes: the deployment by identity, the location by its name.
    await deployment.delete(identity=DEP)
    with pytest.raises(NotFoundError):
        await deployment.delete(identity=DEP)
    with pytest.raises(UnprocessableEntityError):
        await deployment.delete()
    await client.evcharger.location.delete(location_id=body["name"])
    with pytest.raises(NotFoundError):
        await client.evcharger.location.delete(location_id=location.location_id)
    assert await stages(client) == []
    assert not peer.strict_failures and not peer.bad_messages


async def test_location_and_catalog_refusals(server: ServeProcess, peer: OcppRpcPeer) -> None:
    client = AsyncOcpplabSDK(base_url=server.base, token=API_KEY)
    charger = {
        "identity": "REF-1",
        "brand_slug": "voltlab",
        "model": "ac-7kw-1c",
        "connector_type": "IEC62196Type2",
        "ws_url": peer.url,
    }
    place = {
        "name": "refusals",
        "address": "3 rue",
        "city": "Nantes",
        "country": "FR",
        "coordinates": {"lat": 47.2, "lng": -1.55},
    }
    wrongs: list[dict[str, Any]] = [
        {"chargers": [charger | {"brand_slug": "acme"}]},
        {"chargers": [charger | {"connector_type": "CHAdeMO"}]},
        {"chargers": [charger, charger]},
        {"chargers": [charger | {"security_profile": 1}]},
        {"chargers": [charger | {"ws_url": "http://127.0.0.1/"}]},
        {"coordinates": {"lat": 91, "lng": 0}},
    ]
    for wrong in wrongs:
        with pytest.raises(UnprocessableEntityError):
            await client.evcharger.location.create(**(place | wrong))
    # Nothing of the refused bodies was created; an empty location is.
    assert await stages(client) == []
    empty = await client.evcharger.location.create(**place)
    assert empty.location_id.startswith("loc-")
    await client.evcharger.location.delete(location_id=empty.location_id)

    catalog = client.evcharger.catalog
    with pytest.raises(NotFoundError):
        await catalog.list_models(brand_slug="acme")
    with pytest.raises(NotFoundError):
        await catalog.get_model(brand_slug="voltlab", model="toaster")
    brands = await catalog.list_brands(page=2)
    assert brands.items == [] and brands.response.total == 1


async def _boots(peer: OcppRpcPeer, identity: str, count: int) -> bool:
    return len(peer.calls(identity, "BootNotification")) >= count
