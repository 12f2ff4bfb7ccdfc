"""Credentials handshake A -> B -> C, token rules, versions/details, 2.1.1 registration."""

from __future__ import annotations

import base64
import re
from typing import Any

PUBLIC_URL = "http://voltlab.test"


def _b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


async def test_versions_and_details_with_token_a(harness: Any) -> None:
    token_a = harness.register()
    response = await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_a))
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", body["timestamp"])
    assert body["data"] == [{"version": "2.2.1", "url": f"{PUBLIC_URL}/ocpi/2.2.1/details"}]

    details = (
        await harness.client.get("/ocpi/2.2.1/details", headers=harness.auth(token_a))
    ).json()["data"]
    assert details["version"] == "2.2.1"
    roles = {(e["identifier"], e["role"]) for e in details["endpoints"]}
    for expected in [
        ("credentials", "RECEIVER"),
        ("locations", "SENDER"),
        ("tariffs", "SENDER"),
        ("sessions", "SENDER"),
        ("cdrs", "SENDER"),
        ("tokens", "RECEIVER"),
        ("commands", "RECEIVER"),
    ]:
        assert expected in roles
    urls = {e["identifier"]: e["url"] for e in details["endpoints"]}
    assert urls["locations"] == f"{PUBLIC_URL}/ocpi/2.2.1/locations"
    assert harness.service.versions_url("2.2.1") == f"{PUBLIC_URL}/ocpi/2.2.1/versions"


async def test_missing_unknown_and_malformed_tokens_answer_401(harness: Any) -> None:
    harness.register()
    for headers in ({}, {"Authorization": "Token nope"}, {"Authorization": "Bearer x"}):
        response = await harness.client.get("/ocpi/2.2.1/versions", headers=headers)
        assert response.status_code == 401
        assert response.json()["status_code"] == 2000


async def test_plain_token_accepted_and_token_a_limited_to_configuration(harness: Any) -> None:
    token_a = harness.register()
    plain = {"Authorization": f"Token {token_a}"}
    assert (await harness.client.get("/ocpi/2.2.1/versions", headers=plain)).status_code == 200
    assert (await harness.client.get("/ocpi/2.2.1/credentials", headers=plain)).status_code == 200
    response = await harness.client.get("/ocpi/2.2.1/locations", headers=plain)
    assert response.status_code == 401


async def test_request_and_correlation_ids_echoed_or_generated(harness: Any) -> None:
    token_a = harness.register()
    headers = harness.auth(token_a) | {"X-Request-ID": "req-1", "X-Correlation-ID": "cor-1"}
    response = await harness.client.get("/ocpi/2.2.1/versions", headers=headers)
    assert response.headers["x-request-id"] == "req-1"
    assert response.headers["x-correlation-id"] == "cor-1"
    response = await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_a))
    assert response.headers["x-request-id"] and response.headers["x-correlation-id"]


async def test_full_handshake_a_b_c(harness: Any, emsp: Any) -> None:
    token_a = harness.register()
    response = await harness.client.post(
        "/ocpi/2.2.1/credentials",
        json=harness.credentials_body(emsp),
        headers=harness.auth(token_a),
    )
    assert response.status_code == 200
    data = response.json()["data"]
    token_c = data["token"]
    assert token_c != token_a
    assert data["url"] == f"{PUBLIC_URL}/ocpi/2.2.1/versions"
    assert data["roles"] == [
        {
            "role": "CPO",
            "party_id": "ABC",
            "country_code": "FR",
            "business_details": {"name": "voltlab cpo-1"},
        }
    ]
    # We called the eMSP back: versions, then details, each with Token B Base64-encoded.
    assert [r.path for r in emsp.requests] == ["/emsp/versions", "/emsp/2.2.1/details"]
    for recorded in emsp.requests:
        assert recorded.headers["authorization"] == f"Token {_b64(emsp.token_b)}"
        assert recorded.headers["x-request-id"]

    state = harness.service.peer_state("cpo-1")
    assert state["registered"] is True
    assert state["peer_party"] == {"country_code": "NL", "party_id": "EMS"}
    assert any(e["identifier"] == "sessions" for e in state["endpoints"])
    assert state["registered_at"].endswith("Z")

    # Token A is spent; Token C opens everything.
    old = await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_a))
    assert old.status_code == 401
    assert (
        await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_c))
    ).status_code == 200
    assert (
        await harness.client.get("/ocpi/2.2.1/locations", headers=harness.auth(token_c))
    ).status_code == 200
    got = await harness.client.get("/ocpi/2.2.1/credentials", headers=harness.auth(token_c))
    assert got.json()["data"]["token"] == token_c


