"""The rules about the eMSP as pure checks (ocpi/judging.py): what each one accepts and what it
reports, and that evidence never carries a credentials token."""

from __future__ import annotations

import base64
import json

from voltlab.ocpi.findings import RULES, evidence_body, evidence_headers, is_defined_status
from voltlab.ocpi.judging import PagingMemory, check_answer, check_request, check_roles

IDS = {"X-Request-ID": "r-1", "X-Correlation-ID": "c-1"}
ECHO = {"x-request-id": "r-1", "x-correlation-id": "c-1"}
OK = {"data": None, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}


def rules(found: list) -> list[str]:
    return [observation.rule for observation in found]


def test_a_good_answer_breaks_nothing() -> None:
    assert check_answer("2.2.1", IDS, 200, OK, ECHO) == []
    assert check_answer("2.2.1", IDS, 201, OK, ECHO) == []
    assert check_answer("2.2.1", IDS, 200, dict(OK, status_code=2001), ECHO) == []
    assert check_answer("2.2.1", IDS, 404, dict(OK, status_code=2003), ECHO) == []
    assert check_answer("2.2.1", IDS, 401, None, ECHO) == []
    assert check_answer("2.2.1", IDS, 503, None, ECHO) == []  # a server error: push rules
    assert check_answer("2.1.1", {}, 200, OK, {}) == []  # 2.1.1 has no request ids


def test_each_wrong_answer_breaks_one_rule() -> None:
    assert rules(check_answer("2.2.1", IDS, 200, {"ok": True}, ECHO)) == ["ocpi-envelope"]
    assert rules(check_answer("2.2.1", IDS, 200, None, ECHO)) == ["ocpi-envelope"]
    no_time = {"data": None, "status_code": 1000}
    assert rules(check_answer("2.2.1", IDS, 200, no_time, ECHO)) == ["ocpi-envelope"]
    odd = dict(OK, status_code=1234)
    assert rules(check_answer("2.2.1", IDS, 200, odd, ECHO)) == ["ocpi-status-code"]
    assert rules(check_answer("2.2.1", IDS, 422, dict(OK, status_code=2001), ECHO)) == [
        "ocpi-status-code"
    ]
    assert rules(check_answer("2.2.1", IDS, 500, OK, ECHO)) == ["ocpi-status-code"]
    lost = {"x-request-id": "r-1"}
    assert rules(check_answer("2.2.1", IDS, 200, OK, lost)) == ["ocpi-request-ids-not-echoed"]


def test_defined_status_codes() -> None:
    assert all(is_defined_status(c) for c in (1000, 1901, 2004, 2950, 3003, 4001, 4999))
    assert not any(is_defined_status(c) for c in (0, 200, 1001, 2005, 3004, 4004, 5000))


def test_requests() -> None:
    headers = {"x-request-id": "a", "x-correlation-id": "b"}
    roles = [{"role": "EMSP", "country_code": "NL", "party_id": "EXP"}]
    assert check_request("2.2.1", headers, True, "locations", roles, True) == []
    assert check_request("2.1.1", {}, False, "locations", roles, True) == []
    assert rules(check_request("2.2.1", headers, False, "locations", roles, True)) == [
        "ocpi-token-encoding"
    ]
    assert rules(check_request("2.1.1", {}, True, "locations", roles, True)) == [
        "ocpi-token-encoding"
    ]
    assert rules(check_request("2.2.1", {"x-request-id": "a"}, True, "x", roles, True)) == [
        "ocpi-request-ids-missing"
    ]
    ours = headers | {"ocpi-from-country-code": "nl", "ocpi-from-party-id": "exp"}
    assert check_request("2.2.1", ours, True, "tariffs", roles, True) == []
    theirs = headers | {"ocpi-from-country-code": "DE", "ocpi-from-party-id": "ZZZ"}
    assert rules(check_request("2.2.1", theirs, True, "tariffs", roles, True)) == [
        "ocpi-credentials-roles"
    ]
    assert check_request("2.2.1", theirs, True, "tariffs", roles, False) == []


def test_roles_unique() -> None:
    emsp = {"role": "EMSP", "country_code": "NL", "party_id": "EXP"}
    assert check_roles([emsp, dict(emsp, role="CPO"), dict(emsp, party_id="EXQ")]) == []
    assert rules(check_roles([emsp, dict(emsp, party_id="exp")])) == ["ocpi-credentials-roles"]


def test_paging_memory() -> None:
    memory = PagingMemory(size=2)
    assert memory.judge("cpo", "locations", (), 0, 1) == []  # nothing told yet
    memory.answered("cpo", "locations", (), 1, 100)
    assert memory.judge("cpo", "locations", (), 1, 1) == []  # the Link followed
    assert memory.judge("cpo", "locations", (), 0, 100) == []  # a fresh crawl
    assert rules(memory.judge("cpo", "locations", (), 3, None)) == ["ocpi-paging-ignores-link"]
    assert rules(memory.judge("cpo", "locations", (), 1, 500)) == [
        "ocpi-paging-limit-above-x-limit"
    ]
    other = (("date_from", "2026-01-01T00:00:00Z"),)
    assert memory.judge("cpo", "locations", other, 5, None) == []  # no Link for that query
    memory.answered("cpo", "locations", (), None, 100)  # the last page: nothing to skip
    assert memory.judge("cpo", "locations", (), 9, None) == []


def test_evidence_never_holds_a_token() -> None:
    token = "c_secret-token-value"
    shown = evidence_headers(
        [("Authorization", "Token " + base64.b64encode(token.encode()).decode()), ("X-A", "1")]
    )
    assert shown == {"authorization": "Token <redacted, Base64, 28 characters>"}
    assert "plain" in evidence_headers([("authorization", f"Token {token}")])["authorization"]
    body = evidence_body(json.dumps({"token": token, "roles": [{"token": token}], "uid": "u"}))
    assert token not in json.dumps(body) and body["uid"] == "u"
    assert evidence_body(b"not json") == "not json"
    assert evidence_body(b"[" * 100_000) == "[" * 8000


def test_rules_name_the_ocpi_sections() -> None:
    for rule in RULES.values():
        assert rule.spec_221.startswith("OCPI 2.2.1 ")
        assert rule.spec_ref("2.1.1").startswith("OCPI 2.1.1 ") or rule.spec_211 is None
        assert rule.severity in ("error", "warning", "info")
