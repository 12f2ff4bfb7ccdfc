"""The vendor's SDK (PyPI `ocpplab`, the test extra installs it) drives a real `voltlab serve`
unchanged: through the SDK only, a location of 3 chargers against the strict ocpp-rpc CSMS is
created, followed until online, plugged, charged and stopped, its log read and the location
deleted; the CSMS sees the same frames as when the same steps go through the seed's routes
(`/ocpp/locations`, `/ocpp/commands/*`). docs/ocpplab-sdk.md is the mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ocpplab import AsyncOcpplabSDK
from ocpplab.errors import NotFoundError

from peers.ocpp_rpc_peer import OcppRpcPeer

from .ocpplab_support import FINAL, until
from .serve_support import API_KEY, ServeProcess, free_port

SEED_FINAL = {"succeeded", "failed", "timed_out"}
MODEL = "ac-22kw-2c"


@pytest.fixture
async def peer() -> AsyncIterator[OcppRpcPeer]:
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as csms:
        yield csms


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServeProcess]:
    # Simulated time at the wall's pace: no Heartbeat or MeterValues falls due within the test,
    # so both runs' frames follow from the commands alone.
    serve = ServeProcess(tmp_path, free_port(), VOLTLAB_TIME_SCALE="1")
    serve.start()
    try:
        await serve.wait_healthy()
        yield serve
    finally:
        serve.stop()


def signature(frame: list[Any]) -> tuple[Any, ...]:
    """What a frame says, without its message id and times: the action (or answer type) and
    the fields a command decides."""
    if frame[0] == 2:
        params = frame[3]
        kept = ("connectorId", "status", "errorCode", "idTag", "reason")
        return ("CALL", frame[2], tuple((k, params.get(k)) for k in kept if k in params))
    body = frame[2] if frame[0] == 3 else frame[2:4]
    status = body.get("status") if isinstance(body, dict) else None
    tag_status = (body.get("idTagInfo") or {}).get("status") if isinstance(body, dict) else None
    return ("RESULT" if frame[0] == 3 else "ERROR", status, tag_status)


def conversation(peer: OcppRpcPeer, identity: str) -> list[tuple[str, tuple[Any, ...]]]:
    return [(ev["direction"], signature(ev["frame"])) for ev in peer.frame_events(identity)]


def station_body(identity: str, peer: OcppRpcPeer) -> dict[str, Any]:
    return {
        "identity": identity,
        "brand_slug": "voltlab",
        "model": MODEL,
        "connector_type": "IEC62196Type2",
        "ws_url": peer.url,
        "ocpp_version": "ocpp1.6",
    }


async def sdk_run(client: AsyncOcpplabSDK, peer: OcppRpcPeer) -> dict[str, Any]:
    """The whole flow through the SDK; returns what the assertions read."""
    brands = [brand async for brand in await client.evcharger.catalog.list_brands()]
    assert [brand.slug for brand in brands] == ["voltlab"]
    models = [m async for m in await client.evcharger.catalog.list_models(brand_slug="voltlab")]
    assert MODEL in {model.slug for model in models}
    one = await client.evcharger.catalog.get_model(brand_slug="voltlab", model=MODEL)
    assert one.connector_count == 2 and one.supported_kwh == [22.0]

    identities = [f"SDK-{index:03d}" for index in (1, 2, 3)]
    accepted = await client.evcharger.location.create(
        name="sdk depot",
        address="1 rue de la Paix",
        city="Paris",
        country="FR",
        coordinates={"lat": 48.8686, "lng": 2.3314},
        chargers=[station_body(identity, peer) for identity in identities],
    )
    location_id = accepted.location_id

    async def all_online() -> list[Any] | None:
        status = await client.evcharger.deployment_runtime_ops.status(identity=identities)
        stages = [item.stage for item in status.items]
        return status.items if stages == ["online"] * 3 else None

    items = await until("every charger online", all_online)
    assert [item.attempt for item in items] == [1, 1, 1]
    await until("boot statuses reported", lambda: booted(peer, identities))
    deployment_ids = [item.deployment_id for item in items]

    commands = client.evcharger.commands
    outcomes = []
    plug = await commands.plug_connector(
        target={"identity": identities[0]}, payload={"connector_id": 1}
    )
    outcomes.append(await sdk_final(client, plug))
    start = await commands.start_session(
        target={"deployment_id": deployment_ids[0]},
        payload={"id_tag": "SDK-TAG-1", "connector_id": 1},
    )
    outcomes.append(await sdk_final(client, start))
    stop = await commands.stop_session(
        target={"location_id": location_id, "charger_ids": [deployment_ids[0]]},
        payload={"connector_id": 1},
    )
    outcomes.append(await sdk_final(client, stop))
    assert [outcome.status for outcome in outcomes] == ["applied"] * 3, outcomes

    pages = await client.evcharger.logs.list(identity=identities[0], page_size=7)
    log = [entry async for entry in pages]
    await client.evcharger.location.delete(location_id=location_id)
    with pytest.raises(NotFoundError):
        await client.evcharger.deployment_runtime_ops.status(identity=identities[:1])
    return {"identities": identities, "log": log, "outcomes": outcomes}


async def sdk_final(client: AsyncOcpplabSDK, accepted: Any) -> Any:
    assert accepted.queued_count == 1 and accepted.failed == [], accepted
    command_id = accepted.results[0].command.id

    async def final() -> Any:
        record = await client.evcharger.commands.get_status(command_id)
        return record if record.status in FINAL else None

    return await until(f"command {command_id} final", final)


async def booted(peer: OcppRpcPeer, identities: list[str]) -> bool:
    # 1.6: connector 0 and both connectors report after the boot.
    return all(len(peer.calls(identity, "StatusNotification")) >= 3 for identity in identities)


async def seed_run(http: httpx.AsyncClient, peer: OcppRpcPeer) -> list[str]:
    """The same steps through the seed's routes."""
    location = {
        "name": "seed depot",
        "csms_url": peer.url,
        "ocpp_version": "ocpp1.6",
        "chargers": 3,
        "model": MODEL,
        "identity_prefix": "SEED-",
    }
    created = (await http.post("/ocpp/locations", json=location)).json()
    chargers = created["chargers"]
    identities = [charger["identity"] for charger in chargers]

    async def all_online() -> bool:
        states = [(await http.get(f"/ocpp/chargers/{c['charger_id']}")).json() for c in chargers]
        return all(state["registration"] == "Accepted" for state in states)

    await until("every seed charger online", all_online)
    await until("boot statuses reported", lambda: booted(peer, identities))
    first = chargers[0]["charger_id"]
    steps = [
        ("plug-connector", {"charger_id": first}, {"connector_id": 1}),
        ("start-session", {"charger_id": first}, {"id_tag": "SDK-TAG-1", "connector_id": 1}),
        (
            "stop-session",
            {"location_id": created["location_id"], "charger_ids": [first]},
            {"connector_id": 1},
        ),
    ]
    for slug, target, event in steps:
        answer = await http.post(f"/ocpp/commands/{slug}", json={"target": target, "event": event})
        command_id = answer.json()["results"][0]["command"]["id"]

        async def final(command_id: str = command_id) -> dict[str, Any] | None:
            record = (await http.get(f"/ocpp/commands/{command_id}")).json()
            return record if record["status"] in SEED_FINAL else None

        assert (await until(f"{slug} final", final))["status"] == "succeeded"
    assert (await http.delete(f"/ocpp/locations/{created['location_id']}")).status_code == 204
    return identities