async def test_second_post_is_405(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    response = await harness.client.post(
        "/ocpi/2.2.1/credentials",
        json=harness.credentials_body(emsp),
        headers=harness.auth(token_c),
    )
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000


async def test_put_rotates_token_c(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    emsp.requests.clear()
    response = await harness.client.put(
        "/ocpi/2.2.1/credentials",
        json=harness.credentials_body(emsp),
        headers=harness.auth(token_c),
    )
    assert response.status_code == 200, response.json()
    new_c = response.json()["data"]["token"]
    assert new_c != token_c
    assert [r.path for r in emsp.requests] == ["/emsp/versions", "/emsp/2.2.1/details"]
    stale = await harness.client.get("/ocpi/2.2.1/locations", headers=harness.auth(token_c))
    assert stale.status_code == 401
    fresh = await harness.client.get("/ocpi/2.2.1/locations", headers=harness.auth(new_c))
    assert fresh.status_code == 200


async def test_put_and_delete_before_registration_are_405(harness: Any, emsp: Any) -> None:
    token_a = harness.register()
    put = await harness.client.put(
        "/ocpi/2.2.1/credentials",
        json=harness.credentials_body(emsp),
        headers=harness.auth(token_a),
    )
    assert put.status_code == 405
    delete = await harness.client.delete("/ocpi/2.2.1/credentials", headers=harness.auth(token_a))
    assert delete.status_code == 405


async def test_delete_unregisters_and_reopens_token_a(harness: Any, emsp: Any) -> None:
    token_a = harness.register()
    token_c = await harness.handshake(token_a, emsp)
    response = await harness.client.delete("/ocpi/2.2.1/credentials", headers=harness.auth(token_c))
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000
    assert harness.service.peer_state("cpo-1")["registered"] is False
    gone = await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_c))
    assert gone.status_code == 401
    # The eMSP can register again with the Token A it was given.
    again = await harness.handshake(token_a, emsp)
    assert again not in (token_a, token_c)


async def test_unreachable_versions_endpoint_is_3001(
    harness: Any, unreachable_versions_url: str
) -> None:
    token_a = harness.register()
    body = {
        "token": "some-token-b",
        "url": unreachable_versions_url,
        "roles": [
            {
                "role": "EMSP",
                "party_id": "EMS",
                "country_code": "NL",
                "business_details": {"name": "x"},
            }
        ],
    }
    response = await harness.client.post(
        "/ocpi/2.2.1/credentials", json=body, headers=harness.auth(token_a)
    )
    assert response.status_code == 200
    assert response.json()["status_code"] == 3001
    assert harness.service.peer_state("cpo-1")["registered"] is False
    # Nothing was consumed: Token A still works.
    assert (
        await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_a))
    ).status_code == 200


async def test_no_matching_version_is_3001(harness: Any, emsp_factory: Any) -> None:
    token_a = harness.register()
    async with emsp_factory(offered_versions=["2.1.1"]) as fake:
        response = await harness.client.post(
            "/ocpi/2.2.1/credentials",
            json=harness.credentials_body(fake),
            headers=harness.auth(token_a),
        )
    body = response.json()
    assert body["status_code"] == 3001
    assert "no matching version" in body["status_message"]


