"""Commands receiver: validation, handler call, immediate CommandResponse."""

from __future__ import annotations

from typing import Any

LOCATION = {
    "id": "L0",
    "address": "1 Rue de Test",
    "city": "Paris",
    "country": "FRA",
    "coordinates": {"latitude": "48.856600", "longitude": "2.352200"},
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
                    "last_updated": "2024-05-01T10:00:00Z",
                }
            ],
            "last_updated": "2024-05-01T10:00:00Z",
        }
    ],
    "last_updated": "2024-05-01T10:00:00Z",
}
TOKEN = {
    "country_code": "NL",
    "party_id": "EMS",
    "uid": "APP1",
    "type": "APP_USER",
    "contract_id": "NL-EMS-C1",
    "issuer": "Fake eMSP",
    "valid": True,
    "whitelist": "NEVER",
    "last_updated": "2024-05-01T10:00:00Z",
}


class RecordingHandler:
    def __init__(self, answer: tuple[str, int, str | None] = ("ACCEPTED", 30, None)) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, dict]] = []

    async def __call__(self, cpo_id: str, command: str, body: dict) -> tuple[str, int, str | None]:
        self.calls.append((cpo_id, command, body))
        return self.answer


async def _setup(harness: Any, emsp: Any, version: str = "2.2.1") -> dict[str, str]:
    token_c = await harness.registered_cpo(emsp, version=version)
    harness.publish("cpo-1", "location", "L0", LOCATION)
    if version == "2.2.1":
        return harness.auth(token_c)
    return {"Authorization": f"Token {token_c}"}


async def test_start_session_calls_handler(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    handler = RecordingHandler(("ACCEPTED", 45, "on its way"))
    harness.service.set_command_handler(handler)
    body = {
        "response_url": f"{emsp.base_url}/emsp/2.2.1/commands/START_SESSION/42",
        "token": TOKEN,
        "location_id": "L0",
        "evse_uid": "L0-E1",
        "connector_id": "1",
    }
    response = await harness.client.post(
        "/ocpi/2.2.1/commands/START_SESSION", json=body, headers=auth
    )
    envelope = response.json()
    assert response.status_code == 200 and envelope["status_code"] == 1000, envelope
    assert envelope["data"] == {
        "result": "ACCEPTED",
        "timeout": 45,
        "message": [{"language": "en", "text": "on its way"}],
    }
    assert handler.calls == [("cpo-1", "START_SESSION", body)]
    assert response.headers["ocpi-from-party-id"] == "ABC"


async def test_other_commands_validated_and_forwarded(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    handler = RecordingHandler(("UNKNOWN_SESSION", 0, None))
    harness.service.set_command_handler(handler)
    url = f"{emsp.base_url}/emsp/2.2.1/commands/X/1"
    cases = {
        "STOP_SESSION": {"response_url": url, "session_id": "S1"},
        "RESERVE_NOW": {
            "response_url": url,
            "token": TOKEN,
            "expiry_date": "2024-05-01T12:00:00Z",
            "reservation_id": "R1",
            "location_id": "L0",
        },
        "CANCEL_RESERVATION": {"response_url": url, "reservation_id": "R1"},
        "UNLOCK_CONNECTOR": {
            "response_url": url,
            "location_id": "L0",
            "evse_uid": "L0-E1",
            "connector_id": "1",
        },
    }
    for command, body in cases.items():
        response = await harness.client.post(
            f"/ocpi/2.2.1/commands/{command}", json=body, headers=auth
        )
        assert response.json()["data"]["result"] == "UNKNOWN_SESSION", command
    assert [call[1] for call in handler.calls] == list(cases)


async def test_invalid_body_unknown_location_and_unknown_command(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    handler = RecordingHandler()
    harness.service.set_command_handler(handler)
    missing = await harness.client.post(
        "/ocpi/2.2.1/commands/START_SESSION",
        json={"token": TOKEN, "location_id": "L0"},
        headers=auth,
    )
    assert missing.json()["status_code"] == 2001
    assert any("response_url" in e for e in missing.json()["data"]["errors"])

    unknown_location = await harness.client.post(
        "/ocpi/2.2.1/commands/START_SESSION",
        json={"response_url": "http://127.0.0.1:1/r", "token": TOKEN, "location_id": "NOPE"},
        headers=auth,
    )
    body = unknown_location.json()
    assert body["status_code"] == 2003
    assert body["data"]["result"] == "REJECTED"

    unknown = await harness.client.post(
        "/ocpi/2.2.1/commands/SELF_DESTRUCT",
        json={"response_url": "http://127.0.0.1:1/r"},
        headers=auth,
    )
    assert unknown.json()["data"]["result"] == "NOT_SUPPORTED"
    assert handler.calls == []


async def test_no_handler_is_not_supported(harness: Any, emsp: Any) -> None:
    auth = await _setup(harness, emsp)
    response = await harness.client.post(
        "/ocpi/2.2.1/commands/STOP_SESSION",
        json={"response_url": "http://127.0.0.1:1/r", "session_id": "S1"},
        headers=auth,
    )
    assert response.json()["data"]["result"] == "NOT_SUPPORTED"


async def test_commands_211(harness: Any, emsp211: Any) -> None:
    auth = await _setup(harness, emsp211, "2.1.1")
    handler = RecordingHandler(("ACCEPTED", 30, "ok"))
    harness.service.set_command_handler(handler)
    token_211 = {
        "uid": "RFID1",
        "type": "RFID",
        "auth_id": "NL-EMS-C1",
        "issuer": "x",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2024-05-01T10:00:00Z",
    }
    response = await harness.client.post(
        "/ocpi/2.1.1/commands/START_SESSION",
        json={"response_url": "http://127.0.0.1:1/r", "token": token_211, "location_id": "L0"},
        headers=auth,
    )
    assert response.json()["data"] == {"result": "ACCEPTED"}  # 2.1.1 CommandResponse
    cancel = await harness.client.post(
        "/ocpi/2.1.1/commands/CANCEL_RESERVATION",
        json={"response_url": "http://127.0.0.1:1/r", "reservation_id": "1"},
        headers=auth,
    )
    assert cancel.json()["data"] == {"result": "NOT_SUPPORTED"}
    assert len(handler.calls) == 1
