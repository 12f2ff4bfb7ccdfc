"""Tokens receiver (PUT/GET/PATCH, validation) and OcpiService.authorize_token."""

from __future__ import annotations

from typing import Any

URL = "/ocpi/2.2.1/tokens/NL/EMS/RFID1"


def token(uid: str = "RFID1", **overrides: Any) -> dict[str, Any]:
    body = {
        "country_code": "NL",
        "party_id": "EMS",
        "uid": uid,
        "type": "RFID",
        "contract_id": "NL-EMS-C12345",
        "issuer": "Fake eMSP",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2024-05-01T10:00:00Z",
    }
    body.update(overrides)
    return body


async def test_put_get_patch(harness: Any, emsp: Any) -> None:
    auth = harness.auth(await harness.registered_cpo(emsp))
    created = await harness.client.put(URL, json=token(), headers=auth)
    assert created.status_code == 201, created.json()
    assert created.json()["status_code"] == 1000
    replaced = await harness.client.put(URL, json=token(issuer="Other"), headers=auth)
    assert replaced.status_code == 200

    got = await harness.client.get(URL, headers=auth)
    assert got.json()["data"]["issuer"] == "Other"
    assert got.headers["ocpi-to-party-id"] == "EMS"

    patched = await harness.client.patch(
        URL, json={"valid": False, "last_updated": "2024-05-01T11:00:00Z"}, headers=auth
    )
    assert patched.json()["status_code"] == 1000, patched.json()
    got = (await harness.client.get(URL + "?type=RFID", headers=auth)).json()["data"]
    assert got["valid"] is False and got["contract_id"] == "NL-EMS-C12345"


async def test_token_validation_is_2001(harness: Any, emsp: Any) -> None:
    auth = harness.auth(await harness.registered_cpo(emsp))
    incomplete = {"uid": "RFID1", "type": "RFID", "valid": "yes"}
    body = (await harness.client.put(URL, json=incomplete, headers=auth)).json()
    assert body["status_code"] == 2001
    errors = " ".join(body["data"]["errors"])
    for field in ("contract_id", "issuer", "whitelist", "last_updated", "valid", "country_code"):
        assert field in errors
    mismatch = await harness.client.put(URL, json=token(uid="OTHER"), headers=auth)
    assert mismatch.json()["status_code"] == 2001
    bad_enum = await harness.client.put(URL, json=token(whitelist="SOMETIMES"), headers=auth)
    assert bad_enum.json()["status_code"] == 2001
    await harness.client.put(URL, json=token(), headers=auth)
    no_stamp = await harness.client.patch(URL, json={"valid": False}, headers=auth)
    assert no_stamp.json()["status_code"] == 2001
    bad_patch = await harness.client.patch(
        URL, json={"whitelist": "X", "last_updated": "2024-05-01T11:00:00Z"}, headers=auth
    )
    assert bad_patch.json()["status_code"] == 2001


async def test_unknown_tokens_are_404_2004(harness: Any, emsp: Any) -> None:
    auth = harness.auth(await harness.registered_cpo(emsp))
    got = await harness.client.get(URL, headers=auth)
    assert got.status_code == 404 and got.json()["status_code"] == 2004
    patched = await harness.client.patch(
        URL, json={"valid": False, "last_updated": "2024-05-01T11:00:00Z"}, headers=auth
    )
    assert patched.status_code == 404
    # Same uid, other type: a different token.
    await harness.client.put(URL, json=token(), headers=auth)
    other_type = await harness.client.get(URL + "?type=APP_USER", headers=auth)
    assert other_type.status_code == 404


async def test_app_user_token_by_type_parameter(harness: Any, emsp: Any) -> None:
    auth = harness.auth(await harness.registered_cpo(emsp))
    app_token = token(uid="APP1", type="APP_USER", whitelist="NEVER")
    url = "/ocpi/2.2.1/tokens/NL/EMS/APP1?type=APP_USER"
    assert (await harness.client.put(url, json=app_token, headers=auth)).status_code == 201
    assert (await harness.client.get(url, headers=auth)).json()["data"]["type"] == "APP_USER"


async def test_authorize_local_whitelist(harness: Any, emsp: Any) -> None:
    auth = harness.auth(await harness.registered_cpo(emsp))
    await harness.client.put(URL, json=token(whitelist="ALWAYS"), headers=auth)
    result = await harness.service.authorize_token("cpo-1", "RFID1")
    assert (result.allowed, result.source) == ("ALLOWED", "local")
    assert result.token["contract_id"] == "NL-EMS-C12345"
    await harness.client.patch(
        URL, json={"valid": False, "last_updated": "2024-05-01T12:00:00Z"}, headers=auth
    )
    blocked = await harness.service.authorize_token("cpo-1", "RFID1")
    assert (blocked.allowed, blocked.source) == ("BLOCKED", "local")
    assert not any(r.path.endswith("/authorize") for r in emsp.requests)


async def test_authorize_realtime(harness: Any, emsp: Any) -> None:
    auth = harness.auth(await harness.registered_cpo(emsp))
    await harness.client.put(URL, json=token(whitelist="NEVER"), headers=auth)
    emsp.authorize_answers["RFID1"] = {
        "allowed": "NO_CREDIT",
        "token": token(whitelist="NEVER"),
        "authorization_reference": "AUTH-1",
    }
    result = await harness.service.authorize_token(
        "cpo-1", "RFID1", location_id="L0", evse_uids=["L0-E1"]
    )
    assert (result.allowed, result.source, result.authorization_reference) == (
        "NO_CREDIT",
        "realtime",
        "AUTH-1",
    )
    call = next(r for r in emsp.requests if r.path.endswith("/authorize"))
    assert call.method == "POST"
    assert call.path == "/emsp/2.2.1/tokens/RFID1/authorize"
    assert call.query == "type=RFID"
    assert call.json == {"location_id": "L0", "evse_uids": ["L0-E1"]}
    assert call.headers["ocpi-from-party-id"] == "ABC"
    # Unknown at the eMSP -> NOT_ALLOWED from the real-time answer.
    unknown = await harness.service.authorize_token("cpo-1", "NOBODY")
    assert (unknown.allowed, unknown.source) == ("NOT_ALLOWED", "realtime")
    assert harness.service.traffic("cpo-1")["out"]["tokens"] == {"200/1000": 1, "404/2004": 1}


async def test_authorize_without_emsp(harness: Any, emsp: Any) -> None:
    harness.register("lonely")
    result = await harness.service.authorize_token("lonely", "RFID1")
    assert (result.allowed, result.token) == ("NOT_ALLOWED", None)

    # ALLOWED_OFFLINE falls back to the stored token when the eMSP does not answer.
    auth = harness.auth(await harness.registered_cpo(emsp))
    await harness.client.put(URL, json=token(whitelist="ALLOWED_OFFLINE"), headers=auth)
    emsp.fail_next = 1
    offline = await harness.service.authorize_token("cpo-1", "RFID1")
    assert (offline.allowed, offline.source) == ("ALLOWED", "local")
