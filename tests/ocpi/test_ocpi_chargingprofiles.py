"""ChargingProfiles receiver (2.2.1): immediate ChargingProfileResponse, the handler call, the
result POSTed to the eMSP's response_url with Token B; and the cpo bridge's OCPP mapping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from voltlab.cpo.roaming import session_id_for
from voltlab.cpo.smart_charging_bridge import (
    SessionTarget,
    SmartChargingBridge,
    active_profile_result,
    profile_id_for,
    set_profile_payload,
)

SESSION_ID = "S-1"
SESSION = {
    "id": SESSION_ID,
    "start_date_time": "2024-05-01T10:00:00Z",
    "kwh": 1.5,
    "cdr_token": {
        "country_code": "NL",
        "party_id": "EMS",
        "uid": "APP1",
        "type": "APP_USER",
        "contract_id": "NL-EMS-C1",
    },
    "auth_method": "COMMAND",
    "location_id": "L0",
    "evse_uid": "L0-E1",
    "connector_id": "1",
    "currency": "EUR",
    "status": "ACTIVE",
    "last_updated": "2024-05-01T10:05:00Z",
}
PROFILE = {
    "charging_rate_unit": "W",
    "min_charging_rate": 1000,
    "charging_profile_period": [
        {"start_period": 0, "limit": 11000},
        {"start_period": 1800, "limit": 7400.04},
    ],
}
ACTIVE_RESULT = {
    "result": "ACCEPTED",
    "profile": {
        "start_date_time": "2024-05-01T10:05:00Z",
        "charging_profile": {
            "charging_rate_unit": "W",
            "charging_profile_period": [{"start_period": 0, "limit": 11000.0}],
        },
    },
}


class ResultPostingHandler:
    """A fake cpo layer: records calls, answers at once and POSTs a result through the service."""

    def __init__(self, service: Any, answer: tuple[str, int] = ("ACCEPTED", 30)) -> None:
        self.service = service
        self.answer = answer
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    async def __call__(
        self, cpo_id: str, action: str, session_id: str, request: dict[str, Any]
    ) -> tuple[str, int]:
        self.calls.append((cpo_id, action, session_id, request))
        if self.answer[0] == "ACCEPTED":
            body = ACTIVE_RESULT if action == "GET" else {"result": "ACCEPTED"}
            await self.service.send_result(cpo_id, request["response_url"], body)
        return self.answer


async def _setup(harness: Any, emsp: Any) -> dict[str, str]:
    token_c = await harness.registered_cpo(emsp)
    harness.publish("cpo-1", "session", SESSION_ID, SESSION)
    return harness.auth(token_c)


def _result_url(emsp: Any, name: str) -> str:
    return f"{emsp.base_url}/emsp/2.2.1/chargingprofiles/{name}"


async def test_version_details_list_chargingprofiles_receiver(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    details = (await harness.client.get("/ocpi/2.2.1/details", headers=auth)).json()["data"]
    endpoints = {(e["identifier"], e["role"]): e["url"] for e in details["endpoints"]}
    assert endpoints[("chargingprofiles", "RECEIVER")].endswith("/ocpi/2.2.1/chargingprofiles")


async def test_get_active_profile_answers_and_posts_result(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    handler = ResultPostingHandler(harness.service)
    harness.service.set_charging_profile_handler(handler)
    url = _result_url(emsp, "get/1")
    response = await harness.client.get(
        f"/ocpi/2.2.1/chargingprofiles/{SESSION_ID}",
        params={"duration": "900", "response_url": url},
        headers=auth,
    )
    envelope = response.json()
    assert response.status_code == 200 and envelope["status_code"] == 1000, envelope
    assert envelope["data"] == {"result": "ACCEPTED", "timeout": 30}
    assert response.headers["OCPI-from-party-id"] == "ABC"
    assert handler.calls == [("cpo-1", "GET", SESSION_ID, {"duration": 900, "response_url": url})]
    await harness.service.drain()
    posts = [r for r in emsp.module_requests("POST") if r.path.endswith("/get/1")]
    assert len(posts) == 1
    assert posts[0].headers["authorization"] == emsp.expected_authorization()
    assert posts[0].json == ACTIVE_RESULT


async def test_put_profile_passes_profile_and_posts_result(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    handler = ResultPostingHandler(harness.service)
    harness.service.set_charging_profile_handler(handler)
    url = _result_url(emsp, "set/1")
    response = await harness.client.put(
        f"/ocpi/2.2.1/chargingprofiles/{SESSION_ID}",
        json={"charging_profile": PROFILE, "response_url": url},
        headers=auth,
    )
    assert response.json()["data"] == {"result": "ACCEPTED", "timeout": 30}
    assert handler.calls == [
        ("cpo-1", "SET", SESSION_ID, {"charging_profile": PROFILE, "response_url": url})
    ]
    await harness.service.drain()
    posts = [r for r in emsp.module_requests("POST") if r.path.endswith("/set/1")]
    assert [p.json for p in posts] == [{"result": "ACCEPTED"}]
    assert posts[0].headers["authorization"] == emsp.expected_authorization()


async def test_delete_profile_posts_clear_result(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    handler = ResultPostingHandler(harness.service)
    harness.service.set_charging_profile_handler(handler)
    url = _result_url(emsp, "clear/1")
    response = await harness.client.delete(
        f"/ocpi/2.2.1/chargingprofiles/{SESSION_ID}", params={"response_url": url}, headers=auth
    )
    assert response.json()["data"] == {"result": "ACCEPTED", "timeout": 30}
    assert handler.calls == [("cpo-1", "CLEAR", SESSION_ID, {"response_url": url})]
    await harness.service.drain()
    posts = [r for r in emsp.module_requests("POST") if r.path.endswith("/clear/1")]
    assert [p.json for p in posts] == [{"result": "ACCEPTED"}]


async def test_unknown_or_finished_session_is_unknown_session(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    harness.publish(
        "cpo-1", "session", "S-DONE", {**SESSION, "id": "S-DONE", "status": "COMPLETED"}
    )
    handler = ResultPostingHandler(harness.service)
    harness.service.set_charging_profile_handler(handler)
    for session_id in ("S-NOPE", "S-DONE"):
        response = await harness.client.put(
            f"/ocpi/2.2.1/chargingprofiles/{session_id}",
            json={"charging_profile": PROFILE, "response_url": _result_url(emsp, "x")},
            headers=auth,
        )
        envelope = response.json()
        assert envelope["status_code"] == 1000
        assert envelope["data"]["result"] == "UNKNOWN_SESSION"
    assert handler.calls == []
    # The handler may find the session unknown too (no transaction on the charger).
    harness.service.set_charging_profile_handler(
        ResultPostingHandler(harness.service, ("UNKNOWN_SESSION", 30))
    )
    response = await harness.client.delete(
        f"/ocpi/2.2.1/chargingprofiles/{SESSION_ID}",
        params={"response_url": _result_url(emsp, "y")},
        headers=auth,
    )
    assert response.json()["data"] == {"result": "UNKNOWN_SESSION", "timeout": 30}
    await harness.service.drain()
    assert not [r for r in emsp.module_requests("POST") if "/chargingprofiles/" in r.path]


async def test_no_handler_is_not_supported(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    response = await harness.client.get(
        f"/ocpi/2.2.1/chargingprofiles/{SESSION_ID}",
        params={"duration": "60", "response_url": _result_url(emsp, "g")},
        headers=auth,
    )
    assert response.json()["data"] == {"result": "NOT_SUPPORTED", "timeout": 0}


async def test_invalid_requests_answer_2001(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    handler = ResultPostingHandler(harness.service)
    harness.service.set_charging_profile_handler(handler)
    path = f"/ocpi/2.2.1/chargingprofiles/{SESSION_ID}"
    bad_profile = {"charging_rate_unit": "kW", "charging_profile_period": [{"limit": "x"}]}
    answers = [
        await harness.client.get(
            path, params={"response_url": _result_url(emsp, "g")}, headers=auth
        ),
        await harness.client.get(
            path, params={"duration": "abc", "response_url": _result_url(emsp, "g")}, headers=auth
        ),
        await harness.client.delete(path, params={"response_url": "not-a-url"}, headers=auth),
        await harness.client.put(
            path,
            json={"charging_profile": bad_profile, "response_url": _result_url(emsp, "s")},
            headers=auth,
        ),
        await harness.client.put(path, json={"response_url": _result_url(emsp, "s")}, headers=auth),
    ]
    for response in answers:
        assert response.status_code == 200
        assert response.json()["status_code"] == 2001, response.json()
    assert handler.calls == []


async def test_token_a_and_bad_tokens_answer_401(harness: Any, emsp: Any) -> None:
    token_a = harness.register()
    path = f"/ocpi/2.2.1/chargingprofiles/{SESSION_ID}"
    params = {"duration": "60", "response_url": _result_url(emsp, "g")}
    response = await harness.client.get(path, params=params, headers=harness.auth(token_a))
    assert response.status_code == 401
    assert response.json()["status_code"] == 2000
    await harness.handshake(token_a, emsp)
    response = await harness.client.get(path, params=params, headers=harness.auth(token_a))
    assert response.status_code == 401
    response = await harness.client.delete(path, params=params, headers={"Authorization": "x"})
    assert response.status_code == 401


# -- the cpo bridge's OCPP mapping, with fake services -------------------------------------------


@dataclass
class FakeTx:
    transaction_id: int
    station_transaction_id: str | None


class FakeCsms:
    def __init__(self, version: str | None, tx: FakeTx | None, answer: dict[str, Any]) -> None:
        self.version = version
        self.tx = tx
        self.answer = answer
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def find_transaction_by_connector(self, cpo_id: str, identity: str, connector: int) -> Any:
        return self.tx if (identity, connector) == ("CP1", 2) else None

    def link_version(self, cpo_id: str, identity: str) -> str | None:
        return self.version

    async def call(
        self, cpo_id: str, identity: str, action: str, payload: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        self.calls.append((identity, action, payload))
        return self.answer


class FakeOcpi:
    def __init__(self, sessions: dict[str, dict[str, Any]]) -> None:
        self.sessions = sessions
        self.results: list[tuple[str, str, dict[str, Any]]] = []

    def get_object(self, cpo_id: str, kind: str, object_id: str) -> dict[str, Any] | None:
        return self.sessions.get(object_id) if kind == "session" else None

    async def send_result(self, cpo_id: str, response_url: str, body: dict[str, Any]) -> None:
        self.results.append((cpo_id, response_url, body))

    def now(self) -> datetime:
        """The OCPI layer's one clock (OcpiService.now)."""
        return datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def _bridge(version: str, answer: dict[str, Any]) -> tuple[SmartChargingBridge, Any, str]:
    session_id = session_id_for("cpo-1", "CP1", 7)
    index = SimpleNamespace(station=lambda loc, evse: ("CP1", 2) if evse == "L0-E1" else None)
    services = SimpleNamespace(
        ocpi=FakeOcpi({session_id: {**SESSION, "id": session_id}}),
        roaming=SimpleNamespace(index=lambda cpo_id: index),
        csms=FakeCsms(version, FakeTx(7, "tx-abc" if version != "ocpp1.6" else None), answer),
    )
    bridge = SmartChargingBridge(services.ocpi, services.csms, services.roaming)  # type: ignore[arg-type]
    return bridge, services, session_id


