"""`voltlab cpo …` against a live server: the seed body from options, the provisioning shown to
READY, Token A that works, and the server's state after each command."""

from __future__ import annotations

import base64
import json
import re
import uuid

import httpx
import pytest

from .conftest import LiveServer

pytestmark = pytest.mark.xdist_group("cli")

CREATE = (
    "cpo",
    "create",
    "--template",
    "small-urban-ac",
    "--country-code",
    "FR",
    "--party-id",
    "ABC",
    "--name-prefix",
    "alice",
)


def test_templates_lists_the_gallery(voltlab, server: LiveServer) -> None:
    shown = voltlab("cpo", "templates")
    assert shown.exit_code == 0, shown.output
    gallery = server.get("/ocpi/cpos/templates").json()
    for template in gallery:
        assert template["slug"] in shown.stdout
    as_json = voltlab("cpo", "templates", "--json")
    assert json.loads(as_json.stdout) == gallery


def test_create_waits_to_ready_and_token_a_works(voltlab, server: LiveServer) -> None:
    # ttl in simulated seconds (the server runs 100x): a day is 864 s here, beyond the test.
    options = ("--seed", "7", "--ttl-seconds", "86400", "--locations", "1")
    created = voltlab(*CREATE, *options, "--chargers-per-location", "2", "--wait")
    assert created.exit_code == 0, created.output
    token = re.search(r"^Token A:\s+(\S+)$", created.stdout, re.MULTILINE)
    cpo_id = re.search(r"CPO (cpo-[0-9a-f]+) created", created.stdout)
    assert token and cpo_id, created.stdout
    cpo_id_text = cpo_id.group(1)
    assert f"CPO {cpo_id_text} is READY" in created.stdout
    # The provisioning steps as they ended, and the bar (stderr: stdout stays for data).
    assert "✓ wait_until_booted" in created.stderr and "READY" in created.stderr

    cpo = server.get(f"/ocpi/cpos/{cpo_id_text}").json()
    assert cpo["status"] == "READY"
    assert (cpo["seed"], len(cpo["location_ids"]), len(cpo["charger_ids"])) == (7, 1, 2)
    assert cpo["party"] == {"country_code": "FR", "party_id": "ABC", "role": "CPO"}

    # Token A, as printed, opens the CPO's OCPI versions endpoint (2.2.1: Base64 in the header).
    versions_url = re.search(r"^versions URL:\s+(\S+)$", created.stdout, re.MULTILINE)
    assert versions_url and versions_url.group(1) == cpo["ocpi_peer_url"]
    # As an eMSP keeping OCPI 2.2.1's rules asks (with the request ids the CPO judges).
    ids = {"X-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": str(uuid.uuid4())}
    encoded = base64.b64encode(token.group(1).encode()).decode()
    answer = httpx.get(versions_url.group(1), headers={"Authorization": f"Token {encoded}"} | ids)
    assert answer.status_code == 200, answer.text
    assert {v["version"] for v in answer.json()["data"]} >= {"2.2.1"}
    wrong = base64.b64encode(b"not-token-a").decode()
    refused = httpx.get(versions_url.group(1), headers={"Authorization": f"Token {wrong}"} | ids)
    assert refused.status_code == 401

    listed = voltlab("cpo", "ls", "--json")
    assert cpo_id_text in [item["cpo_id"] for item in json.loads(listed.stdout)["items"]]
    shown = voltlab("cpo", "show", cpo_id_text)
    assert shown.exit_code == 0 and "READY" in shown.stdout
    assert all(charger_id in shown.stdout for charger_id in cpo["charger_ids"])
    assert token.group(1) not in shown.stdout  # never shown again
    report = voltlab("cpo", "report", cpo_id_text, "--json")
    assert json.loads(report.stdout)["network"]["chargers"] == 2

    removed = voltlab("cpo", "rm", cpo_id_text, "--wait")
    assert removed.exit_code == 0, removed.output
    assert server.get(f"/ocpi/cpos/{cpo_id_text}/status").json()["status"] == "DESTROYED"
    for location_id in cpo["location_ids"]:
        assert server.get(f"/ocpp/locations/{location_id}").status_code == 404


def test_create_json_for_scripts(voltlab, server: LiveServer) -> None:
    created = voltlab(*CREATE, "--name-prefix", "scripted", "--ttl-seconds", "86400", "--json")
    assert created.exit_code == 0, created.output
    body = json.loads(created.stdout)
    assert body["token_a"] and body["status"] == "PENDING"
    assert server.get(body["status_url"]).status_code == 200
    assert voltlab("cpo", "rm", body["cpo_id"]).exit_code == 0


def test_bad_field_exits_3_naming_the_field_and_creates_nothing(
    voltlab, server: LiveServer
) -> None:
    before = len(server.get("/ocpi/cpos").json()["items"])
    refused = voltlab(*CREATE, "--party-id", "ABCD")
    assert refused.exit_code == 3, refused.output
    assert "HTTP 422" in refused.stderr
    assert "body.party_id (--party-id)" in refused.stderr
    assert refused.stdout == ""
    too_many = voltlab(*CREATE, "--locations", "999")
    assert too_many.exit_code == 3, too_many.output
    assert "body.overrides.locations (--locations)" in too_many.stderr
    assert len(server.get("/ocpi/cpos").json()["items"]) == before

    missing = voltlab("cpo", "show", "cpo-0000000000")
    assert missing.exit_code == 3
    assert "HTTP 404" in missing.stderr and "cpo-0000000000" in missing.stderr
