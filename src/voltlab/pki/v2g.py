"""An ISO 15118-2 test PKI for Plug & Charge, made on the spot (EC P-256, SHA-256):

    V2G root ── CPO sub-CA 1 ── CPO sub-CA 2 ── SECC (the station's V2G certificate)
    MO root ─── MO sub-CA 1 ─── MO sub-CA 2 ─── contract certificate (CN = eMAID)

Every certificate below a root names the OCSP responder `ocsp_url` (Authority Information
Access), so a station can build OCPP's OCSPRequestDataType for it. Typical use, in a test or by
hand against a CSMS under test:

    pki = V2GTestPki.generate()
    contract = pki.contract("DE-VLT-C12345678-9")         # PEM chain for plug-connector
    InstallCertificate(V2GRootCertificate, pki.v2g_root.cert_pem)
    InstallCertificate(MORootCertificate, pki.mo_root.cert_pem)
    CertificateSigned(V2GCertificate, pki.sign_secc_csr(csr))   # the station's CSR
    pki.write(directory)                                    # PEM files of it all

The eMAID follows ISO 15118-2 annex H (country, provider, instance, check digit; the dashes
are optional, 14-18 characters), which also fits 1.6's 20-character idTag."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from voltlab.clock import wall_now
from voltlab.fleet.model.contracts import OcspRequestData, ocsp_request_data
from voltlab.pki.authority import (
    V2G_LEAF_USAGE,
    CertAuthority,
    Issued,
    subject_name,
    write_private,
)

DEFAULT_OCSP_URL = "http://127.0.0.1:8080/ocsp"


@dataclass(frozen=True)
class Contract:
    """A contract certificate and its key; `chain_pem` is what an EV presents (contract, MO
    sub-CA 2, MO sub-CA 1: no root)."""

    emaid: str
    issued: Issued

    @property
    def chain_pem(self) -> str:
        return self.issued.chain_pem

    @property
    def cert(self) -> x509.Certificate:
        return self.issued.cert


@dataclass
class V2GTestPki:
    v2g_root: CertAuthority
    cpo_sub_ca1: CertAuthority
    cpo_sub_ca2: CertAuthority
    mo_root: CertAuthority
    mo_sub_ca1: CertAuthority
    mo_sub_ca2: CertAuthority
    ocsp_url: str = DEFAULT_OCSP_URL

    @classmethod
    def generate(cls, *, ocsp_url: str = DEFAULT_OCSP_URL, days: int = 365) -> V2GTestPki:
        v2g_root = CertAuthority.generate(
            "V2G Root CA", organization="VoltLab Test V2G", domain_component="V2G", days=days * 4
        )
        cpo1 = v2g_root.issue_sub_ca(
            "CPO Sub-CA 1", path_length=1, domain_component="V2G", ocsp_url=ocsp_url, days=days * 2
        )
        cpo2 = cpo1.issue_sub_ca(
            "CPO Sub-CA 2", path_length=0, domain_component="V2G", ocsp_url=ocsp_url, days=days
        )
        mo_root = CertAuthority.generate(
            "MO Root CA", organization="VoltLab Test MO", domain_component="MO", days=days * 4
        )
        mo1 = mo_root.issue_sub_ca(
            "MO Sub-CA 1", path_length=1, domain_component="MO", ocsp_url=ocsp_url, days=days * 2
        )
        mo2 = mo1.issue_sub_ca(
            "MO Sub-CA 2", path_length=0, domain_component="MO", ocsp_url=ocsp_url, days=days
        )
        return cls(v2g_root, cpo1, cpo2, mo_root, mo1, mo2, ocsp_url)

    def contract(
        self, emaid: str, *, days: int = 90, valid_from: dt.datetime | None = None
    ) -> Contract:
        """A contract certificate for `emaid` (its subject CN), issued by MO sub-CA 2. An
        expired one: `valid_from` well in the past and `days` short of now."""
        subject = subject_name(emaid, "VoltLab Test eMSP")
        issued = self.mo_sub_ca2.issue_leaf(
            subject, days=days, valid_from=valid_from, ocsp_url=self.ocsp_url
        )
        return Contract(emaid, issued)

    def expired_contract(self, emaid: str) -> Contract:
        """A contract that ended yesterday (valid for 30 days before that)."""
        start = wall_now() - dt.timedelta(days=31)
        return self.contract(emaid, days=30, valid_from=start)

    def secc(self, secc_id: str, *, days: int = 60) -> Issued:
        """A station's V2G (SECC) certificate with a fresh key, issued by CPO sub-CA 2; its
        chain_pem is what CertificateSigned carries (leaf, sub-CA 2, sub-CA 1)."""
        subject = subject_name(secc_id, "VoltLab Test CPO", "CPO")
        return self.cpo_sub_ca2.issue_leaf(subject, days=days, ocsp_url=self.ocsp_url)

    def sign_secc_csr(self, csr_pem: str, *, days: int = 60) -> str:
        """CertificateSigned for a station's V2G CSR: the SECC certificate for the CSR's key
        and subject, then CPO sub-CA 2 and sub-CA 1 (PEM, leaf first)."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        if not csr.is_signature_valid:
            raise ValueError("the CSR's signature does not verify")
        issued = self.cpo_sub_ca2.issue_leaf(
            csr.subject,
            public_key=csr.public_key(),
            usage=V2G_LEAF_USAGE,
            days=days,
            ocsp_url=self.ocsp_url,
        )
        return issued.chain_pem

    def contract_ocsp_data(self, contract: Contract) -> list[OcspRequestData]:
        """What a station sends for `contract` in Authorize.iso15118CertificateHashData:
        contract, MO sub-CA 2, MO sub-CA 1, each with its issuer's hashes."""
        chain = [contract.cert, self.mo_sub_ca2.cert, self.mo_sub_ca1.cert]
        issuers = [self.mo_sub_ca2.cert, self.mo_sub_ca1.cert, self.mo_root.cert]
        return [_required(ocsp_request_data(c, i)) for c, i in zip(chain, issuers, strict=True)]

    def write(self, directory: Path) -> dict[str, Path]:
        """The roots and sub-CAs as PEM files NAME.crt, their keys NAME.key (0600), in
        `directory`; returns the paths by NAME and NAME_key."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, ca in (
            ("v2g_root", self.v2g_root),
            ("cpo_sub_ca1", self.cpo_sub_ca1),
            ("cpo_sub_ca2", self.cpo_sub_ca2),
            ("mo_root", self.mo_root),
            ("mo_sub_ca1", self.mo_sub_ca1),
            ("mo_sub_ca2", self.mo_sub_ca2),
        ):
            paths[name] = ca.write(directory, name)
            paths[f"{name}_key"] = directory / f"{name}.key"
            write_private(paths[f"{name}_key"], ca.key_pem)
        return paths


def _required(data: OcspRequestData | None) -> OcspRequestData:
    if data is None:
        raise ValueError("a certificate of the test PKI names no OCSP responder")
    return data
