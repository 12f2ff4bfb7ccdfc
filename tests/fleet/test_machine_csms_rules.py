"""The station machine's rules about its CSMS (fleet/machine/csms_rules.py), as pure checks:
each returns the `Observe` effect the driver records, or None where the CSMS did right."""

from __future__ import annotations

import pytest

from voltlab.fleet.machine import csms_rules
from voltlab.fleet.machine.control_messages import RemoteStartRequest, RemoteStopRequest
from voltlab.fleet.machine.csms_rules import CsmsMemory
from voltlab.fleet.machine.effects import Observe
from voltlab.fleet.machine.messages import BootAnswer, ClearCache
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.ocpp.findings import RULES


def _rule(observed: Observe | None) -> str | None:
    if observed is not None:
        assert observed.rule in RULES  # every slug the machine uses is in the catalog
    return None if observed is None else observed.rule


@pytest.mark.parametrize(
    ("status", "interval", "expected"),
    [
        ("Accepted", 300, None),
        ("Accepted", 0, "csms-boot-interval"),
        ("Accepted", -5, "csms-boot-interval"),
        ("Accepted", 86_401, "csms-boot-interval"),
        ("Pending", 0, None),  # 1.6 §4.2: zero lets the station choose
        ("Rejected", 0, None),
        ("Pending", 10**7, "csms-boot-interval"),
    ],
)
def test_boot_interval(status: str, interval: int, expected: str | None) -> None:
    observed = csms_rules.boot_interval(BootAnswer(status, interval, None))  # type: ignore[arg-type]
    assert _rule(observed) == expected
    if observed is not None:
        assert observed.subject == "answer" and str(interval) in observed.detail


def test_requests_before_acceptance() -> None:
    start = RemoteStartRequest(1, "TAG", None, None)
    stop = RemoteStopRequest(7)
    assert csms_rules.request_allowed("Accepted", start) is None
    assert csms_rules.request_allowed("Pending", ClearCache()) is None  # Pending: may configure
    assert _rule(csms_rules.request_allowed("Pending", start)) == "csms-call-before-accepted"
    assert _rule(csms_rules.request_allowed(None, stop)) == "csms-call-before-accepted"
    rejected = csms_rules.request_allowed("Rejected", ClearCache())
    assert _rule(rejected) == "csms-call-before-accepted" and rejected is not None
    assert rejected.subject == "request"


def test_a_transaction_id_given_twice_to_different_transactions() -> None:
    memory = CsmsMemory()
    assert csms_rules.transaction_id_given(memory, 41, local_id=1) is None
    assert csms_rules.transaction_id_given(memory, 41, local_id=1) is None  # same one again
    assert csms_rules.transaction_id_given(memory, 42, local_id=2) is None
    reused = csms_rules.transaction_id_given(memory, 41, local_id=3)
    assert _rule(reused) == "csms-transaction-id-reused"
    memory.clear()  # a new connection
    assert csms_rules.transaction_id_given(memory, 41, local_id=4) is None


def test_the_start_answer_contradicts_the_authorize_answer() -> None:
    memory = CsmsMemory()
    csms_rules.authorize_answered(memory, "TAG", IdTagInfo("Accepted"), now=100.0)
    observed = csms_rules.start_answered(memory, "TAG", IdTagInfo("Blocked"), now=101.0)
    assert _rule(observed) == "csms-id-token-contradiction"
    # Consumed: the next start of the tag without an Authorize is not compared.
    assert csms_rules.start_answered(memory, "TAG", IdTagInfo("Blocked"), now=102.0) is None
    # ConcurrentTx is what StartTransaction may add; the same answer is no contradiction.
    csms_rules.authorize_answered(memory, "TAG", IdTagInfo("Accepted"), now=200.0)
    assert csms_rules.start_answered(memory, "TAG", IdTagInfo("ConcurrentTx"), now=201.0) is None
    csms_rules.authorize_answered(memory, "TAG", IdTagInfo("Accepted", None, "P1"), now=300.0)
    answer = IdTagInfo("Accepted", None, "P2")
    assert _rule(csms_rules.start_answered(memory, "TAG", answer, now=301.0)) == (
        "csms-id-token-contradiction"
    )
    # An Authorize long before the start is another session.
    csms_rules.authorize_answered(memory, "TAG", IdTagInfo("Accepted"), now=400.0)
    late = 400.0 + csms_rules.SESSION_WINDOW + 1
    assert csms_rules.start_answered(memory, "TAG", IdTagInfo("Blocked"), now=late) is None
