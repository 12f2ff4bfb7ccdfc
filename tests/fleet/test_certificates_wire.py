"""Security whitepaper (1.6) and 2.0.1 certificate management on the wire against the strict
ocpp-rpc CSMS: install / list / delete CA certificates, a triggered SignCertificate whose CSR
the test CA signs, CertificateSigned, and security events."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority
from support import wait_until
from voltlab.fleet.hosting.runtime_api import ChargerSpec


def sign_csr(ca: CertAuthority, csr_pem: str) -> str:
    import datetime as dt

    from cryptography.hazmat.primitives import hashes

    csr = x509.load_pem_x509_csr(csr_pem.encode())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca.cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca.key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode() + ca.cert_pem


@pytest.mark.parametrize("version", ["ocpp1.6", "ocpp2.0.1"])
async def test_certificate_lifecycle(runtime, version):
    ca = CertAuthority.generate("voltlab CSMS root")
    identity = f"CERT-{version[-3:]}"
    root_type = "CentralSystemRootCertificate" if version == "ocpp1.6" else "CSMSRootCertificate"
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        await runtime.start_charger(
            ChargerSpec("dep-cert", "org", identity, peer.url, version, "ac-7kw-1c")
        )
        runner = runtime.runner("dep-cert")
        await wait_until(lambda: runner.link.online)
        installed = await peer.call(
            identity,
            "InstallCertificate",
            {"certificateType": root_type, "certificate": ca.cert_pem},
        )
        assert installed["status"] == "Accepted"
        bad = await peer.call(
            identity,
            "InstallCertificate",
            {"certificateType": root_type, "certificate": "not a pem"},
        )
        assert bad["status"] == "Rejected"
        listing_request = (
            {"certificateType": root_type}
            if version == "ocpp1.6"
            else {"certificateType": [root_type]}
        )
        listing = await peer.call(identity, "GetInstalledCertificateIds", listing_request)
        assert listing["status"] == "Accepted"
        hash_data = (
            listing["certificateHashData"][0]
            if version == "ocpp1.6"
            else listing["certificateHashDataChain"][0]["certificateHashData"]
        )
        assert hash_data["serialNumber"] == format(ca.cert.serial_number, "x")
        # the station asks for its own certificate; the CSMS signs the CSR
        if version == "ocpp1.6":
            trigger = await peer.call(
                identity,
                "ExtendedTriggerMessage",
                {"requestedMessage": "SignChargePointCertificate"},
            )
        else:
            trigger = await peer.call(
                identity, "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}
            )
        assert trigger["status"] == "Accepted"
        csr = (await peer.wait_for_call(identity, "SignCertificate"))["csr"]
        subject = x509.load_pem_x509_csr(csr.encode()).subject
        assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == identity
        signed = await peer.call(
            identity, "CertificateSigned", {"certificateChain": sign_csr(ca, csr)}
        )
        assert signed["status"] == "Accepted"
        stranger = CertAuthority.generate("stranger")
        refused = await peer.call(
            identity,
            "CertificateSigned",
            {"certificateChain": stranger.issue_client(identity).cert_pem},
        )
        assert refused["status"] == "Rejected"
        await wait_until(lambda: peer.calls(identity, "SecurityEventNotification"))
        deleted = await peer.call(identity, "DeleteCertificate", {"certificateHashData": hash_data})
        assert deleted["status"] == "Accepted"
        again = await peer.call(identity, "DeleteCertificate", {"certificateHashData": hash_data})
        assert again["status"] == "NotFound"
        await peer.sync()
        assert peer.strict_failures == []


async def test_certificates_survive_a_restart_from_the_snapshot(runtime):
    """The machine's certificate store is stored with the station (under `maintenance`, where
    it always was) and a restarted station answers from it."""
    ca = CertAuthority.generate("voltlab CSMS root")
    identity = "CERT-RESTART"
    async with OcppRpcPeer(protocols=("ocpp2.0.1",), strict=True) as peer:
        spec = ChargerSpec("dep-cert-1", "org", identity, peer.url, "ocpp2.0.1", "ac-7kw-1c")
        await runtime.start_charger(spec)
        runner = runtime.runner("dep-cert-1")
        await wait_until(lambda: runner.link.online)
        install = {"certificateType": "CSMSRootCertificate", "certificate": ca.cert_pem}
        assert (await peer.call(identity, "InstallCertificate", install))["status"] == "Accepted"
        requested = await runner.maintenance.request_certificate("ChargingStationCertificate")
        assert requested.status == "Accepted"  # the peer's default answer
        csr = (await peer.wait_for_call(identity, "SignCertificate"))["csr"]
        chain = sign_csr(ca, csr)
        signed = await peer.call(identity, "CertificateSigned", {"certificateChain": chain})
        assert signed["status"] == "Accepted"
        snapshot = runtime._snapshot_of("dep-cert-1")
        assert snapshot["station"]["maintenance"]["certificates"]["station"]
        await runtime.remove_charger("dep-cert-1")

        restarted = ChargerSpec(
            "dep-cert-2", "org", identity, peer.url, "ocpp2.0.1", "ac-7kw-1c", state=snapshot
        )
        await runtime.start_charger(restarted)
        again = runtime.runner("dep-cert-2")
        await wait_until(lambda: again.link.online)
        listing = await peer.call(identity, "GetInstalledCertificateIds", {})
        assert [c["certificateType"] for c in listing["certificateHashDataChain"]] == [
            "CSMSRootCertificate"
        ]
        credentials = again.machine.context.certificates.client_credentials()
        assert credentials is not None and credentials[0] == chain
        await peer.sync()
        assert peer.strict_failures == []
