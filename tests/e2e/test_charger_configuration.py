"""`GET /ocpp/chargers/{id}/configuration` (docs/api.md): a charger's OCPP 1.6 keys as
GetConfiguration reports them, or its 2.x device model as a FullInventory report has it; from
the running station, then from its stored snapshot once it is stopped and forgotten by this
process; a value changed by the `configuration` command reads back; viewers may read, another
org gets 404."""

from __future__ import annotations

from typing import Any

import pytest

from voltlab.store import repo
from voltlab.store.db import Database

from .conftest import Gateway


def _headers(database: Database, org: str, role: str) -> dict[str, str]:
    with database.session() as session:
        org_id = repo.get_or_create_org(session, org).id
        return {"Authorization": f"Bearer {repo.add_api_key(session, org_id, role)}"}


async def _configuration(gw: Gateway, charger_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await gw.http.get(f"/ocpp/chargers/{charger_id}/configuration", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_ocpp16_keys_live_then_stored(gateway: Gateway, database: Database) -> None:
    gw = gateway
    location = await gw.location(chargers=1, prefix="CFG16-")
    charger_id = location["chargers"][0]["charger_id"]
    viewer = _headers(database, "e2e", "viewer")
    body = await _configuration(gw, charger_id, viewer)
    assert body["charger_id"] == charger_id and body["identity"] == "CFG16-001"
    assert body["ocpp_version"] == "ocpp1.6" and body["source"] == "live"
    assert "variables" not in body
    keys = {k["key"]: k for k in body["keys"]}
    # What the CSMS's own GetConfiguration gets, key for key.
    answer = await gw.peer.call("CFG16-001", "GetConfiguration", {})
    wire = {k["key"]: k for k in answer["configurationKey"]}
    assert keys == wire
    assert keys["HeartbeatInterval"]["readonly"] is False
    assert keys["NumberOfConnectors"] == {
        "key": "NumberOfConnectors",
        "readonly": True,
        "value": "2",
    }
    # Write-only: listed without a value, as GetConfiguration lists it.
    assert keys["AuthorizationKey"] == {"key": "AuthorizationKey", "readonly": False}

    await gw.command(
        "configuration",
        {"charger_id": charger_id},
        {"key": "MeterValueSampleInterval", "value": "17"},
    )
    keys = {k["key"]: k for k in (await _configuration(gw, charger_id, viewer))["keys"]}
    assert keys["MeterValueSampleInterval"]["value"] == "17"

    # Stopped and forgotten by this process (as a charger another process hosts): read from
    # the stored snapshot, with the changed value.
    await gw.fleet.flush()
    await gw.fleet.remove_charger(charger_id)
    stored = await _configuration(gw, charger_id, viewer)
    assert stored["source"] == "stored"
    assert {k["key"]: k for k in stored["keys"]} == keys

    rival = _headers(database, "rival", "admin")
    for unknown in (charger_id, "chg-nope"):
        response = await gw.http.get(f"/ocpp/chargers/{unknown}/configuration", headers=rival)
        assert response.status_code == 404, response.text
        assert "not found" in response.json()["detail"]
    assert (await gw.http.get(f"/ocpp/chargers/{charger_id}/configuration")).status_code == 401


@pytest.mark.parametrize("version", ["ocpp2.0.1"])
async def test_ocpp2x_device_model(gateway: Gateway, database: Database, version: str) -> None:
    gw = gateway
    location = await gw.location(chargers=1, prefix="CFG2X-", version=version)
    charger_id = location["chargers"][0]["charger_id"]
    body = await _configuration(gw, charger_id, gw.headers)
    assert body["ocpp_version"] == version and body["source"] == "live"
    assert "keys" not in body
    variables = body["variables"]
    fields = {
        "component",
        "evse_id",
        "connector_id",
        "variable",
        "instance",
        "attribute_type",
        "mutability",
        "value",
    }
    assert all(set(v) <= fields and set(v) >= fields - {"value"} for v in variables)
    assert {v["attribute_type"] for v in variables} == {"Actual"}

    def find(component: str, variable: str, evse: int | None = None) -> dict[str, Any]:
        return next(
            v
            for v in variables
            if v["component"] == component and v["variable"] == variable and v["evse_id"] == evse
        )

    interval = find("OCPPCommCtrlr", "HeartbeatInterval")
    assert interval["mutability"] == "ReadWrite" and interval["connector_id"] is None
    # Per EVSE and connector: each station connector is EVSE n, connector 1.
    connector = find("Connector", "ConnectorType", 1)
    assert connector["connector_id"] == 1 and connector["mutability"] == "ReadOnly"
    # Write-only variables carry no value.
    write_only = [v for v in variables if v["mutability"] == "WriteOnly"]
    assert write_only and all("value" not in v for v in write_only)
    # The same values the CSMS reads with GetVariables.
    answer = await gw.peer.call(
        "CFG2X-001",
        "GetVariables",
        {
            "getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
            ]
        },
    )
    assert answer["getVariableResult"][0]["attributeValue"] == interval["value"]

    await gw.command(
        "configuration",
        {"charger_id": charger_id},
        {"key": "OCPPCommCtrlr.HeartbeatInterval", "value": "123"},
    )
    variables = (await _configuration(gw, charger_id, gw.headers))["variables"]
    assert find("OCPPCommCtrlr", "HeartbeatInterval")["value"] == "123"
