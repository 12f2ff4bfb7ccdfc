"""Every library scenario passes against the strict ocpp-rpc CSMS doing what the scenario
requires, and fails, at the step and with the message it should, against the same CSMS
scripted to break what the scenario checks (tests/scenarios/csms_scripts.py)."""

from __future__ import annotations

import pytest

from fleet.test_maintenance_wire import FileServer
from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority
from voltlab.scenarios.library import library

from .conftest import Lab, explain, failed_step
from .csms_scripts import CASES, Case, environment

IDS = [case.scenario for case in CASES]
RUNS = [(case, version) for case in CASES for version in case.versions]
RUN_IDS = [f"{case.scenario}-{version}" for case, version in RUNS]


def test_every_library_scenario_has_a_case() -> None:
    ocpp = [name for name, scenario in library().items() if scenario.target == "ocpp"]
    assert sorted(IDS) == sorted(ocpp)
    assert len(IDS) >= 10
    # every version a scenario claims is tested, both ways
    for case in CASES:
        assert case.versions == [v for v in library()[case.scenario].versions if v != "ocpp2.1"]
    # the eMSP scenarios: tests/scenarios/test_emsp_scenarios.py
    assert sorted(set(library()) - set(ocpp)) == [
        "emsp-handshake-location-sync",
        "emsp-start-session-to-cdr",
    ]


@pytest.fixture
def ca(scenario_ca: CertAuthority) -> CertAuthority:
    return scenario_ca


async def _run(
    lab: Lab, peer: OcppRpcPeer, ca: CertAuthority, case: Case, version: str, breaking: bool
):
    with FileServer() as files:
        env = environment(files.base, ca, version, peer.tls_url)
        await (case.breaks[version].script if breaking else case.passing)(peer, env)
        params = {name: env[key] for name, key in case.params.items()}
        return await lab.run(case.scenario, version, params)


@pytest.mark.parametrize(("case", "version"), RUNS, ids=RUN_IDS)
async def test_passes_against_the_strict_peer(lab: Lab, peer, ca, case: Case, version) -> None:
    run = await _run(lab, peer, ca, case, version, breaking=False)
    assert run["verdict"] == "passed", explain(run)
    assert all(s["status"] == "passed" for s in run["steps"]), explain(run)
    # no false positives: the findings check ran, and a CSMS that keeps the rules has none
    assert run["findings_available"] is True
    assert [f for f in run["findings"] if f["severity"] in ("error", "warning")] == []
    # Every frame the strict CSMS saw was valid OCPP in both directions.
    assert not peer.strict_failures, peer.strict_failures
    if case.scenario == "security-profile-upgrade":  # the CSMS saw the station come over TLS
        [station] = run["chargers"]
        connections = peer.events_of("connected", station["identity"])
        assert [("tls" in c) for c in connections] == [False, True], connections


@pytest.mark.parametrize(("case", "version"), RUNS, ids=RUN_IDS)
async def test_fails_precisely_when_the_csms_breaks_it(
    lab: Lab, peer, ca, case: Case, version
) -> None:
    run = await _run(lab, peer, ca, case, version, breaking=True)
    expected = case.breaks[version]
    assert run["verdict"] == "failed", explain(run)
    step = failed_step(run)
    assert step["status"] == "failed", explain(run)
    assert step["name"] == expected.step, explain(run)
    assert expected.message in step["message"], explain(run)
    if case.scenario == "security-profile-upgrade":
        # The station refused the profile raised before the root (1.6 A05.FR.03: Rejected;
        # 2.0.1 A05.FR.02: the priority Rejected), stayed on ws://, and the run lists why.
        [station] = run["chargers"]
        raised = "ChangeConfiguration" if version == "ocpp1.6" else "SetVariables"
        [reaction] = [
            r for r in peer.events_of("reaction", station["identity"]) if r["method"] == raised
        ]
        result = reaction["result"]
        status = result.get("status") or result["setVariableResult"][0]["attributeStatus"]
        assert status == "Rejected", reaction
        assert ["tls" in c for c in peer.events_of("connected", station["identity"])] == [False]
        rules = [f["rule"] for f in run["findings"]]
        assert rules == ["csms-security-profile-prerequisites"], run["findings"]
