"""Findings about an eMSP under test, on the wire: the extrawest-ocpi eMSP peer in its
misbehaving mode (a script of violations, tests/peers/ocpi_emsp/misbehave.py) commits every
OCPI rule of voltlab/ocpi/findings.py at least once against a `voltlab serve`; each violation
is reported exactly once, with the HTTP exchange as evidence (Token redacted), through
`GET /ocpi/cpos/{id}/findings` and in the rows, and the findings survive a restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from peers.ocpi_emsp_peer import OcpiEmspPeer

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

CPO = {
    "template": "small-urban-ac",
    "country_code": "FR",
    "party_id": "ABC",
    "name_prefix": "judge",
    "role": "cpo",
    "ocpi_version": "2.2.1",
    "seed": 7,
    "ttl_seconds": 7200,
    "overrides": {"chargers_per_location": 1, "locations": 2},
}
# Which rule each violation of the script breaks.
RULE_OF = {
    "refuse_base64": "ocpi-token-encoding",
    "plain_token": "ocpi-token-encoding",
    "duplicate_role": "ocpi-credentials-roles",
    "foreign_routing": "ocpi-credentials-roles",
    "foreign_party_token": "ocpi-credentials-roles",
    "reject": None,  # push-rejected or command-result-failed, by path (below)
    "bad_envelope": "ocpi-envelope",
    "unknown_status": "ocpi-status-code",
    "http_error": "ocpi-status-code",
    "no_echo": "ocpi-request-ids-not-echoed",
    "omit_request_ids": "ocpi-request-ids-missing",
    "dead_endpoint": "ocpi-push-unreachable",
    "ignore_link": "ocpi-paging-ignores-link",
    "limit_above_x_limit": "ocpi-paging-limit-above-x-limit",
}
TOKEN = {
    "country_code": "NL",
    "party_id": "EXP",
    "uid": "JUDGE-TOKEN-1",
    "type": "RFID",
    "contract_id": "NL-EXP-C00000009-X",
    "issuer": "Expo eMSP",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-01-01T00:00:00Z",
}


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port(), emsp_misbehaves=True)
    yield server
    server.stop()


def expected_rule(violation: dict[str, Any]) -> str:
    kind = violation["violation"]
    if kind == "reject":
        return (
            "ocpi-command-result-failed"
            if "/commands/" in violation["path"]
            else ("ocpi-push-rejected")
        )
    rule = RULE_OF[kind]
    assert rule is not None
    return rule


async def all_findings(http: httpx.AsyncClient, cpo_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4}  # several pages: the paging is exercised too
        if cursor:
            params["cursor"] = cursor
        page = (await http.get(f"/ocpi/cpos/{cpo_id}/findings", params=params)).json()
        found += page["findings"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def wait_findings(
    http: httpx.AsyncClient, cpo_id: str, rule: str, count: int, timeout: float = 40.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        body = (await http.get(f"/ocpi/cpos/{cpo_id}/findings", params={"rule": rule})).json()
        if len(body["findings"]) >= count:
            return body["findings"]
        if time.monotonic() > deadline:
            raise AssertionError(f"{rule}: {len(body['findings'])} findings, expected {count}")
        await asyncio.sleep(0.2)


def one(findings: list[dict[str, Any]], rule: str, where: str) -> dict[str, Any]:
    """The one finding of `rule` whose evidence mentions `where` (a URL part or a header)."""
    matches = [f for f in findings if f["rule"] == rule and where in json.dumps(f["evidence"])]
    assert len(matches) == 1, (rule, where, matches)
    return matches[0]


async def test_each_ocpi_rule_reported_once_per_violation(serve: ServeProcess) -> None:
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=20) as http,
        OcpiEmspPeer(country_code="NL", party_id="EXP") as emsp,
    ):
        created = (await http.post("/ocpi/cpos", json=CPO)).json()
        cpo_id = created["cpo_id"]
        # The handshake: the eMSP's server refuses Token B Base64 encoded (takes it as is),
        # lists its EMSP role twice, and publishes its cdrs endpoint at a closed port.
        await emsp.misbehave(
            [
                {"violation": "refuse_base64", "path": "/ocpi/versions"},
                {"violation": "duplicate_role"},
                {"violation": "dead_endpoint", "module": "cdrs"},
            ]
        )
        await emsp.register(created["ocpi_peer_url"], created["token_a"])
        assert (await wait_ready(http, created["status_url"]))["status"] == "READY"

        # Its requests: each breaks one rule.
        await emsp.misbehave([{"violation": "ignore_link", "skip": 1}])
        pages = await emsp.get("locations", params={"limit": 1}, follow=True)
        assert [page["status"] for page in pages] == [200, 200]
        await emsp.misbehave([{"violation": "limit_above_x_limit"}])
        await emsp.get("locations")
        for kind in ("plain_token", "omit_request_ids", "foreign_routing"):
            await emsp.misbehave([{"violation": kind}])
            [page] = await emsp.get("tariffs")
            assert page["status"] == 200, page  # the CPO is tolerant; it judges
        await emsp.misbehave([{"violation": "foreign_party_token"}])
        pushed = await emsp.push_token(TOKEN)
        assert pushed["status"] in (200, 201), pushed

        # Its answers to the CPO's pushes and calls.
        await emsp.misbehave(
            [
                {"violation": "reject", "method": "POST", "path": "/commands/start-9"},
                {"violation": "reject", "method": "PUT", "path": "/sessions/"},
                {"violation": "bad_envelope", "method": "PATCH", "path": "/sessions/"},
                {"violation": "unknown_status", "method": "PATCH", "path": "/sessions/"},
                {"violation": "http_error", "method": "PATCH", "path": "/sessions/"},
                {"violation": "no_echo", "method": "PATCH", "path": "/sessions/"},
            ]
        )
        location = pages[0]["body"]["data"][0]
        evse = location["evses"][0]
        start = await emsp.command(
            "START_SESSION",
            {"token": TOKEN, "location_id": location["id"], "evse_uid": evse["uid"]},
            command_id="start-9",
        )
        assert start["body"]["data"]["result"] == "ACCEPTED", start
        await emsp.wait_for(
            lambda e: e.get("event") == "violated" and e.get("violation") == "no_echo",
            timeout=60,
        )
        put = emsp.received("/ocpi/emsp/2.2.1/sessions", "PUT")
        session_id = put[0]["body"]["id"]
        stop = await emsp.command("STOP_SESSION", {"session_id": session_id}, command_id="stop-9")
        assert stop["body"]["data"]["result"] == "ACCEPTED", stop
        await emsp.wait_for_command_result("stop-9", timeout=30)

        # The CDR push to the dead endpoint fails after its retries (about 8 s).
        await wait_findings(http, cpo_id, "ocpi-push-unreachable", 1)
        await emsp.sync()
        committed = emsp.violations()
        expected = Counter(expected_rule(v) for v in committed)
        found = await all_findings(http, cpo_id)
        assert Counter(f["rule"] for f in found) == expected, (committed, found)
        assert len(expected) == 11  # every OCPI rule, at least once

        # Counts, filters and the CPO object.
        body = (await http.get(f"/ocpi/cpos/{cpo_id}/findings")).json()
        assert body["counts"] == dict(sorted(expected.items()))
        cpo = (await http.get(f"/ocpi/cpos/{cpo_id}")).json()
        assert cpo["findings"] == len(found)
        infos = (await http.get(f"/ocpi/cpos/{cpo_id}/findings?severity=info")).json()
        assert [f["rule"] for f in infos["findings"]] == ["ocpi-paging-limit-above-x-limit"]
        assert (await http.get(f"/ocpi/cpos/{cpo_id}/findings?severity=bad")).status_code == 422
        assert (await http.get("/ocpi/cpos/cpo-nope/findings")).status_code == 404

        # Evidence: the exchange that shows each violation, and never a token.
        text = json.dumps(found)
        for secret in (created["token_a"], emsp.token_b, emsp.token_c):
            assert secret and secret not in text
        for finding in found:
            assert finding["cpo_id"] == cpo_id and finding["charger_id"] is None
            assert finding["spec_ref"].startswith("OCPI 2.2.1 ")
            assert finding["detail"].startswith("expected ")
        refused = one(found, "ocpi-token-encoding", '"direction": "out"')["evidence"]
        assert [(e["method"], e["status"]) for e in refused] == [("GET", 401), ("GET", 200)]
        assert refused[0]["url"] == emsp.versions_url
        assert "Base64" in refused[0]["request_headers"]["authorization"]
        assert "plain" in refused[1]["request_headers"]["authorization"]
        [plain] = one(found, "ocpi-token-encoding", '"direction": "in"')["evidence"]
        assert "/ocpi/2.2.1/tariffs" in plain["url"]
        assert "plain" in plain["request_headers"]["authorization"]
        [dup] = one(found, "ocpi-credentials-roles", "/credentials")["evidence"]
        assert dup["method"] == "POST" and len(dup["request_body"]["roles"]) == 2
        assert dup["request_body"]["token"] == "<redacted>"
        [routed] = one(found, "ocpi-credentials-roles", '"ocpi-from-party-id": "ZZZ"')["evidence"]
        assert routed["request_headers"]["ocpi-from-party-id"] == "ZZZ"
        [foreign] = one(found, "ocpi-credentials-roles", "/tokens/NL/ZZZ/")["evidence"]
        assert foreign["method"] == "PUT" and foreign["status"] == 201
        [missing] = one(found, "ocpi-request-ids-missing", "tariffs")["evidence"]
        assert "x-request-id" not in missing["request_headers"]
        [skipped] = one(found, "ocpi-paging-ignores-link", "offset=2")["evidence"]
        assert skipped["method"] == "GET" and "/ocpi/2.2.1/locations" in skipped["url"]
        [above] = one(found, "ocpi-paging-limit-above-x-limit", "limit=1000")["evidence"]
        assert above["response_headers"]["x-limit"] == "100"
        [rejected] = one(found, "ocpi-push-rejected", "/sessions/")["evidence"]
        assert (rejected["method"], rejected["status"]) == ("PUT", 200)
        assert rejected["body"]["status_code"] == 2001
        [result] = one(found, "ocpi-command-result-failed", "/commands/start-9")["evidence"]
        assert result["method"] == "POST" and result["body"]["status_code"] == 2001
        [envelope] = one(found, "ocpi-envelope", "/sessions/")["evidence"]
        assert envelope["method"] == "PATCH" and envelope["body"] == {"ok": True}
        [unknown] = one(found, "ocpi-status-code", '"status_code": 1234')["evidence"]
        assert unknown["status"] == 200
        [http_error] = one(found, "ocpi-status-code", '"status": 422')["evidence"]
        assert http_error["method"] == "PATCH"
        [unechoed] = one(found, "ocpi-request-ids-not-echoed", "/sessions/")["evidence"]
        assert "x-request-id" in unechoed["request_headers"]
        assert "x-request-id" not in unechoed["response_headers"]
        [dead] = one(found, "ocpi-push-unreachable", "/cdrs")["evidence"]
        assert dead["method"] == "POST" and dead["status"] is None and dead["error"]

    # The rows, and a restart loses none.
    serve.stop()
    rows = serve.emsp_findings()
    assert Counter(row[0] for row in rows) == expected
    serve.start()
    await serve.wait_healthy()
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=20) as http:
        again = await all_findings(http, cpo_id)
    assert [f["id"] for f in again] == [f["id"] for f in found]