async def test_the_sdk_drives_a_location_as_the_seed_routes_do(
    server: ServeProcess, peer: OcppRpcPeer
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30) as http:
        client = AsyncOcpplabSDK(base_url=server.base, token=API_KEY)
        sdk = await sdk_run(client, peer)
        for identity in sdk["identities"]:
            await peer.wait_disconnected(identity)
        seed = await seed_run(http, peer)
        for identity in seed:
            await peer.wait_disconnected(identity)

    for sdk_identity, seed_identity in zip(sdk["identities"], seed, strict=True):
        assert conversation(peer, sdk_identity) == conversation(peer, seed_identity)
    first = conversation(peer, sdk["identities"][0])
    actions = [signature[1] for direction, signature in first if signature[0] == "CALL"]
    for action in ("BootNotification", "StartTransaction", "StopTransaction"):
        assert action in actions, actions
    assert not peer.strict_failures and not peer.bad_messages

    # The log the SDK read is, frame for frame, what the CSMS saw of that charger up to the
    # read (the CSMS may see more afterwards: the statuses after the stop, on a busy machine).
    log = list(reversed(sdk["log"]))
    seen = peer.frame_events(sdk["identities"][0])
    assert len(log) <= len(seen)
    for entry, event in zip(log, seen, strict=False):
        assert entry.direction == ("out" if event["direction"] == "in" else "in")
        assert json.loads(entry.message) == event["frame"]
    answered = {entry.action for entry in log if entry.message_type == "CALLRESULT"}
    assert {"BootNotification", "StartTransaction", "StopTransaction"} <= answered
