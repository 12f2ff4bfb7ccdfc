"""OCPP 2.0.1 SetNetworkProfile (B09) and the migration it serves (B10, A05), on the wire: a
station on CSMS A (ws://, security profile 1) is given a network profile for CSMS B (wss://,
security profile 2, a Basic-auth password the CSMS sets with SetVariables), the priority that
puts B first and a Reset; it comes up at B over TLS with profile 2. Both CSMSs are the strict
ocpp-rpc peer, as separate processes. A profile that cannot connect falls back to the next one
after NetworkProfileConnectionAttempts."""

from __future__ import annotations

import socket

import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority
from support import wait_until
from voltlab.fleet.hosting.runtime_api import ChargerSpec

PASSWORD_A = "first-peer-secret-1"
PASSWORD_B = "second-peer-secret-2"


@pytest.fixture(scope="module")
def ca() -> CertAuthority:
    return CertAuthority.generate("voltlab migration CSMS root")


@pytest.fixture
async def csms_a():
    async with OcppRpcPeer(protocols=("ocpp2.0.1",), basic_auth=f"*:{PASSWORD_A}") as peer:
        yield peer


@pytest.fixture
async def csms_b(ca, tmp_path):
    cert, key = ca.issue_server().write(tmp_path, "server-b")
    async with OcppRpcPeer(
        protocols=("ocpp2.0.1",), tls_cert=cert, tls_key=key, basic_auth=f"*:{PASSWORD_B}"
    ) as peer:
        yield peer


async def start(runtime, csms: OcppRpcPeer, identity: str):
    security = {"profile": 1, "password": PASSWORD_A}
    spec = ChargerSpec(
        f"dep-{identity}", "org", identity, csms.url, "ocpp2.0.1", "ac-22kw-2c", security=security
    )
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    return runner


def variable(component: str, name: str, value: str | None = None) -> dict:
    item: dict = {"component": {"name": component}, "variable": {"name": name}}
    if value is not None:
        item["attributeValue"] = value
    return item


def profile(url: str, security: int) -> dict:
    return {
        "ocppVersion": "OCPP20",
        "ocppTransport": "JSON",
        "ocppCsmsUrl": url,
        "messageTimeout": 30,
        "securityProfile": security,
        "ocppInterface": "Wired0",
    }


async def read(csms: OcppRpcPeer, identity: str, *names: tuple[str, str]) -> list[str]:
    got = await csms.call(
        identity, "GetVariables", {"getVariableData": [variable(c, n) for c, n in names]}
    )
    return [result.get("attributeValue") for result in got["getVariableResult"]]


async def test_set_network_profile_and_reset_move_the_station_to_a_second_csms_over_tls(
    runtime, csms_a, csms_b, ca
) -> None:
    ident = "NP-MOVE"
    runner = await start(runtime, csms_a, ident)
    assert "tls" not in csms_a.events_of("connected", ident)[0]
    slot = {"configurationSlot": 2, "connectionData": profile(csms_b.url, 2)}
    assert await csms_a.call(ident, "SetNetworkProfile", slot) == {"status": "Accepted"}
    root = {"certificateType": "CSMSRootCertificate", "certificate": ca.cert_pem}
    assert (await csms_a.call(ident, "InstallCertificate", root))["status"] == "Accepted"
    password = variable("SecurityCtrlr", "BasicAuthPassword", PASSWORD_B)
    priority = variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1")
    answer = await csms_a.call(ident, "SetVariables", {"setVariableData": [password, priority]})
    assert [r["attributeStatus"] for r in answer["setVariableResult"]] == [
        "RebootRequired",  # the password is used from the next connection on
        "Accepted",  # A05.FR.04
    ]
    await wait_until(lambda: csms_a.calls(ident, "SecurityEventNotification"))
    assert csms_a.calls(ident, "SecurityEventNotification")[0]["type"] == (
        "ReconfigurationOfSecurityParameters"
    )
    assert csms_b.events_of("connected", ident) == []  # the Reset brings the new profile
    assert await csms_a.call(ident, "Reset", {"type": "Immediate"}) == {"status": "Accepted"}
    await wait_until(lambda: csms_b.events_of("connected", ident), timeout=15)
    [arrived] = csms_b.events_of("connected", ident)
    assert arrived["tls"]["protocol"] in ("TLSv1.2", "TLSv1.3")  # Basic auth B checked too
    await wait_until(lambda: runner.link.online)
    [boot] = csms_b.calls(ident, "BootNotification")
    assert boot["reason"] == "RemoteReset"
    values = await read(
        csms_b,
        ident,
        ("SecurityCtrlr", "SecurityProfile"),
        ("OCPPCommCtrlr", "ActiveNetworkProfile"),
        ("OCPPCommCtrlr", "NetworkConfigurationPriority"),
    )
    # Profile 2 confirmed: slot 1 (profile 1) left the priority (no way back below 2).
    assert values == ["2", "2", "2"]
    assert runner.live_state()["security_profile"] == 2
    assert len(csms_a.events_of("connected", ident)) == 1
    # Restarted from its stored snapshot, the station connects by the network profile it
    # chose: CSMS B over TLS, with the password the CSMS set, not A as configured.
    snapshot = runtime._snapshot_of(f"dep-{ident}")
    await runtime.remove_charger(f"dep-{ident}")
    restarted = ChargerSpec(
        "dep-np-again",
        "org",
        ident,
        csms_a.url,
        "ocpp2.0.1",
        "ac-22kw-2c",
        security={"profile": 1, "password": PASSWORD_A},
        state=snapshot,
    )
    await runtime.start_charger(restarted)
    again = runtime.runner("dep-np-again")
    await wait_until(lambda: again.link.online)
    assert len(csms_b.events_of("connected", ident)) == 2
    assert "tls" in csms_b.events_of("connected", ident)[1]
    assert len(csms_a.events_of("connected", ident)) == 1
    for csms in (csms_a, csms_b):
        await csms.sync()
        assert csms.strict_failures == []


async def test_a_profile_that_cannot_connect_falls_back_after_its_attempts(runtime, csms_a) -> None:
    ident = "NP-BACK"
    runner = await start(runtime, csms_a, ident)
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        nowhere = f"ws://127.0.0.1:{closed.getsockname()[1]}/ocpp"
    slot = {"configurationSlot": 3, "connectionData": profile(nowhere, 1)}
    assert await csms_a.call(ident, "SetNetworkProfile", slot) == {"status": "Accepted"}
    attempts = variable("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", "2")
    priority = variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "3,1")
    answer = await csms_a.call(ident, "SetVariables", {"setVariableData": [attempts, priority]})
    assert [r["attributeStatus"] for r in answer["setVariableResult"]] == ["Accepted", "Accepted"]
    assert await csms_a.call(ident, "Reset", {"type": "Immediate"}) == {"status": "Accepted"}
    # Two failed attempts on slot 3, then slot 1: back at CSMS A.
    await wait_until(lambda: len(csms_a.events_of("connected", ident)) == 2, timeout=15)
    await wait_until(lambda: runner.link.online)
    assert runner.link.last_error is None
    values = await read(
        csms_a,
        ident,
        ("OCPPCommCtrlr", "ActiveNetworkProfile"),
        ("OCPPCommCtrlr", "NetworkConfigurationPriority"),
        ("SecurityCtrlr", "SecurityProfile"),
    )
    assert values == ["1", "3,1", "1"]
    await csms_a.sync()
    assert csms_a.strict_failures == []
