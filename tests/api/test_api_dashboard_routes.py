"""The routes the dashboard adds (docs/dashboard.md): GET /me, the charger filters,
/ocpp/fleet/summary, /ocpp/chargers/{id}/meter-series, /ocpi/cpos/{id}/traffic and the report's
series. Bodies and errors on the wire (httpx against the app, the recording fake fleet)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from api.conftest import FakeFleet, Headers, LocationMaker, collect_pages, error_locs
from voltlab.cpo.report_series import report_series
from voltlab.ocpi.traffic import count_request
from voltlab.store.db import Database
from voltlab.store.models import Cpo, Frame


async def test_me(client: httpx.AsyncClient, keys: dict[str, Headers]) -> None:
    admin = (await client.get("/me", headers=keys["admin"])).json()
    assert admin["role"] == "admin" and admin["can_write"] is True
    assert admin["org_name"] == "acme" and admin["org_id"] and admin["key_id"]
    viewer = (await client.get("/me", headers=keys["viewer"])).json()
    assert viewer["role"] == "viewer" and viewer["can_write"] is False
    assert viewer["org_id"] == admin["org_id"] and viewer["key_id"] != admin["key_id"]
    rival = (await client.get("/me", headers=keys["rival"])).json()
    assert rival["org_id"] != admin["org_id"]
    assert (await client.get("/me")).status_code == 401


async def test_charger_filters(
    client: httpx.AsyncClient,
    keys: dict[str, Headers],
    make_location: LocationMaker,
    fleet: FakeFleet,
) -> None:
    depot = await make_location(chargers=3, identity_prefix="DEPOT-", auto_start=True)
    await make_location(
        chargers=2,
        identity_prefix="YARD-",
        ocpp_version="ocpp2.0.1",
        model="dc-150kw-2ccs",
        auto_start=False,
    )
    await make_location(headers=keys["rival"], chargers=2, identity_prefix="DEPOT-R-")
    fleet.live[depot["chargers"][0]["charger_id"]]["connection"] = "connected"
    fleet.live[depot["chargers"][0]["charger_id"]]["registration"] = "Accepted"
    viewer = keys["viewer"]

    async def identities(**params: object) -> list[str]:
        items, _ = await collect_pages(client, "/ocpp/chargers", viewer, limit=1, **params)
        return [c["identity"] for c in items]

    assert await identities(q="DEPOT") == ["DEPOT-001", "DEPOT-002", "DEPOT-003"]  # not the rival's
    assert await identities(q="ARD-002") == ["YARD-002"]
    assert await identities(q="%") == []  # literal, not a wildcard
    assert await identities(ocpp_version="ocpp2.0.1") == ["YARD-001", "YARD-002"]
    assert await identities(model="dc-150kw-2ccs") == ["YARD-001", "YARD-002"]
    # Live filters (the fake fleet hosts the started depot chargers): paging still walks them.
    assert await identities(connection="connecting") == ["DEPOT-002", "DEPOT-003"]
    assert await identities(connection="stopped") == ["YARD-001", "YARD-002"]
    assert await identities(registration="Accepted") == ["DEPOT-001"]
    assert await identities(status="Available") == ["DEPOT-001", "DEPOT-002", "DEPOT-003"]
    assert await identities(status="Charging") == []
    assert await identities(q="DEPOT", connection="connected") == ["DEPOT-001"]
    location = depot["location_id"]
    assert await identities(location_id=location, connection="connecting") == [
        "DEPOT-002",
        "DEPOT-003",
    ]
    for field, value in (
        ("connection", "online"),
        ("registration", "accepted"),
        ("status", "Sleeping"),
        ("ocpp_version", "1.6"),
        ("model", "no-such-model"),
        ("q", ""),
    ):
        response = await client.get("/ocpp/chargers", params={field: value}, headers=viewer)
        assert error_locs(response) == [["query", field]], (field, response.text)


async def test_fleet_summary(
    client: httpx.AsyncClient,
    keys: dict[str, Headers],
    make_location: LocationMaker,
    fleet: FakeFleet,
) -> None:
    depot = await make_location(chargers=3, auto_start=True)
    await make_location(
        chargers=2, ocpp_version="ocpp2.0.1", identity_prefix="Y-", auto_start=False
    )
    await make_location(headers=keys["rival"], chargers=4)
    fleet.live[depot["chargers"][0]["charger_id"]]["registration"] = "Accepted"
    body = (await client.get("/ocpp/fleet/summary", headers=keys["viewer"])).json()
    assert body["total"] == 5
    assert body["by_connection"] == {"connecting": 3, "stopped": 2}
    assert body["by_registration"] == {"Accepted": 1, "none": 4}
    # The fake fleet's chargers have one connector; the stopped ones the model's two, unknown.
    assert body["by_connector_status"] == {"Available": 3, "unknown": 4}
    assert body["by_ocpp_version"] == {"ocpp1.6": 3, "ocpp2.0.1": 2}
    assert body["by_model"] == {"ac-22kw-2c": 5}
    one = (
        await client.get(
            "/ocpp/fleet/summary",
            params={"location_id": depot["location_id"]},
            headers=keys["viewer"],
        )
    ).json()
    assert one["total"] == 3 and one["location_id"] == depot["location_id"]
    foreign = await client.get(
        "/ocpp/fleet/summary", params={"location_id": depot["location_id"]}, headers=keys["rival"]
    )
    assert foreign.status_code == 404
    assert (await client.get("/ocpp/fleet/summary")).status_code == 401


def _call(message_id: str, action: str, payload: dict) -> str:
    return json.dumps([2, message_id, action, payload])


async def test_meter_series(
    client: httpx.AsyncClient,
    keys: dict[str, Headers],
    make_location: LocationMaker,
    database: Database,
) -> None:
    location = await make_location(chargers=1)
    charger_id = location["chargers"][0]["charger_id"]

    def sample(ts: str, power: str, energy: str, unit: str = "Wh") -> dict:
        return {
            "timestamp": ts,
            "sampledValue": [
                {"value": power, "measurand": "Power.Active.Import", "unit": "W"},
                {"value": energy, "measurand": "Energy.Active.Import.Register", "unit": unit},
                {"value": "41", "measurand": "SoC", "unit": "Percent"},
            ],
        }

    frames = [
        _call(
            "a",
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 7,
                "meterValue": [sample("2026-01-01T10:00:00Z", "1000", "10")],
            },
        ),
        _call("b", "Heartbeat", {}),
        _call(
            "c",
            "MeterValues",
            {
                "connectorId": 2,
                "transactionId": 8,
                "meterValue": [sample("2026-01-01T10:00:30Z", "500", "1")],
            },
        ),
        # Transaction 9 starts at register 12 Wh: its id comes in the CSMS's answer.
        _call(
            "s9",
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "T",
                "meterStart": 12,
                "timestamp": "2026-01-01T10:59:59Z",
            },
        ),
        json.dumps([3, "s9", {"transactionId": 9, "idTagInfo": {"status": "Accepted"}}]),
        _call(
            "d",
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 9,
                "meterValue": [sample("2026-01-01T11:00:00Z", "7000", "20")],
            },
        ),
        _call(
            "e",
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 9,
                "meterValue": [sample("2026-01-01T11:01:00Z", "7400", "0.15", "kWh")],
            },
        ),
        _call(
            "f",
            "StopTransaction",
            {
                "transactionId": 9,
                "meterStop": 160,
                "timestamp": "2026-01-01T11:02:00Z",
                "transactionData": [sample("2026-01-01T11:02:00Z", "0", "160")],
            },
        ),
    ]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with database.session() as session:
        for text in frames:
            # The CSMS's answers come in; what the station sends goes out.
            direction = "in" if text.startswith("[3") else "out"
            session.add(Frame(charger_id=charger_id, ts=now, direction=direction, frame=text))
        session.add(Frame(charger_id=charger_id, ts=now, direction="in", frame="not json"))
    viewer = keys["viewer"]
    url = f"/ocpp/chargers/{charger_id}/meter-series"
    body = (await client.get(url, headers=viewer)).json()
    point = {"power_w": 7000.0, "soc": 41.0}
    assert body == {
        "connector_id": 1,
        "transaction_id": "9",
        "meter_start_wh": 12.0,
        "points": [
            {**point, "ts": "2026-01-01T11:00:00Z", "energy_wh": 20.0, "session_energy_wh": 8.0},
            {
                **point,
                "ts": "2026-01-01T11:01:00Z",
                "power_w": 7400.0,
                "energy_wh": 150.0,
                "session_energy_wh": 138.0,
            },
            {
                **point,
                "ts": "2026-01-01T11:02:00Z",
                "power_w": 0.0,
                "energy_wh": 160.0,
                "session_energy_wh": 148.0,
            },
        ],
    }
    # Transaction 8's start is not in the log: its registers only, no made-up session energy.
    two = (await client.get(url, params={"connector_id": 2}, headers=viewer)).json()
    assert two["transaction_id"] == "8" and [p["power_w"] for p in two["points"]] == [500.0]
    assert two["meter_start_wh"] is None and two["points"][0]["session_energy_wh"] is None
    none = (await client.get(url, params={"connector_id": 3}, headers=viewer)).json()
    assert none == {
        "connector_id": 3,
        "transaction_id": None,
        "meter_start_wh": None,
        "points": [],
    }
    assert error_locs(await client.get(url, params={"connector_id": 0}, headers=viewer)) == [
        ["query", "connector_id"]
    ]
    assert (await client.get(url, headers=keys["rival"])).status_code == 404
    assert (
        await client.get("/ocpp/chargers/dep-nope/meter-series", headers=viewer)
    ).status_code == 404


def _cpo(org_id: str, cpo_id: str) -> Cpo:
    return Cpo(
        id=cpo_id,
        org_id=org_id,
        template="small-urban-ac",
        template_version=1,
        country_code="FR",
        party_id="ABC",
        requested_party_id="ABC",
        name_prefix="t",
        ocpi_version="2.2.1",
        seed=1,
    )


async def test_cpo_traffic(
    client: httpx.AsyncClient, keys: dict[str, Headers], database: Database
) -> None:
    me = (await client.get("/me", headers=keys["admin"])).json()
    with database.session() as session:
        session.add(_cpo(me["org_id"], "cpo-traffic"))
        session.flush()
        count_request(session, "cpo-traffic", "in", "locations", 200, 1000, "GET", "http://x/1")
        count_request(session, "cpo-traffic", "out", "sessions", None, None, "PUT", "http://e/2")
        count_request(session, "cpo-traffic", "out", "cdrs", 201, 1000)  # counted, not logged
        count_request(session, "cpo-other", "in", "tokens", 200, 1000, "GET", "http://x/3")
    url = "/ocpi/cpos/cpo-traffic/traffic"
    body = (await client.get(url, headers=keys["viewer"])).json()
    assert body["cpo_id"] == "cpo-traffic"
    assert body["totals"] == {"in": 1, "out": 2}
    rows = [
        {
            k: item[k]
            for k in ("direction", "method", "module", "url", "status_code", "ocpi_status_code")
        }
        for item in body["items"]
    ]
    assert rows == [
        {
            "direction": "out",
            "method": "PUT",
            "module": "sessions",
            "url": "http://e/2",
            "status_code": None,
            "ocpi_status_code": None,
        },
        {
            "direction": "in",
            "method": "GET",
            "module": "locations",
            "url": "http://x/1",
            "status_code": 200,
            "ocpi_status_code": 1000,
        },
    ]
    assert all(item["ts"].endswith("Z") for item in body["items"])
    one = (await client.get(url, params={"limit": 1}, headers=keys["viewer"])).json()
    assert [i["method"] for i in one["items"]] == ["PUT"]
    assert error_locs(await client.get(url, params={"limit": 0}, headers=keys["viewer"])) == [
        ["query", "limit"]
    ]
    assert (await client.get(url, headers=keys["rival"])).status_code == 404
    assert (
        await client.get("/ocpi/cpos/cpo-nope/traffic", headers=keys["admin"])
    ).status_code == 404


def test_report_series_buckets() -> None:
    sessions = [
        {"start_date_time": "2026-01-01T10:00:10Z"},
        {"start_date_time": "2026-01-01T10:00:50Z"},
        {"start_date_time": "2026-01-01T10:03:00Z"},
        {"start_date_time": None},
    ]
    cdrs = [
        {
            "end_date_time": "2026-01-01T10:02:30Z",
            "total_energy": 1.5,
            "total_cost": {"excl_vat": 0.5, "incl_vat": 0.6},
        },
        {"end_date_time": "2026-01-01T10:02:40Z", "total_energy": 2, "total_cost": 1.25},
    ]
    series = report_series(sessions, cdrs, "EUR")
    assert series["bucket_seconds"] == 60 and series["currency"] == "EUR"
    assert series["points"] == [
        {
            "start": "2026-01-01T10:00:00Z",
            "sessions": 2,
            "energy_kwh": 0.0,
            "revenue_excl_vat": 0.0,
            "revenue_incl_vat": 0.0,
        },
        {
            "start": "2026-01-01T10:01:00Z",
            "sessions": 0,
            "energy_kwh": 0.0,
            "revenue_excl_vat": 0.0,
            "revenue_incl_vat": 0.0,
        },
        {
            "start": "2026-01-01T10:02:00Z",
            "sessions": 0,
            "energy_kwh": 3.5,
            "revenue_excl_vat": 1.75,
            "revenue_incl_vat": 1.85,
        },
        {
            "start": "2026-01-01T10:03:00Z",
            "sessions": 1,
            "energy_kwh": 0.0,
            "revenue_excl_vat": 0.0,
            "revenue_incl_vat": 0.0,
        },
    ]
    # Two days of activity: hourly buckets, at most 60 of them.
    week = report_series(
        [{"start_date_time": "2026-01-01T00:00:00Z"}, {"start_date_time": "2026-01-03T00:00:00Z"}],
        [],
        None,
    )
    assert week["bucket_seconds"] == 3600 and len(week["points"]) == 49
    assert report_series([], [], None)["points"] == []
