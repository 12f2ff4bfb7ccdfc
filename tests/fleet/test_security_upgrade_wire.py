"""The CSMS raises a station's security profile 1 -> 2 (OCPP 1.6 Security Whitepaper ed. 2,
A05; OCPP 2.0.1 A05 through a network profile), against the strict ocpp-rpc CSMS serving
plain ws:// and wss:// at once: refused before a CSMS root certificate is installed, accepted
after, and the station then comes back over TLS with Basic auth; a profile that cannot
connect falls back."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority
from support import wait_until
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.fleet.machine.flows.security_profile import FALLBACK_AFTER
from voltlab.store.finding_models import FindingRecord

PASSWORD = "sp-upgrade-secret-1"


@pytest.fixture(scope="module")
def ca() -> CertAuthority:
    return CertAuthority.generate("voltlab upgrade CSMS root")


@pytest.fixture
async def peer(ca, tmp_path):
    cert, key = ca.issue_server().write(tmp_path, "server")
    async with OcppRpcPeer(
        protocols=("ocpp1.6", "ocpp2.0.1"),
        tls_cert=cert,
        tls_key=key,
        plain_and_tls=True,
        basic_auth=f"*:{PASSWORD}",
    ) as csms:
        yield csms


async def start(runtime, peer, identity, version, tls_url):
    security = {"profile": 1, "password": PASSWORD, "tls_csms_url": tls_url}
    charger_id = f"dep-{identity}"
    spec = ChargerSpec(
        charger_id, "org", identity, peer.url, version, "ac-7kw-1c", security=security
    )
    await runtime.start_charger(spec)
    runner = runtime.runner(charger_id)
    await wait_until(lambda: runner.link.online)
    return runner


def findings(runtime, rule):
    with runtime.database.session() as session:
        rows = session.scalars(select(FindingRecord).where(FindingRecord.rule == rule)).all()
        return [(row.detail, row.evidence) for row in rows]


def change(value: str) -> dict:
    return {"key": "SecurityProfile", "value": value}


@pytest.mark.csms_misbehaves  # the profile is raised once before the root certificate
async def test_16_upgrade_refused_before_the_root_then_over_tls(runtime, peer, ca) -> None:
    runner = await start(runtime, peer, "SPU-16", "ocpp1.6", peer.tls_url)
    [first] = peer.events_of("connected", "SPU-16")
    assert "tls" not in first  # profile 1: plain ws:// with Basic auth
    # Before InstallCertificate: Rejected (A05.FR.03), no reconnect, and a finding with the
    # CSMS's ChangeConfiguration as evidence.
    assert (await peer.call("SPU-16", "ChangeConfiguration", change("2")))["status"] == "Rejected"
    early = peer.frames("SPU-16", direction="out", action="ChangeConfiguration")
    await wait_until(lambda: findings(runtime, "csms-security-profile-prerequisites"))
    [(detail, evidence)] = findings(runtime, "csms-security-profile-prerequisites")
    assert "CSMS root certificate" in detail
    assert early[-1][1] in str(evidence)
    root = {"certificateType": "CentralSystemRootCertificate", "certificate": ca.cert_pem}
    assert (await peer.call("SPU-16", "InstallCertificate", root))["status"] == "Accepted"
    # Not above the current profile: Rejected (A05.FR.01).
    assert (await peer.call("SPU-16", "ChangeConfiguration", change("1")))["status"] == "Rejected"
    assert len(peer.events_of("connected", "SPU-16")) == 1
    # Now Accepted (A05.FR.05); the station reports it, leaves and comes back over TLS.
    assert (await peer.call("SPU-16", "ChangeConfiguration", change("2")))["status"] == "Accepted"
    await wait_until(lambda: len(peer.events_of("connected", "SPU-16")) == 2)
    second = peer.events_of("connected", "SPU-16")[1]
    assert second["tls"]["protocol"] in ("TLSv1.2", "TLSv1.3")  # wss://, Basic auth checked
    [event] = peer.calls("SPU-16", "SecurityEventNotification")
    assert event["type"] == "ReconfigurationOfSecurityParameters"
    await wait_until(lambda: runner.link.online)
    assert len(peer.calls("SPU-16", "BootNotification")) == 2
    config = await peer.call("SPU-16", "GetConfiguration", {"key": ["SecurityProfile"]})
    assert config["configurationKey"][0]["value"] == "2"
    assert runner.machine.context.security.previous is None  # confirmed: no fallback
    assert len(findings(runtime, "csms-security-profile-prerequisites")) == 1
    await peer.sync()
    assert peer.strict_failures == []


async def test_16_upgrade_that_cannot_connect_falls_back(runtime, peer, ca) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"wss://127.0.0.1:{closed.getsockname()[1]}/ocpp"
    runner = await start(runtime, peer, "SPU-FB", "ocpp1.6", nowhere)
    root = {"certificateType": "CentralSystemRootCertificate", "certificate": ca.cert_pem}
    assert (await peer.call("SPU-FB", "InstallCertificate", root))["status"] == "Accepted"
    assert (await peer.call("SPU-FB", "ChangeConfiguration", change("2")))["status"] == "Accepted"
    await wait_until(lambda: not runner.link.online)
    await wait_until(lambda: runner.link.last_error is not None)
    # After FALLBACK_AFTER simulated seconds without a connection: profile 1 again (A05.FR.08).
    timeout = FALLBACK_AFTER / 100.0 + 10.0
    await wait_until(lambda: len(peer.events_of("connected", "SPU-FB")) == 2, timeout=timeout)
    await wait_until(lambda: runner.link.online)
    assert "tls" not in peer.events_of("connected", "SPU-FB")[1]
    assert runner.machine.context.security.profile == 1
    config = await peer.call("SPU-FB", "GetConfiguration", {"key": ["SecurityProfile"]})
    assert config["configurationKey"][0]["value"] == "1"


def network_profile(url: str, profile: int) -> dict:
    return {
        "ocppVersion": "OCPP20",
        "ocppTransport": "JSON",
        "ocppCsmsUrl": url,
        "messageTimeout": 30,
        "securityProfile": profile,
        "ocppInterface": "Wired0",
    }


def priority(value: str) -> dict:
    return {
        "setVariableData": [
            {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "NetworkConfigurationPriority"},
                "attributeValue": value,
            }
        ]
    }


@pytest.mark.csms_misbehaves  # the priority is set once before the root certificate
async def test_201_upgrade_through_a_network_profile(runtime, peer, ca) -> None:
    runner = await start(runtime, peer, "SPU-201", "ocpp2.0.1", None)
    ident = "SPU-201"
    slot2 = {"configurationSlot": 2, "connectionData": network_profile(peer.tls_url, 2)}
    assert (await peer.call(ident, "SetNetworkProfile", slot2))["status"] == "Accepted"
    # Below the active profile: Rejected, NoSecurityDowngrade (B09.FR.04).
    slot3 = {"configurationSlot": 3, "connectionData": network_profile(peer.url, 0)}
    refused = await peer.call(ident, "SetNetworkProfile", slot3)
    assert refused["status"] == "Rejected"
    assert refused["statusInfo"]["reasonCode"] == "NoSecurityDowngrade"
    # Before InstallCertificate: Rejected (A05.FR.02).
    [early] = (await peer.call(ident, "SetVariables", priority("2,1")))["setVariableResult"]
    assert early["attributeStatus"] == "Rejected"
    assert early["attributeStatusInfo"]["reasonCode"] == "NoCSMSRootCert"
    root = {"certificateType": "CSMSRootCertificate", "certificate": ca.cert_pem}
    assert (await peer.call(ident, "InstallCertificate", root))["status"] == "Accepted"
    [ok] = (await peer.call(ident, "SetVariables", priority("2,1")))["setVariableResult"]
    assert ok["attributeStatus"] == "Accepted"  # A05.FR.04
    await wait_until(lambda: peer.calls(ident, "SecurityEventNotification"))
    event = peer.calls(ident, "SecurityEventNotification")[0]
    assert event["type"] == "ReconfigurationOfSecurityParameters"
    assert len(peer.events_of("connected", ident)) == 1  # the Reset brings the new profile
    assert (await peer.call(ident, "Reset", {"type": "Immediate"}))["status"] == "Accepted"
    await wait_until(lambda: len(peer.events_of("connected", ident)) == 2)
    second = peer.events_of("connected", ident)[1]
    assert second["tls"]["protocol"] in ("TLSv1.2", "TLSv1.3")
    await wait_until(lambda: runner.link.online)
    read = {
        "getVariableData": [
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}
        ]
    }
    [value] = (await peer.call(ident, "GetVariables", read))["getVariableResult"]
    assert value["attributeValue"] == "2"
    rule = "csms-security-profile-prerequisites"
    await wait_until(lambda: len(findings(runtime, rule)) == 2)  # written behind
    details = [detail for detail, _ in findings(runtime, rule)]
    assert len(details) == 2 and any("A05.FR.02" in d for d in details), details
    await peer.sync()
    assert peer.strict_failures == []
