"""`AsyncClient` against a live `voltlab serve` and the strict ocpp-rpc peer: the same calls as
the sync client, awaited (waiting, paging, the live channel and the errors included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.serve_support import API_KEY, ServeProcess, free_port
from peers.ocpp_rpc_peer import OcppRpcPeer
from voltlab.client import AsyncClient, CommandFailed, NotFound, ValidationFailed, models
from voltlab.client.waiting import apoll


async def test_async_client_drives_a_charger_and_a_cpo(
    tmp_path: Path, peer_all: OcppRpcPeer
) -> None:
    server = ServeProcess(tmp_path, free_port())
    server.start()
    try:
        await server.wait_healthy()
        async with AsyncClient(server.base, API_KEY) as client:
            assert (await client.health()).status == "ok"
            body = models.ChargerCreate(identity="CP-ASYNC-1", csms_url=peer_all.url)
            charger = await client.chargers.create(body)
            online = await apoll(
                lambda: client.chargers.get(charger.charger_id),
                lambda c: c.registration == "Accepted",
                20.0,
                0.05,
                "online",
            )
            assert online.connection == "connected"
            assert [c.charger_id async for c in client.chargers.iterate(limit=1)] == [
                charger.charger_id
            ]

            async with client.events([f"charger:{charger.charger_id}"], read_timeout=30) as live:
                session = models.StartSessionEvent(id_tag="TAG-A", connector_id=1)
                batch = await client.commands.start_session(charger.charger_id, session)
                (record,) = await batch.wait(30, check=True)
                assert record.status == "succeeded"
                first = await anext(live)
            assert first.event in ("frame", "meter")

            frames = (await client.chargers.messages(charger.charger_id)).items
            sent = [f.frame[2] for f in frames if f.direction == "out" and f.frame[0] == 2]
            assert "StartTransaction" in sent

            # A command the station cannot carry out ends failed; check=True says why.
            plug_again = models.PlugConnectorEvent(connector_id=1)
            failing = await client.commands.plug_connector(charger.charger_id, plug_again)
            with pytest.raises(CommandFailed) as failed:
                await failing.wait(30, check=True)
            assert failed.value.command.status == "failed"
            assert failed.value.command.error is not None

            with pytest.raises(NotFound):
                await client.chargers.get("dep-nope")
            bad = models.StartSessionEvent.model_construct(id_tag="", connector_id=0)
            with pytest.raises(ValidationFailed) as invalid:
                await client.commands.start_session(charger.charger_id, bad)
            assert ("body", "event", "connector_id") in invalid.value.fields()

            created = await client.cpos.create(
                models.CpoCreate(
                    template="small-urban-ac",
                    country_code="DE",
                    party_id="ASY",
                    name_prefix="asy",
                    overrides={"locations": 1, "chargers_per_location": 1},
                )
            )
            status = await client.cpos.wait_ready(created.cpo_id, 120)
            assert status.status == "READY"
            assert (await client.cpos.delete(created.cpo_id)).cpo_id == created.cpo_id
            await client.chargers.delete(charger.charger_id)
    finally:
        server.stop()
    await peer_all.sync()
    assert peer_all.strict_failures == []
