"""ISO 15118 Plug & Charge sessions on the wire against the strict ocpp-rpc CSMS: 2.0.1 and 2.1
(C07), and 1.6 through the OCA application note's DataTransfer wrapping. The EV plugs in with
a contract of the V2G test PKI and no id tag; the CSMS's Authorize answer decides whether
energy flows. Every frame, the wrapped 2.0.1 payloads included, passes the peer's schemas."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from peers.ocpp_rpc_peer import OcppRpcPeer
from support import wait_until
from voltlab.fleet.hosting.commands import COMMANDS
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.ocpp.vocabulary.timestamps import parse_timestamp
from voltlab.pki.v2g import V2GTestPki

EMAID = "DE-VLT-C12345678-9"
EMAID_16 = "DEVLTC123456789"  # 1.6's idTag holds 20 characters


@pytest.fixture(scope="module")
def pki() -> V2GTestPki:
    return V2GTestPki.generate()


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str, version: str):
    spec = ChargerSpec(f"dep-{identity}", "org", identity, peer.url, version, "ac-22kw-2c")
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    await wait_until(lambda: len(peer.calls(identity, "StatusNotification")) >= 2)
    return runner


async def install_roots_2x(peer: OcppRpcPeer, identity: str, pki: V2GTestPki) -> None:
    for kind, root in (("V2GRootCertificate", pki.v2g_root), ("MORootCertificate", pki.mo_root)):
        answer = await peer.call(
            identity, "InstallCertificate", {"certificateType": kind, "certificate": root.cert_pem}
        )
        assert answer == {"status": "Accepted"}


async def plug(runner, chain_pem: str, **contract: Any) -> dict[str, Any]:
    event = {"connector_id": 1, "contract": {"certificate_chain": chain_pem, **contract}}
    return await COMMANDS["plug_connector"](runner, event)


def transaction_events(peer: OcppRpcPeer, identity: str) -> list[dict]:
    return peer.calls(identity, "TransactionEvent")


def register(event: dict) -> float:
    [value] = event["meterValue"]
    return next(
        float(s["value"])
        for s in value["sampledValue"]
        if s.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"
    )


def sample_time(event: dict) -> float:
    [value] = event["meterValue"]
    return parse_timestamp(value["timestamp"])


def expected_hash_data(pki: V2GTestPki, cert: x509.Certificate, issuer) -> dict[str, str]:
    """OCSPRequestDataType computed here, apart from the station's code: SHA-256 of the DER
    issuer name and of the issuer key's BIT STRING content, the serial in hex."""
    # An EC key's subjectPublicKey BIT STRING holds the uncompressed point.
    spki = issuer.cert.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": hashlib.sha256(cert.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": hashlib.sha256(spki).hexdigest(),
        "serialNumber": format(cert.serial_number, "x"),
        "responderURL": pki.ocsp_url,
    }


@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
async def test_a_pnc_session_the_csms_accepts_charges_from_plug_to_stop(
    runtime, pki, version
) -> None:
    identity = f"PNC-OK-{version[-3:]}"
    contract = pki.contract(EMAID)
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        await install_roots_2x(peer, identity, pki)
        result = await plug(runner, contract.chain_pem)
        assert result["plug_and_charge"] == {
            "emaid": EMAID,
            "decided_by": "csms",
            "authorization": "Accepted",
            "certificate_status": "Accepted",
            "contract_check": "Valid",
            "charging": True,
        }
        # Authorize: the eMAID as an eMAID token and the OCSP data of contract, MO sub-CA 2
        # and MO sub-CA 1 (C07.FR.02), not the certificate itself.
        [authorize] = peer.calls(identity, "Authorize")
        assert authorize["idToken"] == {"idToken": EMAID, "type": "eMAID"}
        assert "certificate" not in authorize
        assert authorize["iso15118CertificateHashData"] == [
            expected_hash_data(pki, contract.cert, pki.mo_sub_ca2),
            expected_hash_data(pki, pki.mo_sub_ca2.cert, pki.mo_sub_ca1),
            expected_hash_data(pki, pki.mo_sub_ca1.cert, pki.mo_root),
        ]
        started = transaction_events(peer, identity)[0]
        assert (started["eventType"], started["triggerReason"]) == ("Started", "Authorized")
        assert started["idToken"] == {"idToken": EMAID, "type": "eMAID"}
        tx_id = started["transactionInfo"]["transactionId"]
        # Ten simulated minutes of charging at the EV's 11 kW.
        now = runner.now()
        await wait_until(lambda: runner.now() > now + 600, timeout=20)
        await COMMANDS["stop_session"](runner, {"connector_id": 1})
        await wait_until(lambda: transaction_events(peer, identity)[-1]["eventType"] == "Ended")
        await peer.sync()
        events = [
            e
            for e in transaction_events(peer, identity)
            if e["transactionInfo"]["transactionId"] == tx_id
        ]
        assert any(e["transactionInfo"].get("chargingState") == "Charging" for e in events)
        ended = events[-1]
        assert register(ended) - register(started) > 1_000  # Wh on the meter
        # Between the periodic samples the register rose by the EV's 11 kW times the time.
        samples = [e for e in events if e["triggerReason"] == "MeterValuePeriodic"]
        first, last = samples[0], samples[-1]
        hours = (sample_time(last) - sample_time(first)) / 3600
        assert hours > 0.1
        assert register(last) - register(first) == pytest.approx(11_000 * hours, rel=0.02)
        assert peer.strict_failures == []