async def test_bridge_sets_16_tx_profile_and_reports() -> None:
    bridge, services, session_id = _bridge("ocpp1.6", {"status": "Accepted"})
    request = {"charging_profile": PROFILE, "response_url": "http://e/r"}
    assert await bridge("cpo-1", "SET", session_id, request) == ("ACCEPTED", 30)
    await bridge.drain()
    [(identity, action, payload)] = services.csms.calls
    assert (identity, action) == ("CP1", "SetChargingProfile")
    assert payload == {
        "connectorId": 2,
        "csChargingProfiles": {
            "chargingProfileId": profile_id_for(session_id),
            "transactionId": 7,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 11000.0},
                    {"startPeriod": 1800, "limit": 7400.0},
                ],
                "minChargingRate": 1000.0,
            },
        },
    }
    assert services.ocpi.results == [("cpo-1", "http://e/r", {"result": "ACCEPTED"})]


async def test_bridge_unknown_session_and_clear_unknown() -> None:
    bridge, services, session_id = _bridge("ocpp2.0.1", {"status": "Unknown"})
    assert await bridge("cpo-1", "CLEAR", "S-OTHER", {"response_url": "http://e/r"}) == (
        "UNKNOWN_SESSION",
        30,
    )
    assert await bridge("cpo-1", "CLEAR", session_id, {"response_url": "http://e/r"}) == (
        "ACCEPTED",
        30,
    )
    await bridge.drain()
    assert services.csms.calls == [
        ("CP1", "ClearChargingProfile", {"chargingProfileId": profile_id_for(session_id)})
    ]
    assert services.ocpi.results == [("cpo-1", "http://e/r", {"result": "UNKNOWN"})]


