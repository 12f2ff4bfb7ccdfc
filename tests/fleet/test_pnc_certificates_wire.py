"""The station's ISO 15118 certificate handling on the wire against the strict ocpp-rpc CSMS:
V2G and MO roots installed, listed by type and deleted; the V2G certificate asked for
(TriggerMessage SignV2GCertificate -> SignCertificate V2GCertificate), signed by the test PKI's
CPO sub-CA and installed (CertificateSigned), then the OCSP status of its chain fetched
(GetCertificateStatus, M06) and kept; a malformed request of each with its CALLERROR. The same
through the 1.6 application note's DataTransfer, whose unreadable requests are answered
Rejected (the DataTransfer itself is well-formed) and which a station with ISO15118PnCEnabled
false does not speak."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority
from support import wait_until
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.fleet.hosting.runtime_api import ChargerSpec
from voltlab.fleet.model.certificates import certificate_hash_data
from voltlab.pki.v2g import V2GTestPki


@pytest.fixture(scope="module")
def pki() -> V2GTestPki:
    return V2GTestPki.generate()


async def boot(runtime: FleetRuntime, peer: OcppRpcPeer, identity: str, version: str):
    spec = ChargerSpec(f"dep-{identity}", "org", identity, peer.url, version, "ac-22kw-2c")
    await runtime.start_charger(spec)
    runner = runtime.runner(f"dep-{identity}")
    await wait_until(lambda: runner.link.online)
    return runner


def ocsp_good(cert: x509.Certificate, issuer: CertAuthority) -> str:
    """A real OCSP response (RFC 6960) for `cert`, status good, signed by its issuer; base64."""
    now = dt.datetime.now(dt.UTC)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=issuer.cert,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now,
            next_update=now + dt.timedelta(days=7),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
        .sign(issuer.key, hashes.SHA256())
    )
    return base64.b64encode(response.public_bytes(serialization.Encoding.DER)).decode()


@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
async def test_v2g_and_mo_certificates_with_their_effect(runtime, pki, version) -> None:
    identity = f"PNC-CERT-{version[-3:]}"
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        store = runner.machine.context.certificates
        for kind, root in (
            ("V2GRootCertificate", pki.v2g_root),
            ("MORootCertificate", pki.mo_root),
        ):
            install = {"certificateType": kind, "certificate": root.cert_pem}
            assert await peer.call(identity, "InstallCertificate", install) == {
                "status": "Accepted"
            }
        mo_only = await peer.call(
            identity, "GetInstalledCertificateIds", {"certificateType": ["MORootCertificate"]}
        )
        assert mo_only["certificateHashDataChain"] == [
            {
                "certificateType": "MORootCertificate",
                "certificateHashData": certificate_hash_data(pki.mo_root.cert),
            }
        ]
        # The station's V2G certificate: triggered CSR, signed by CPO sub-CA 2.
        trigger = await peer.call(
            identity, "TriggerMessage", {"requestedMessage": "SignV2GCertificate"}
        )
        assert trigger == {"status": "Accepted"}
        sign = await peer.wait_for_call(identity, "SignCertificate")
        assert sign["certificateType"] == "V2GCertificate"
        # The CSMS's OCSP answers, real responses signed by each certificate's issuer.
        for cert, issuer in (
            (pki.cpo_sub_ca2.cert, pki.cpo_sub_ca1),
            (pki.cpo_sub_ca1.cert, pki.v2g_root),
        ):
            await peer.set_response_when(
                "GetCertificateStatus",
                {"ocspRequestData.serialNumber": format(cert.serial_number, "x")},
                {"status": "Accepted", "ocspResult": ocsp_good(cert, issuer)},
            )
        chain = pki.sign_secc_csr(sign["csr"])
        leaf = x509.load_pem_x509_certificates(chain.encode())[0]
        await peer.set_response_when(
            "GetCertificateStatus",
            {"ocspRequestData.serialNumber": format(leaf.serial_number, "x")},
            {"status": "Accepted", "ocspResult": ocsp_good(leaf, pki.cpo_sub_ca2)},
        )
        signed = await peer.call(
            identity,
            "CertificateSigned",
            {"certificateChain": chain, "certificateType": "V2GCertificate"},
        )
        assert signed == {"status": "Accepted"}
        assert store.client_credentials("V2GCertificate")[0] == chain
        # M06: the OCSP status of SECC, CPO sub-CA 2 and sub-CA 1, each kept.
        await wait_until(lambda: len(peer.calls(identity, "GetCertificateStatus")) == 3)
        asked = [c["ocspRequestData"] for c in peer.calls(identity, "GetCertificateStatus")]
        assert [a["serialNumber"] for a in asked] == [
            format(c.serial_number, "x") for c in (leaf, pki.cpo_sub_ca2.cert, pki.cpo_sub_ca1.cert)
        ]
        assert {a["responderURL"] for a in asked} == {pki.ocsp_url}
        await wait_until(lambda: len(store.ocsp) == 3)
        for data in asked:
            key = f"{data['issuerNameHash']}:{data['issuerKeyHash']}:{data['serialNumber']}"
            kept = ocsp.load_der_ocsp_response(base64.b64decode(store.ocsp[key]))
            assert kept.certificate_status == ocsp.OCSPCertStatus.GOOD
        listing = await peer.call(
            identity, "GetInstalledCertificateIds", {"certificateType": ["V2GCertificateChain"]}
        )
        [v2g] = listing["certificateHashDataChain"]
        assert v2g["certificateHashData"]["serialNumber"] == format(leaf.serial_number, "x")
        assert len(v2g["childCertificateHashData"]) == 2
        # A V2G chain of a CA the station does not trust as a V2G root: refused, reported.
        stranger = CertAuthority.generate("stranger").issue_sub_ca("stranger sub")
        refused = await peer.call(
            identity,
            "CertificateSigned",
            {
                "certificateChain": stranger.sign_csr(sign["csr"]),
                "certificateType": "V2GCertificate",
            },
        )
        assert refused == {"status": "Rejected"}
        await wait_until(lambda: peer.calls(identity, "SecurityEventNotification"))
        # DeleteCertificate of the MO root: gone from the MO listing.
        hash_data = mo_only["certificateHashDataChain"][0]["certificateHashData"]
        deleted = await peer.call(identity, "DeleteCertificate", {"certificateHashData": hash_data})
        assert deleted == {"status": "Accepted"}
        after = await peer.call(
            identity, "GetInstalledCertificateIds", {"certificateType": ["MORootCertificate"]}
        )
        assert after == {"status": "NotFound"}
        await peer.sync()
        assert peer.strict_failures == []


MALFORMED: list[tuple[str, Any, str]] = [
    (
        "CertificateSigned",
        {"certificateChain": "-----BEGIN CERTIFICATE-----", "certificateType": "Contract"},
        "PropertyConstraintViolation",
    ),
    (
        "InstallCertificate",
        {"certificateType": "MORootCertificate"},
        "OccurrenceConstraintViolation",
    ),
    (
        "GetInstalledCertificateIds",
        {"certificateType": "V2GRootCertificate"},
        "TypeConstraintViolation",
    ),
    (
        "DeleteCertificate",
        {
            "certificateHashData": {
                "hashAlgorithm": "MD5",
                "issuerNameHash": "00",
                "issuerKeyHash": "00",
                "serialNumber": "1",
            }
        },
        "PropertyConstraintViolation",
    ),
    (
        "TriggerMessage",
        {"requestedMessage": "SignV2GCertificate", "evse": {"id": "1"}},
        "TypeConstraintViolation",
    ),
]


@pytest.mark.csms_misbehaves  # it sends malformed requests on purpose
@pytest.mark.parametrize("version", ["ocpp2.0.1", "ocpp2.1"])
async def test_one_malformed_request_of_each_gets_the_right_callerror(runtime, version) -> None:
    identity = f"PNC-BAD-{version[-3:]}"
    async with OcppRpcPeer(protocols=(version,), strict=True) as peer:
        runner = await boot(runtime, peer, identity, version)
        for index, (action, payload, code) in enumerate(MALFORMED):
            message_id = f"bad-{index}"
            frame = await peer.call_raw(identity, message_id, action, payload)
            assert (frame[0], frame[2]) == (4, code), (action, frame)
        assert runner.machine.context.certificates.certificates() == []  # nothing changed


async def test_the_16_application_note_certificate_messages(runtime, pki) -> None:
    identity = "PNC-16-CERT"
    async with OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as peer:
        runner = await boot(runtime, peer, identity, "ocpp1.6")
        store = runner.machine.context.certificates
        install = {"certificateType": "V2GRootCertificate", "certificate": pki.v2g_root.cert_pem}
        installed = await peer.call_pnc(identity, "InstallCertificate", install)
        assert installed == {"status": "Accepted", "data": {"status": "Accepted"}}
        # The note is for ISO 15118 certificates: a CSMS root goes the whitepaper's way (§2.3).
        csms_root = {"certificateType": "CSMSRootCertificate", "certificate": pki.mo_root.cert_pem}
        assert (await peer.call_pnc(identity, "InstallCertificate", csms_root))["data"] == {
            "status": "Rejected"
        }
        listing = await peer.call_pnc(identity, "GetInstalledCertificateIds", {})
        assert [c["certificateType"] for c in listing["data"]["certificateHashDataChain"]] == [
            "V2GRootCertificate"
        ]
        # TriggerMessage (no fields, §6.9) -> the V2G CSR wrapped -> CertificateSigned wrapped.
        trigger = await peer.call_pnc(identity, "TriggerMessage", {})
        assert trigger == {"status": "Accepted", "data": {"status": "Accepted"}}
        sign = await peer.wait_for_call(identity, "DataTransfer:SignCertificate")
        assert sign["certificateType"] == "V2GCertificate"
        chain = pki.sign_secc_csr(sign["csr"])
        signed = await peer.call_pnc(identity, "CertificateSigned", {"certificateChain": chain})
        assert signed == {"status": "Accepted", "data": {"status": "Accepted"}}
        assert store.client_credentials("V2GCertificate")[0] == chain
        # M06 through the note: three wrapped GetCertificateStatus (the peer answers Failed).
        await wait_until(
            lambda: len(peer.calls(identity, "DataTransfer:GetCertificateStatus")) == 3
        )
        assert store.ocsp == {}
        root_hash = listing["data"]["certificateHashDataChain"][0]["certificateHashData"]
        deleted = await peer.call_pnc(
            identity, "DeleteCertificate", {"certificateHashData": root_hash}
        )
        assert deleted["data"] == {"status": "Accepted"}
        # Unreadable data: Rejected; a message the note does not let the CSMS send:
        # UnknownMessageId; the answers carry no data.
        assert await peer.call_pnc(identity, "InstallCertificate", raw_data="{not json") == {
            "status": "Rejected"
        }
        assert await peer.call_pnc(identity, "CertificateSigned", {"certificateChain": 5}) == {
            "status": "Rejected"
        }
        assert await peer.call_pnc(identity, "Authorize", {}) == {"status": "UnknownMessageId"}
        # ISO15118PnCEnabled false: the station does not speak the note.
        changed = await peer.call(
            identity, "ChangeConfiguration", {"key": "ISO15118PnCEnabled", "value": "false"}
        )
        assert changed == {"status": "Accepted"}
        assert await peer.call_pnc(identity, "GetInstalledCertificateIds", {}) == {
            "status": "UnknownVendorId"
        }
        await peer.sync()
        assert peer.strict_failures == []