@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
async def test_a_revoked_contract_never_charges(runtime, pki, version) -> None:
    """idTokenInfo Accepted but certificateStatus CertificateRevoked: no transaction is
    started (TxStartPoint PowerPathClosed), no energy; the EV stays plugged (Occupied)."""
    identity = f"PNC-REV-{version[-3:]}"
    contract = pki.contract(EMAID)
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        await install_roots_2x(peer, identity, pki)
        await peer.set_certificate_status("CertificateRevoked", id_tag=EMAID)
        register_before = runner.station.connectors[1].register_wh
        result = await plug(runner, contract.chain_pem)
        assert result["plug_and_charge"]["certificate_status"] == "CertificateRevoked"
        assert result["plug_and_charge"]["charging"] is False
        assert result["transaction_id"] is None
        now = runner.now()
        await wait_until(lambda: runner.now() > now + 300, timeout=20)
        await peer.sync()
        assert len(peer.calls(identity, "Authorize")) == 1
        assert transaction_events(peer, identity) == []
        assert runner.station.connectors[1].register_wh == register_before
        assert runner.station.connectors[1].power_w == 0
        assert peer.calls(identity, "StatusNotification")[-1]["connectorStatus"] == "Occupied"
        assert peer.strict_failures == []


async def test_an_expired_contract_opened_by_the_cable_ends_without_energy(runtime, pki) -> None:
    """2.1 with TxStartPoint EVConnected: the cable opens the transaction; the CSMS answers the
    expired contract Expired / CertificateExpired, so it is never authorized, never charges,
    and ends with EVDisconnected when the cable goes, its register where it began."""
    version, identity = "ocpp2.1", "PNC-EXP-21"
    contract = pki.expired_contract(EMAID)
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        await install_roots_2x(peer, identity, pki)
        set_start = await peer.call(
            identity,
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "TxCtrlr"},
                        "variable": {"name": "TxStartPoint"},
                        "attributeValue": "EVConnected",
                    }
                ]
            },
        )
        assert set_start["setVariableResult"][0]["attributeStatus"] == "Accepted"
        await peer.set_auth(EMAID, "Expired")
        await peer.set_certificate_status("CertificateExpired", id_tag=EMAID)
        result = await plug(runner, contract.chain_pem)
        assert result["plug_and_charge"]["contract_check"] == "Expired"  # the station saw it too
        assert (
            result["plug_and_charge"]["authorization"],
            result["plug_and_charge"]["charging"],
        ) == (
            "Expired",
            False,
        )
        now = runner.now()
        await wait_until(lambda: runner.now() > now + 300, timeout=20)
        await COMMANDS["unplug_connector"](runner, {"connector_id": 1})
        await wait_until(lambda: transaction_events(peer, identity)[-1]["eventType"] == "Ended")
        await peer.sync()
        events = transaction_events(peer, identity)
        assert (events[0]["eventType"], events[0]["triggerReason"]) == ("Started", "CablePluggedIn")
        assert all("idToken" not in e for e in events)
        assert not any(e["transactionInfo"].get("chargingState") == "Charging" for e in events)
        ended = events[-1]
        assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
        assert register(ended) == register(events[0])
        assert peer.strict_failures == []


async def test_without_a_contract_root_the_chain_goes_to_the_csms_only_when_allowed(
    runtime, pki
) -> None:
    """No V2G or MO root installed: CentralContractValidationAllowed false (the default) means
    Invalid without asking (C07.FR.06 not allowed); true sends the chain itself."""
    version, identity = "ocpp2.0.1", "PNC-CENTRAL"
    contract = pki.contract(EMAID)
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        refused = await plug(runner, contract.chain_pem)
        assert refused["plug_and_charge"]["decided_by"] == "local"
        assert refused["plug_and_charge"]["contract_check"] == "IssuerNotFound"
        await COMMANDS["unplug_connector"](runner, {"connector_id": 1})
        allowed = await peer.call(
            identity,
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "ISO15118Ctrlr"},
                        "variable": {"name": "CentralContractValidationAllowed"},
                        "attributeValue": "true",
                    }
                ]
            },
        )
        assert allowed["setVariableResult"][0]["attributeStatus"] == "Accepted"
        result = await plug(runner, contract.chain_pem)
        assert result["plug_and_charge"]["charging"] is True
        [authorize] = peer.calls(identity, "Authorize")
        assert authorize["certificate"] == contract.chain_pem
        assert "iso15118CertificateHashData" not in authorize
        await COMMANDS["stop_session"](runner, {"connector_id": 1})
        await peer.sync()
        assert peer.strict_failures == []