async def test_bridge_get_composite_201() -> None:
    answer = {
        "status": "Accepted",
        "schedule": {
            "evseId": 2,
            "duration": 900,
            "scheduleStart": "2024-05-01T10:05:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        },
    }
    bridge, services, session_id = _bridge("ocpp2.0.1", answer)
    request = {"duration": 900, "response_url": "http://e/g"}
    assert await bridge("cpo-1", "GET", session_id, request) == ("ACCEPTED", 30)
    await bridge.drain()
    assert services.csms.calls == [("CP1", "GetCompositeSchedule", {"evseId": 2, "duration": 900})]
    assert services.ocpi.results[0][2] == {
        "result": "ACCEPTED",
        "profile": {
            "start_date_time": "2024-05-01T10:05:00Z",
            "charging_profile": {
                "start_date_time": "2024-05-01T10:05:00Z",
                "charging_rate_unit": "A",
                "charging_profile_period": [{"start_period": 0, "limit": 16.0}],
                "duration": 900,
            },
        },
    }


def test_set_payload_201_absolute_uses_station_transaction_id() -> None:
    target = SessionTarget("CP9", 1, 3, "tx-9", "ocpp2.0.1")
    profile = {**PROFILE, "start_date_time": "2024-05-01T12:00:00+02:00", "duration": 3600}
    payload = set_profile_payload(target, 42, profile)
    charging_profile = payload["chargingProfile"]
    assert payload["evseId"] == 1
    assert charging_profile["transactionId"] == "tx-9"
    assert charging_profile["chargingProfileKind"] == "Absolute"
    assert charging_profile["chargingProfilePurpose"] == "TxProfile"
    [schedule] = charging_profile["chargingSchedule"]
    assert schedule["id"] == 42 and schedule["duration"] == 3600
    assert schedule["startSchedule"] == "2024-05-01T10:00:00Z"


def test_rejected_composite_is_rejected() -> None:
    assert active_profile_result({"status": "Rejected"}, datetime.now(UTC)) == {
        "result": "REJECTED"
    }
