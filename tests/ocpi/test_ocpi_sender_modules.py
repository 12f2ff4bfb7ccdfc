"""Sender modules: paging (limit, Link, X-Total-Count, date filters), single-object GETs,
tenancy between CPOs, routing headers, 2.1.1 shapes."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

PUBLIC_URL = "http://voltlab.test"


def location(location_id: str, minute: int, *, status: str = "AVAILABLE") -> dict[str, Any]:
    stamp = f"2024-05-01T10:{minute:02d}:00Z"
    return {
        "id": location_id,
        "publish": True,
        "name": f"Site {location_id}",
        "address": "1 Rue de Test",
        "city": "Paris",
        "country": "FRA",
        "coordinates": {"latitude": "48.856600", "longitude": "2.352200"},
        "parking_type": "ON_STREET",
        "time_zone": "Europe/Paris",
        "evses": [
            {
                "uid": f"{location_id}-E1",
                "evse_id": f"FR*ABC*E{location_id}1",
                "status": status,
                "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE", "CHIP_CARD_SUPPORT"],
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 400,
                        "max_amperage": 32,
                        "tariff_ids": ["T1"],
                        "last_updated": stamp,
                    }
                ],
                "last_updated": stamp,
            }
        ],
        "last_updated": stamp,
    }


def session_body(session_id: str, location_id: str = "L0") -> dict[str, Any]:
    return {
        "id": session_id,
        "start_date_time": "2024-05-01T11:00:00Z",
        "kwh": 1.5,
        "cdr_token": {
            "country_code": "NL",
            "party_id": "EMS",
            "uid": "RFID1",
            "type": "RFID",
            "contract_id": "NL-EMS-C12345",
        },
        "auth_method": "COMMAND",
        "location_id": location_id,
        "evse_uid": f"{location_id}-E1",
        "connector_id": "1",
        "currency": "EUR",
        "total_cost": {"excl_vat": 0.5, "incl_vat": 0.6},
        "status": "ACTIVE",
        "last_updated": "2024-05-01T11:05:00Z",
    }


async def _crawl(harness: Any, token_c: str, url: str) -> tuple[list[dict], list[str]]:
    items: list[dict] = []
    links: list[str] = []
    while url:
        response = await harness.client.get(url, headers=harness.auth(token_c))
        assert response.status_code == 200, response.json()
        items.extend(response.json()["data"])
        link = response.headers.get("link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        url = link[1 : link.index(">")]
        links.append(url)
    return items, links


async def test_paging_follows_link_to_the_end(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    # Published out of order: the interface must answer oldest first.
    for index in (3, 0, 4, 1, 2):
        harness.publish("cpo-1", "location", f"L{index}", location(f"L{index}", index))

    first = await harness.client.get("/ocpi/2.2.1/locations?limit=2", headers=harness.auth(token_c))
    assert first.headers["x-total-count"] == "5"
    assert first.headers["x-limit"] == "100"
    assert [item["id"] for item in first.json()["data"]] == ["L0", "L1"]

    items, links = await _crawl(harness, token_c, "/ocpi/2.2.1/locations?limit=2")
    assert [item["id"] for item in items] == ["L0", "L1", "L2", "L3", "L4"]
    assert len(links) == 2
    assert all(link.startswith(f"{PUBLIC_URL}/ocpi/2.2.1/locations?") for link in links)
    assert parse_qs(urlsplit(links[0]).query) == {"offset": ["2"], "limit": ["2"]}
    # Stored objects carry their owner party (filled in from the CPO's credentials).
    assert items[0]["country_code"] == "FR" and items[0]["party_id"] == "ABC"


async def test_date_filters_inclusive_from_exclusive_to_and_repeated_in_link(
    harness: Any, emsp: Any
) -> None:
    token_c = await harness.registered_cpo(emsp)
    for index in range(6):
        harness.publish("cpo-1", "location", f"L{index}", location(f"L{index}", index))
    query = "date_from=2024-05-01T10:01:00Z&date_to=2024-05-01T10:05:00Z&limit=2"
    first = await harness.client.get(
        f"/ocpi/2.2.1/locations?{query}", headers=harness.auth(token_c)
    )
    assert first.headers["x-total-count"] == "4"  # L1..L4: from inclusive, to exclusive
    link = first.headers["link"]
    params = parse_qs(urlsplit(link[1 : link.index(">")]).query)
    assert params == {
        "offset": ["2"],
        "limit": ["2"],
        "date_from": ["2024-05-01T10:01:00Z"],
        "date_to": ["2024-05-01T10:05:00Z"],
    }
    items, _ = await _crawl(harness, token_c, f"/ocpi/2.2.1/locations?{query}")
    assert [item["id"] for item in items] == ["L1", "L2", "L3", "L4"]


async def test_limit_is_capped_and_bad_parameters_are_2001(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    harness.publish("cpo-1", "location", "L0", location("L0", 0))
    big = await harness.client.get(
        "/ocpi/2.2.1/locations?limit=5000", headers=harness.auth(token_c)
    )
    assert big.headers["x-limit"] == "100"
    assert "link" not in big.headers
    for query in ("date_from=yesterday", "limit=abc", "offset=-1"):
        bad = await harness.client.get(
            f"/ocpi/2.2.1/locations?{query}", headers=harness.auth(token_c)
        )
        assert bad.json()["status_code"] == 2001, query


async def test_single_location_evse_connector_and_unknowns(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    harness.publish("cpo-1", "location", "L0", location("L0", 0))
    auth = harness.auth(token_c)
    loc = await harness.client.get("/ocpi/2.2.1/locations/L0", headers=auth)
    assert loc.json()["data"]["id"] == "L0"
    evse = await harness.client.get("/ocpi/2.2.1/locations/L0/L0-E1", headers=auth)
    assert evse.json()["data"]["uid"] == "L0-E1"
    connector = await harness.client.get("/ocpi/2.2.1/locations/L0/L0-E1/1", headers=auth)
    assert connector.json()["data"]["standard"] == "IEC_62196_T2"
    for path in (
        "/ocpi/2.2.1/locations/NOPE",
        "/ocpi/2.2.1/locations/L0/X",
        "/ocpi/2.2.1/locations/L0/L0-E1/9",
    ):
        missing = await harness.client.get(path, headers=auth)
        assert missing.status_code == 404, path
        assert missing.json()["status_code"] == 2003


async def test_modules_only_show_the_callers_cpo(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    harness.register("cpo-2", country_code="DE", party_id="XYZ")
    harness.publish(
        "cpo-1",
        "tariff",
        "T1",
        {"id": "T1", "currency": "EUR", "elements": [], "last_updated": "2024-05-01T09:00:00Z"},
    )
    harness.publish(
        "cpo-2",
        "tariff",
        "T2",
        {"id": "T2", "currency": "EUR", "elements": [], "last_updated": "2024-05-01T09:00:00Z"},
    )
    harness.publish("cpo-2", "session", "S2", session_body("S2"))
    harness.publish("cpo-1", "session", "S1", session_body("S1"))
    harness.publish("cpo-2", "cdr", "C2", {"id": "C2", "last_updated": "2024-05-01T12:00:00Z"})
    auth = harness.auth(token_c)
    tariffs = (await harness.client.get("/ocpi/2.2.1/tariffs", headers=auth)).json()["data"]
    assert [t["id"] for t in tariffs] == ["T1"]
    sessions = (await harness.client.get("/ocpi/2.2.1/sessions", headers=auth)).json()["data"]
    assert [s["id"] for s in sessions] == ["S1"]
    cdrs = await harness.client.get("/ocpi/2.2.1/cdrs", headers=auth)
    assert cdrs.json()["data"] == [] and cdrs.headers["x-total-count"] == "0"


async def test_routing_headers_on_functional_modules(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    response = await harness.client.get("/ocpi/2.2.1/locations", headers=harness.auth(token_c))
    assert response.headers["ocpi-from-country-code"] == "FR"
    assert response.headers["ocpi-from-party-id"] == "ABC"
    assert response.headers["ocpi-to-country-code"] == "NL"
    assert response.headers["ocpi-to-party-id"] == "EMS"
    versions = await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_c))
    assert "ocpi-from-party-id" not in versions.headers


async def test_211_shapes(harness: Any, emsp211: Any) -> None:
    token_c = await harness.registered_cpo(emsp211, "cpo-211", version="2.1.1")
    harness.publish("cpo-211", "location", "L0", location("L0", 0))
    harness.publish("cpo-211", "session", "S1", session_body("S1"))
    auth = {"Authorization": f"Token {token_c}"}
    loc = (await harness.client.get("/ocpi/2.1.1/locations", headers=auth)).json()["data"][0]
    assert loc["type"] == "ON_STREET"
    assert "country_code" not in loc and "publish" not in loc and "parking_type" not in loc
    evse = loc["evses"][0]
    assert evse["capabilities"] == ["RFID_READER", "REMOTE_START_STOP_CAPABLE"]
    connector = evse["connectors"][0]
    assert (connector["voltage"], connector["amperage"], connector["tariff_id"]) == (400, 32, "T1")
    assert "max_voltage" not in connector
    session = (await harness.client.get("/ocpi/2.1.1/sessions", headers=auth)).json()["data"][0]
    assert session["start_datetime"] == "2024-05-01T11:00:00Z"
    assert session["auth_id"] == "NL-EMS-C12345"
    assert session["auth_method"] == "AUTH_REQUEST"
    assert session["total_cost"] == 0.5
    assert session["location"]["id"] == "L0"
    assert session["location"]["evses"][0]["uid"] == "L0-E1"
    one = await harness.client.get("/ocpi/2.1.1/locations/L0/L0-E1/1", headers=auth)
    assert one.json()["data"]["voltage"] == 400