async def test_a_contract_installation_is_passed_through_before_authorization(runtime, pki) -> None:
    """M01: the EV's EXI request goes to the CSMS unread (Get15118EVCertificate) and its
    answer back; an Install the CSMS fails leaves the EV without a contract: no Authorize."""
    version, identity = "ocpp2.0.1", "PNC-INSTALL"
    contract = pki.contract(EMAID)
    exi_request = "gAEjRWeJq83vEjRWeJq83v8="
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        await install_roots_2x(peer, identity, pki)
        installation = {"action": "Install", "exi_request": exi_request}
        failed = await plug(runner, contract.chain_pem, certificate_installation=installation)
        assert failed["plug_and_charge"]["authorization"] == "NoContract"
        assert peer.calls(identity, "Authorize") == []
        await COMMANDS["unplug_connector"](runner, {"connector_id": 1})
        await peer.set_response(
            "Get15118EVCertificate", {"status": "Accepted", "exiResponse": "c2lnbmVkIGNvbnRyYWN0"}
        )
        result = await plug(runner, contract.chain_pem, certificate_installation=installation)
        assert result["plug_and_charge"]["certificate_installation"] == {
            "status": "Accepted",
            "exi_response": "c2lnbmVkIGNvbnRyYWN0",
        }
        assert result["plug_and_charge"]["charging"] is True
        asked = peer.calls(identity, "Get15118EVCertificate")
        assert [a["exiRequest"] for a in asked] == [exi_request, exi_request]
        assert asked[0]["action"] == "Install"
        assert asked[0]["iso15118SchemaVersion"] == "urn:iso:15118:2:2013:MsgDef"
        await COMMANDS["stop_session"](runner, {"connector_id": 1})
        await peer.sync()
        assert peer.strict_failures == []


async def test_a_16_pnc_session_through_the_application_note(runtime, pki) -> None:
    """1.6: the roots installed with the note's wrapped InstallCertificate, Authorize wrapped in
    DataTransfer (never the plain Authorize), StartTransaction with the eMAID as idTag (§5),
    energy on the meter; a contract the CSMS refuses (Invalid) never starts."""
    version, identity = "ocpp1.6", "PNC-16"
    contract = pki.contract(EMAID_16)
    refused_contract = pki.contract("DEVLTC000000001")
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        for kind, root in (
            ("V2GRootCertificate", pki.v2g_root),
            ("MORootCertificate", pki.mo_root),
        ):
            answer = await peer.call_pnc(
                identity,
                "InstallCertificate",
                {"certificateType": kind, "certificate": root.cert_pem},
            )
            assert answer == {"status": "Accepted", "data": {"status": "Accepted"}}
        result = await plug(runner, contract.chain_pem)
        assert result["plug_and_charge"]["charging"] is True
        [authorize] = peer.calls(identity, "DataTransfer:Authorize")
        assert authorize["idToken"] == {"idToken": EMAID_16, "type": "eMAID"}
        assert authorize["iso15118CertificateHashData"][0] == expected_hash_data(
            pki, contract.cert, pki.mo_sub_ca2
        )
        assert peer.calls(identity, "Authorize") == []
        [start] = peer.calls(identity, "StartTransaction")
        assert start["idTag"] == EMAID_16
        now = runner.now()
        await wait_until(lambda: runner.now() > now + 600, timeout=20)
        await COMMANDS["stop_session"](runner, {"connector_id": 1})
        await wait_until(lambda: peer.calls(identity, "StopTransaction"))
        [stop] = peer.calls(identity, "StopTransaction")
        assert stop["meterStop"] - start["meterStart"] > 1_000  # Wh: 10 minutes at 11 kW
        # Another contract the CSMS answers Invalid: no StartTransaction, no energy.
        await peer.set_auth("DEVLTC000000001", "Invalid")
        register_before = runner.station.connectors[1].register_wh
        refused = await plug(runner, refused_contract.chain_pem)
        assert (
            refused["plug_and_charge"]["authorization"],
            refused["plug_and_charge"]["charging"],
        ) == (
            "Invalid",
            False,
        )
        now = runner.now()
        await wait_until(lambda: runner.now() > now + 300, timeout=20)
        await peer.sync()
        assert len(peer.calls(identity, "DataTransfer:Authorize")) == 2
        assert len(peer.calls(identity, "StartTransaction")) == 1
        assert runner.station.connectors[1].register_wh == register_before
        assert peer.calls(identity, "StatusNotification")[-1]["status"] == "Preparing"
        assert peer.strict_failures == []
