"""Every `client.evcharger.commands.*` method of the vendor's SDK against a real `voltlab serve`:
once with valid input (its effect checked on the strict ocpp-rpc CSMS's side of the wire, and
its record `applied`), once with invalid input, for which the SDK raises the error class
docs/ocpplab-sdk.md names (400 BadRequestError, 404 NotFoundError, 422
UnprocessableEntityError). Another org's key sees none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpplab import AsyncOcpplabSDK
from ocpplab.errors import BadRequestError, NotFoundError, UnprocessableEntityError

from peers.ocpp_rpc_peer import OcppRpcPeer
from voltlab.store import repo
from voltlab.store.db import Database

from .ocpplab_support import FINAL, until
from .serve_support import API_KEY, ServeProcess, free_port

C16, C201 = "CMD-16", "CMD-201"


@pytest.fixture
async def peer() -> AsyncIterator[OcppRpcPeer]:
    async with OcppRpcPeer(protocols=("ocpp1.6", "ocpp2.0.1"), strict=True) as csms:
        yield csms


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServeProcess]:
    serve = ServeProcess(tmp_path, free_port())
    serve.start()
    try:
        await serve.wait_healthy()
        yield serve
    finally:
        serve.stop()


def rival_key(server: ServeProcess) -> str:
    database = Database(f"sqlite:///{server.workdir / 'voltlab.db'}")
    try:
        with database.session() as session:
            return repo.add_api_key(session, repo.get_or_create_org(session, "rival").id, "admin")
    finally:
        database.dispose()


class Driver:
    def __init__(self, client: AsyncOcpplabSDK, peer: OcppRpcPeer) -> None:
        self.client = client
        self.commands = client.evcharger.commands
        self.peer = peer
        self.records: list[Any] = []

    async def run(self, method: str, target: dict[str, Any], payload: Any = None) -> Any:
        """A valid call: queued for one charger and `applied`; returns the record."""
        kwargs: dict[str, Any] = {"target": target}
        if payload is not None:
            kwargs["payload"] = payload
        accepted = await getattr(self.commands, method)(**kwargs)
        assert accepted.queued_count == 1 and accepted.failed == [], (method, accepted)
        command_id = accepted.results[0].command.id

        async def final() -> Any:
            record = await self.commands.get_status(command_id)
            return record if record.status in FINAL else None

        record = await until(f"{method} final", final)
        assert record.status == "applied", (method, record)
        self.records.append(record)
        return record

    async def reported(self, identity: str, connector: int, status: str) -> None:
        """The station reports `status` (its StatusNotification follows the command's end)."""

        async def last_is() -> bool:
            return self.statuses(identity, connector)[-1:] == [status]

        await until(f"{identity} connector {connector} {status}", last_is)

    def statuses(self, identity: str, connector: int) -> list[str]:
        """1.6: connectorId; 2.0.1: evseId (a voltlab EVSE has one connector)."""
        found = []
        for params in self.peer.calls(identity, "StatusNotification"):
            if params.get("connectorId", 0) == connector and "evseId" not in params:
                found.append(params["status"])
            elif params.get("evseId") == connector:
                found.append(params["connectorStatus"])
        return found


# method -> (target, payload) the SDK must refuse, and the error class it raises
INVALID: dict[str, tuple[dict[str, Any], dict[str, Any] | None, type[Exception]]] = {
    "change_configuration": (
        {"identity": C16},
        {"key": "", "value": "x"},
        UnprocessableEntityError,
    ),
    "send_local_list": (
        {"identity": C16},
        {"list_version": 1, "update_type": "Partial"},
        UnprocessableEntityError,
    ),
    "authorize_id_tag": ({"identity": C16}, {"id_tag": "T" * 21}, UnprocessableEntityError),
    "clear_local_list": ({}, None, BadRequestError),
    "reset_cache": ({"deployment_id": "dep-nope"}, None, NotFoundError),
    "plug_connector": ({"identity": C16}, {"connector_id": 0}, UnprocessableEntityError),
    "unplug_connector": ({"identity": C201}, {"evse_id": 1, "connector_id": 2}, BadRequestError),
    "inject_fault": (
        {"identity": C16},
        {"connector_id": 2, "fault_type": "Gremlins"},
        UnprocessableEntityError,
    ),
    "clear_fault": ({"identity": "NOPE"}, {"connector_id": 2}, NotFoundError),
    "start_session": (
        {"identity": C16},
        {"id_tag": "T", "duration_seconds": 0},
        UnprocessableEntityError,
    ),
    "ev_stops_energy": (
        {"identity": C16, "location_id": "loc-x"},
        {"connector_id": 1},
        BadRequestError,
    ),
    "ev_requests_energy": (
        {"identity": C16},
        {"connector_id": 1, "power_kw": 5},
        UnprocessableEntityError,
    ),
    "power_update": ({"identity": C16}, {"power_w": -1}, UnprocessableEntityError),
    "stop_session": ({"charger_ids": ["dep-x"]}, None, BadRequestError),
    "proxy_message": ({"identity": C16}, {"action": "Bad Action!"}, UnprocessableEntityError),
}


async def test_every_command_method_valid_then_invalid(
    server: ServeProcess, peer: OcppRpcPeer
) -> None:
    client = AsyncOcpplabSDK(base_url=server.base, token=API_KEY)
    chargers = [
        {"identity": C16, "ocpp_version": "ocpp1.6"},
        {"identity": C201, "ocpp_version": "ocpp2.0.1"},
    ]
    created = await client.evcharger.location.create(
        name="commands",
        address="2 quai",
        city="Lyon",
        country="FR",
        coordinates={"lat": 45.76, "lng": 4.83},
        chargers=[
            charger
            | {
                "brand_slug": "voltlab",
                "model": "ac-22kw-2c",
                "connector_type": "IEC62196Type2",
                "ws_url": peer.url,
            }
            for charger in chargers
        ],
    )

    async def online() -> bool:
        status = await client.evcharger.deployment_runtime_ops.status()
        return [item.stage for item in status.items] == ["online", "online"]

    await until("both online", online)
    await until("boot statuses", lambda: _booted(peer))
    go = Driver(client, peer)
    one = {"identity": C16}
    tried: list[str] = []

    async def invalid(method: str) -> None:
        target, payload, error = INVALID[method]
        kwargs: dict[str, Any] = {"target": target}
        if payload is not None:
            kwargs["payload"] = payload
        with pytest.raises(error) as raised:
            await getattr(go.commands, method)(**kwargs)
        assert raised.value.body, method  # type: ignore[attr-defined]
        tried.append(method)

    await go.run("change_configuration", one, {"key": "LocalPreAuthorize", "value": "true"})
    got = await peer.call(C16, "GetConfiguration", {"key": ["LocalPreAuthorize"]})
    assert got["configurationKey"][0]["value"] == "true"
    await invalid("change_configuration")

    entries = [{"id_tag": "LOCAL-1"}]
    await go.run(
        "send_local_list", one, {"list_version": 3, "update_type": "Full", "entries": entries}
    )
    assert await peer.call(C16, "GetLocalListVersion", {}) == {"listVersion": 3}
    await invalid("send_local_list")

    record = await go.run("authorize_id_tag", one, {"id_tag": "LOCAL-1"})
    assert record.result["source"] == "local_list"
    await invalid("authorize_id_tag")

    await go.run("clear_local_list", one)
    assert await peer.call(C16, "GetLocalListVersion", {}) == {"listVersion": 0}
    await invalid("clear_local_list")

    first = await go.run("authorize_id_tag", one, {"id_tag": "TAG-A"})
    cached = await go.run("authorize_id_tag", one, {"id_tag": "TAG-A"})
    await go.run("reset_cache", one)
    again = await go.run("authorize_id_tag", one, {"id_tag": "TAG-A"})
    sources = [r.result["source"] for r in (first, cached, again)]
    assert sources == ["csms", "cache", "csms"]
    await invalid("reset_cache")

    # 2.0.1: evse_id 2 is voltlab's connector 2.
    await go.run("plug_connector", {"identity": C201}, {"evse_id": 2})
    await go.reported(C201, 2, "Occupied")
    await go.run("unplug_connector", {"identity": C201}, {"evse_id": 2, "connector_id": 1})
    await go.reported(C201, 2, "Available")
    await invalid("plug_connector")
    await invalid("unplug_connector")

    await go.run("inject_fault", one, {"connector_id": 2, "fault_type": "GroundFault"})
    await go.reported(C16, 2, "Faulted")
    faulted = peer.calls(C16, "StatusNotification")[-1]
    assert (faulted["connectorId"], faulted["errorCode"]) == (2, "GroundFailure")
    await invalid("inject_fault")
    await go.run("clear_fault", one, {"connector_id": 2})
    await go.reported(C16, 2, "Available")
    await invalid("clear_fault")

    await go.run("start_session", one, {"id_tag": "SESSION-1"})  # connector 1 by default
    assert peer.calls(C16, "StartTransaction")[-1]["connectorId"] == 1
    await invalid("start_session")
    await go.run("ev_stops_energy", one)
    await go.reported(C16, 1, "SuspendedEV")
    await invalid("ev_stops_energy")
    await go.run("ev_requests_energy", one, {"connector_id": 1})
    await go.reported(C16, 1, "Charging")
    await invalid("ev_requests_energy")
    record = await go.run("power_update", one, {"connector_id": 1, "power_w": 7000})
    assert record.payload == {"connector_id": 1, "power_kw": 7.0}
    await invalid("power_update")
    await go.run(
        "stop_session", {"location_id": created.location_id, "charger_ids": [record.deployment_id]}
    )
    assert peer.calls(C16, "StopTransaction")[-1]["reason"] == "Local"
    await invalid("stop_session")

    record = await go.run(
        "proxy_message", one, {"action": "DataTransfer", "payload": {"vendorId": "voltlab"}}
    )
    assert peer.calls(C16, "DataTransfer")[-1] == {"vendorId": "voltlab"}
    assert record.result
    await invalid("proxy_message")

    assert sorted(tried) == sorted(INVALID)
    # The two reads, valid then invalid.
    listed = await go.commands.list_results(identity=C16, limit=5)
    assert [r.command_id for r in listed.data] == [r.command_id for r in go.records[::-1][:5]]
    with pytest.raises(UnprocessableEntityError):
        await go.commands.list_results(limit=5)
    assert (await go.commands.get_status(go.records[0].command_id)).status == "applied"
    with pytest.raises(NotFoundError):
        await go.commands.get_status("nope")

    # Tenancy: another org's key finds neither the command nor the charger.
    rival = AsyncOcpplabSDK(base_url=server.base, token=rival_key(server))
    with pytest.raises(NotFoundError):
        await rival.evcharger.commands.get_status(go.records[0].command_id)
    with pytest.raises(NotFoundError):
        await rival.evcharger.commands.plug_connector(target={"identity": C16})
    assert (await rival.evcharger.commands.list_results(identity=C16)).data == []
    assert not peer.strict_failures and not peer.bad_messages


async def _booted(peer: OcppRpcPeer) -> bool:
    return (
        len(peer.calls(C16, "StatusNotification")) >= 3
        and len(peer.calls(C201, "StatusNotification")) >= 2
    )
