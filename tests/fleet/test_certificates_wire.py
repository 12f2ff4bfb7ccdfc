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
