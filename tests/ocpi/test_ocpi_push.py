"""Pushes to the eMSP: EVSE status PATCH, session PUT/PATCH ordering, CDR POST, CommandResult,
retries, PATCH->PUT fallback, non-blocking callers, traffic counters, 2.1.1 shapes."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

STAMP = "2024-05-01T10:00:00Z"
LOCATION = {
    "id": "L0",
    "address": "1 Rue de Test",
    "city": "Paris",
    "country": "FRA",
    "coordinates": {"latitude": "48.856600", "longitude": "2.352200"},
    "parking_type": "PARKING_LOT",
    "time_zone": "Europe/Paris",
    "evses": [
        {
            "uid": "L0-E1",
            "status": "AVAILABLE",
            "connectors": [
                {
                    "id": "1",
                    "standard": "IEC_62196_T2",
                    "format": "SOCKET",
                    "power_type": "AC_3_PHASE",
                    "max_voltage": 400,
                    "max_amperage": 32,
                    "last_updated": STAMP,
                }
            ],
            "last_updated": STAMP,
        },
        {"uid": "L0-E2", "status": "AVAILABLE", "connectors": [], "last_updated": STAMP},
    ],
    "last_updated": STAMP,
}


def session(kwh: float, last_updated: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "id": "S1",
        "start_date_time": "2024-05-01T11:00:00Z",
        "kwh": kwh,
        "cdr_token": {
            "country_code": "NL",
            "party_id": "EMS",
            "uid": "RFID1",
            "type": "RFID",
            "contract_id": "NL-EMS-C1",
        },
        "auth_method": "WHITELIST",
        "location_id": "L0",
        "evse_uid": "L0-E1",
        "connector_id": "1",
        "currency": "EUR",
        "status": status,
        "last_updated": last_updated,
    }


CDR = {
    "id": "CDR1",
    "start_date_time": "2024-05-01T11:00:00Z",
    "end_date_time": "2024-05-01T12:00:00Z",
    "session_id": "S1",
    "cdr_token": {
        "country_code": "NL",
        "party_id": "EMS",
        "uid": "RFID1",
        "type": "RFID",
        "contract_id": "NL-EMS-C1",
    },
    "auth_method": "WHITELIST",
    "cdr_location": {
        "id": "L0",
        "address": "1 Rue de Test",
        "city": "Paris",
        "country": "FRA",
        "coordinates": {"latitude": "48.856600", "longitude": "2.352200"},
        "evse_uid": "L0-E1",
        "evse_id": "FR*ABC*E1",
        "connector_id": "1",
        "connector_standard": "IEC_62196_T2",
        "connector_format": "SOCKET",
        "connector_power_type": "AC_3_PHASE",
    },
    "currency": "EUR",
    "charging_periods": [
        {
            "start_date_time": "2024-05-01T11:00:00Z",
            "dimensions": [
                {"type": "ENERGY", "volume": 10.0},
                {"type": "STATE_OF_CHARGE", "volume": 80},
            ],
        }
    ],
    "total_cost": {"excl_vat": 4.0, "incl_vat": 4.8},
    "total_energy": 10.0,
    "total_time": 1.0,
    "last_updated": "2024-05-01T12:00:01Z",
}


def _b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


async def _registered(harness: Any, emsp: Any, version: str = "2.2.1") -> None:
    await harness.registered_cpo(emsp, version=version)
    harness.publish("cpo-1", "location", "L0", LOCATION)
    emsp.requests.clear()


async def test_evse_status_patch(harness: Any, emsp: Any) -> None:
    await _registered(harness, emsp)
    await harness.service.evse_status_changed(
        "cpo-1", "L0", "L0-E1", "CHARGING", "2024-05-01T12:00:00Z"
    )
    await harness.service.drain()
    [push] = emsp.module_requests()
    assert (push.method, push.path) == ("PATCH", "/emsp/2.2.1/locations/FR/ABC/L0/L0-E1")
    assert push.json == {"status": "CHARGING", "last_updated": "2024-05-01T12:00:00Z"}
    assert push.headers["authorization"] == f"Token {_b64(emsp.token_b)}"
    assert (push.headers["ocpi-from-country-code"], push.headers["ocpi-from-party-id"]) == (
        "FR",
        "ABC",
    )
    assert (push.headers["ocpi-to-country-code"], push.headers["ocpi-to-party-id"]) == ("NL", "EMS")
    assert push.headers["x-request-id"] and push.headers["x-correlation-id"]

    stored = harness.service.get_object("cpo-1", "location", "L0")
    assert stored["last_updated"] == "2024-05-01T12:00:00Z"
    evses = {evse["uid"]: evse for evse in stored["evses"]}
    assert evses["L0-E1"]["status"] == "CHARGING"
    assert evses["L0-E1"]["last_updated"] == "2024-05-01T12:00:00Z"
    assert evses["L0-E2"]["status"] == "AVAILABLE"
    assert harness.service.push_log("cpo-1")[0]["outcome"] == "succeeded"


async def test_session_put_then_patch_in_order_without_blocking(harness: Any, emsp: Any) -> None:
    await _registered(harness, emsp)
    emsp.put_delay = 0.4
    await harness.service.session_changed("cpo-1", session(0.0, "2024-05-01T11:00:00Z"))
    await harness.service.session_changed(
        "cpo-1",
        session(2.5, "2024-05-01T11:10:00Z"),
        patch={"kwh": 2.5, "last_updated": "2024-05-01T11:10:00Z"},
    )
    # The slow eMSP did not hold the caller: both calls returned before the PUT was answered.
    assert emsp.completed == []
    await harness.service.drain()
    assert emsp.completed == [
        "PUT /emsp/2.2.1/sessions/FR/ABC/S1",
        "PATCH /emsp/2.2.1/sessions/FR/ABC/S1",
    ]
    put, patch = emsp.module_requests()
    assert put.json["kwh"] == 0.0 and put.json["country_code"] == "FR"
    assert patch.json == {"kwh": 2.5, "last_updated": "2024-05-01T11:10:00Z"}
    assert harness.service.get_object("cpo-1", "session", "S1")["kwh"] == 2.5


async def test_cdr_post_and_command_result(harness: Any, emsp: Any) -> None:
    await _registered(harness, emsp)
    await harness.service.cdr_created("cpo-1", CDR)
    response_url = f"{emsp.base_url}/emsp/2.2.1/commands/START_SESSION/42"
    await harness.service.send_command_result("cpo-1", response_url, "ACCEPTED", "started")
    await harness.service.drain()
    by_path = {r.path: r for r in emsp.module_requests("POST")}
    cdr = by_path["/emsp/2.2.1/cdrs"]
    assert cdr.json["id"] == "CDR1" and cdr.json["party_id"] == "ABC"
    result = by_path["/emsp/2.2.1/commands/START_SESSION/42"]
    assert result.json == {"result": "ACCEPTED", "message": [{"language": "en", "text": "started"}]}
    assert result.headers["authorization"] == f"Token {_b64(emsp.token_b)}"
    assert result.headers["ocpi-to-party-id"] == "EMS"
    assert harness.service.get_object("cpo-1", "cdr", "CDR1")["total_energy"] == 10.0


async def test_retries_after_500(harness: Any, emsp: Any) -> None:
    await _registered(harness, emsp)
    emsp.fail_next = 2
    await harness.service.cdr_created("cpo-1", CDR)
    await harness.service.drain()
    attempts = emsp.module_requests("POST")
    assert len(attempts) == 3
    # Each attempt is a new request id; all share the push's correlation id.
    assert len({a.headers["x-request-id"] for a in attempts}) == 3
    assert len({a.headers["x-correlation-id"] for a in attempts}) == 1
    [entry] = harness.service.push_log("cpo-1")
    assert (entry["outcome"], entry["attempts"], entry["http_status"]) == ("succeeded", 3, 200)
    assert harness.service.traffic("cpo-1")["out"]["cdrs"] == {"200/1000": 1, "500/3000": 2}


async def test_exhausted_retries_then_patch_is_sent_as_put(harness: Any, emsp: Any) -> None:
    await _registered(harness, emsp)
    emsp.fail_next = 5
    await harness.service.session_changed("cpo-1", session(0.0, "2024-05-01T11:00:00Z"))
    await harness.service.session_changed(
        "cpo-1",
        session(1.0, "2024-05-01T11:05:00Z"),
        patch={"kwh": 1.0, "last_updated": "2024-05-01T11:05:00Z"},
    )
    await harness.service.drain()
    methods = [r.method for r in emsp.module_requests()]
    assert methods == ["PUT"] * 5 + ["PUT"]  # the PATCH became a full PUT
    assert emsp.module_requests()[-1].json["kwh"] == 1.0
    outcomes = [entry["outcome"] for entry in harness.service.push_log("cpo-1")]
    assert outcomes == ["succeeded", "failed"]  # newest first


async def test_refused_patch_falls_back_to_put(harness: Any, emsp: Any) -> None:
    await _registered(harness, emsp)
    emsp.status_override["PATCH"] = 404
    await harness.service.evse_status_changed(
        "cpo-1", "L0", "L0-E2", "OUTOFORDER", "2024-05-01T12:00:00Z"
    )
    await harness.service.drain()
    patch, put = emsp.module_requests()
    assert (patch.method, put.method) == ("PATCH", "PUT")
    assert put.path == "/emsp/2.2.1/locations/FR/ABC/L0"
    assert {e["uid"]: e["status"] for e in put.json["evses"]}["L0-E2"] == "OUTOFORDER"


async def test_unregistered_cpo_stores_but_does_not_push(harness: Any) -> None:
    harness.register()
    harness.publish("cpo-1", "location", "L0", LOCATION)
    await harness.service.evse_status_changed(
        "cpo-1", "L0", "L0-E1", "CHARGING", "2024-05-01T12:00:00Z"
    )
    await harness.service.drain()
    stored = harness.service.get_object("cpo-1", "location", "L0")
    assert stored["evses"][0]["status"] == "CHARGING"
    [entry] = harness.service.push_log("cpo-1")
    assert (entry["outcome"], entry["error"]) == ("skipped", "not registered")
    # Unknown location: logged and ignored, never raised at the runtime.
    await harness.service.evse_status_changed("cpo-1", "NOPE", "X", "CHARGING", STAMP)


async def test_incoming_traffic_is_counted(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    await harness.client.get("/ocpi/2.2.1/locations", headers=harness.auth(token_c))
    await harness.client.get("/ocpi/2.2.1/locations/NOPE", headers=harness.auth(token_c))
    traffic = harness.service.traffic("cpo-1")
    assert traffic["in"]["credentials"] == {"200/1000": 1}
    assert traffic["in"]["locations"] == {"200/1000": 1, "404/2003": 1}
    assert traffic["out"]["versions"] == {"200/1000": 1}
    assert traffic["out"]["details"] == {"200/1000": 1}
    assert traffic["totals"]["in"] == 3


async def test_pushes_211(harness: Any, emsp211: Any) -> None:
    await _registered(harness, emsp211, "2.1.1")
    await harness.service.session_changed("cpo-1", session(0.0, "2024-05-01T11:00:00Z"))
    await harness.service.session_changed(
        "cpo-1",
        session(3.0, "2024-05-01T11:20:00Z", status="COMPLETED"),
        patch={
            "kwh": 3.0,
            "status": "COMPLETED",
            "end_date_time": "2024-05-01T11:20:00Z",
            "last_updated": "2024-05-01T11:20:00Z",
        },
    )
    await harness.service.cdr_created("cpo-1", CDR)
    await harness.service.send_command_result(
        "cpo-1", f"{emsp211.base_url}/emsp/2.1.1/commands/STOP_SESSION/7", "FAILED", "nope"
    )
    await harness.service.drain()
    requests = {(r.method, r.path): r for r in emsp211.module_requests()}
    put = requests[("PUT", "/emsp/2.1.1/sessions/FR/ABC/S1")]
    assert put.headers["authorization"] == f"Token {emsp211.token_b}"
    assert "ocpi-from-party-id" not in put.headers
    assert put.json["start_datetime"] == "2024-05-01T11:00:00Z"
    assert put.json["auth_id"] == "NL-EMS-C1"
    assert put.json["location"]["type"] == "PARKING_LOT"
    assert [e["uid"] for e in put.json["location"]["evses"]] == ["L0-E1"]
    assert "country_code" not in put.json
    patch = requests[("PATCH", "/emsp/2.1.1/sessions/FR/ABC/S1")]
    assert patch.json == {
        "kwh": 3.0,
        "status": "COMPLETED",
        "end_datetime": "2024-05-01T11:20:00Z",
        "last_updated": "2024-05-01T11:20:00Z",
    }
    cdr = requests[("POST", "/emsp/2.1.1/cdrs")].json
    assert (cdr["stop_date_time"], cdr["total_cost"]) == ("2024-05-01T12:00:00Z", 4.0)
    assert cdr["charging_periods"][0]["dimensions"] == [{"type": "ENERGY", "volume": 10.0}]
    assert cdr["location"]["evses"][0]["connectors"][0]["voltage"] == 400
    result = requests[("POST", "/emsp/2.1.1/commands/STOP_SESSION/7")]
    assert result.json == {"result": "REJECTED"}  # 2.1.1 knows no FAILED


async def test_concurrent_evse_changes_of_one_location_both_survive(
    harness: Any, emsp: Any
) -> None:
    await _registered(harness, emsp)
    await asyncio.gather(
        harness.service.evse_status_changed(
            "cpo-1", "L0", "L0-E1", "CHARGING", "2024-05-01T12:00:00Z"
        ),
        harness.service.evse_status_changed(
            "cpo-1", "L0", "L0-E2", "BLOCKED", "2024-05-01T12:00:01Z"
        ),
    )
    await harness.service.drain()
    stored = harness.service.get_object("cpo-1", "location", "L0")
    assert {e["uid"]: e["status"] for e in stored["evses"]} == {
        "L0-E1": "CHARGING",
        "L0-E2": "BLOCKED",
    }
    assert stored["last_updated"] == "2024-05-01T12:00:01Z"
    assert [r.method for r in emsp.module_requests()] == ["PATCH", "PATCH"]


async def test_publish_rejects_bodies_it_cannot_page(harness: Any) -> None:
    harness.register()
    with pytest.raises(ValueError, match="last_updated"):
        harness.publish("cpo-1", "tariff", "T1", {"id": "T1", "currency": "EUR"})
    with pytest.raises(ValueError, match="differs"):
        harness.publish("cpo-1", "tariff", "T1", {"id": "T2", "last_updated": STAMP})
    with pytest.raises(ValueError, match="kind"):
        harness.publish("cpo-1", "charger", "X", {"last_updated": STAMP})
    # Offsets are normalised to UTC "Z"; owner party and publish are filled in.
    harness.publish(
        "cpo-1",
        "location",
        "L9",
        LOCATION | {"id": "L9", "last_updated": "2024-05-01T12:00:00+02:00"},
    )
    stored = harness.service.get_object("cpo-1", "location", "L9")
    assert stored["last_updated"] == "2024-05-01T10:00:00Z"
    assert (stored["country_code"], stored["party_id"], stored["publish"]) == ("FR", "ABC", True)


async def test_shutdown_grace_drops_pushes_to_an_emsp_that_stopped_answering(
    harness: Any, emsp: Any
) -> None:
    """A bounded drain (the server's SIGTERM path) cancels a push still retrying and logs it
    as dropped, instead of waiting out its retries or leaving it pending for ever."""
    await _registered(harness, emsp)
    emsp.put_delay = 3.0  # the eMSP holds the Session PUT without answering
    await harness.service.session_changed("cpo-1", session(0.0, "2024-05-01T11:00:00Z"))
    await asyncio.sleep(0.05)  # the PUT is in flight
    loop = asyncio.get_running_loop()
    started = loop.time()
    dropped = await harness.service.drain(timeout=0.3)
    elapsed = loop.time() - started
    assert dropped == 1
    assert elapsed < 5.0  # not the whole retry schedule; a generous bound for a busy machine
    [entry] = harness.service.push_log("cpo-1")
    assert entry["outcome"] == "dropped"
    assert "shut down" in entry["error"]
    assert await harness.service.drain(timeout=0.3) == 0  # nothing left