async def test_peer_expecting_plain_token_b(harness: Any, emsp_factory: Any) -> None:
    token_a = harness.register()
    async with emsp_factory(token_encoding="plain") as fake:
        await harness.handshake(token_a, fake)
        # First try Base64 (401), then plain.
        assert [r.headers["authorization"] for r in fake.requests[:2]] == [
            f"Token {_b64(fake.token_b)}",
            f"Token {fake.token_b}",
        ]


async def test_invalid_credentials_body_is_2001(harness: Any) -> None:
    token_a = harness.register()
    response = await harness.client.post(
        "/ocpi/2.2.1/credentials",
        json={"token": "has space", "url": "ftp://x", "roles": []},
        headers=harness.auth(token_a),
    )
    body = response.json()
    assert body["status_code"] == 2001
    assert any("roles" in error for error in body["data"]["errors"])
    bad_json = await harness.client.post(
        "/ocpi/2.2.1/credentials",
        content=b"{not json",
        headers=harness.auth(token_a) | {"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400


async def test_revoked_cpo_answers_401(harness: Any, emsp: Any) -> None:
    token_c = await harness.registered_cpo(emsp)
    with harness.database.session() as session:
        harness.service.revoke_cpo(session, "cpo-1")
    response = await harness.client.get("/ocpi/2.2.1/versions", headers=harness.auth(token_c))
    assert response.status_code == 401


async def test_other_version_paths_are_not_this_cpos(harness: Any) -> None:
    token_a = harness.register()
    # The versions list is version-agnostic; 2.1.1 details are not offered by a 2.2.1 CPO.
    listed = await harness.client.get("/ocpi/2.1.1/versions", headers=harness.auth(token_a))
    assert listed.json()["data"][0]["version"] == "2.2.1"
    details = await harness.client.get("/ocpi/2.1.1/details", headers=harness.auth(token_a))
    assert details.status_code == 404
    assert details.json()["status_code"] == 3002


async def test_handshake_211(harness: Any, emsp211: Any) -> None:
    token_a = harness.register("cpo-211", version="2.1.1")
    plain = {"Authorization": f"Token {token_a}"}
    versions = (await harness.client.get("/ocpi/2.1.1/versions", headers=plain)).json()
    assert versions["data"] == [{"version": "2.1.1", "url": f"{PUBLIC_URL}/ocpi/2.1.1/details"}]
    details = (await harness.client.get("/ocpi/2.1.1/details", headers=plain)).json()["data"]
    assert all("role" not in endpoint for endpoint in details["endpoints"])
    assert {e["identifier"] for e in details["endpoints"]} >= {
        "credentials",
        "locations",
        "tariffs",
        "sessions",
        "cdrs",
        "tokens",
        "commands",
    }

    response = await harness.client.post(
        "/ocpi/2.1.1/credentials",
        json=harness.credentials_body(emsp211, "2.1.1"),
        headers=plain,
    )
    body = response.json()
    assert body["status_code"] == 1000, body
    data = body["data"]
    assert set(data) == {"token", "url", "business_details", "party_id", "country_code"}
    assert data["url"] == f"{PUBLIC_URL}/ocpi/2.1.1/versions"
    assert (data["party_id"], data["country_code"]) == ("ABC", "FR")
    # 2.1.1 peers get Token B as is.
    assert [r.headers["authorization"] for r in emsp211.requests] == [
        f"Token {emsp211.token_b}"
    ] * 2
    state = harness.service.peer_state("cpo-211")
    assert state["peer_party"] == {"country_code": "NL", "party_id": "EMS"}
    token_c = data["token"]
    ok = await harness.client.get(
        "/ocpi/2.1.1/locations", headers={"Authorization": f"Token {token_c}"}
    )
    assert ok.status_code == 200
    assert "ocpi-from-party-id" not in ok.headers  # no routing headers in 2.1.1
