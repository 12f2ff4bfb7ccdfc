"""A throw-away certificate authority (tests, and users who need certificates a peer checks).

    ca = CertAuthority.generate("Test Root CA")
    server = ca.issue_server()                      # SAN 127.0.0.1 + localhost
    client = ca.issue_client("CS001")               # CN=CS001, clientAuth
    cert_path, key_path = server.write(tmp_path, "server")
    ca_path = ca.write(tmp_path)
    leaf_pem = ca.sign_csr(csr_pem)                 # SignCertificate -> CertificateSigned

Keys are EC P-256 unless ``rsa=True``; private key files are written with mode 0600.
Sub-CAs and leaves may name an OCSP responder (the Authority Information Access extension),
which is what an OCSP request, and so OCPP's OCSPRequestDataType, needs (`v2g.py`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from voltlab.clock import wall_now

# keyUsage of a CA (certificate and CRL signing) and of an ISO 15118 leaf (signing and ECDH).
CA_USAGE = ("digital_signature", "key_cert_sign", "crl_sign")
V2G_LEAF_USAGE = ("digital_signature", "key_agreement")


def _new_key(use_rsa: bool = False) -> Any:
    if use_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: Any) -> str:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def subject_name(
    common_name: str, organization: str | None = None, domain_component: str | None = None
) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if domain_component:  # ISO 15118-2 names the role of a certificate in DC (CPO, MO, ...)
        attrs.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, domain_component))
    return x509.Name(attrs)


def key_usage(*names: str) -> x509.KeyUsage:
    """A keyUsage extension with the named bits set (`CA_USAGE`, `V2G_LEAF_USAGE`)."""
    flags = {
        flag: flag in names
        for flag in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        )
    }
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


def ocsp_access(url: str) -> x509.AuthorityInformationAccess:
    """Where the OCSP responder for a certificate is (its Authority Information Access)."""
    return x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url)
            )
        ]
    )


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@dataclass
class Issued:
    """A certificate with its key; ``chain_pem`` is leaf first, then the issuing CAs (no root)."""

    cert: x509.Certificate
    key: Any
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def cert_pem(self) -> str:
        return _cert_pem(self.cert)

    @property
    def key_pem(self) -> str:
        return _key_pem(self.key)

    @property
    def chain_pem(self) -> str:
        return "".join(_cert_pem(c) for c in (self.cert, *self.chain))

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write ``name.crt`` (the chain) and ``name.key`` (0600); return their paths."""
        cert_path, key_path = Path(directory) / f"{name}.crt", Path(directory) / f"{name}.key"
        cert_path.write_text(self.chain_pem)
        write_private(key_path, self.key_pem)
        return cert_path, key_path


@dataclass
class CertAuthority:
    cert: x509.Certificate
    key: Any
    parents: tuple[x509.Certificate, ...] = ()  # issuing CAs above this one (sub-CA)

    @classmethod
    def generate(
        cls,
        common_name: str = "VoltLab Test Root CA",
        *,
        organization: str = "VoltLab Test",
        rsa: bool = False,
        days: int = 3650,
        domain_component: str | None = None,
    ) -> CertAuthority:
        key = _new_key(rsa)
        name = subject_name(common_name, organization, domain_component)
        now = wall_now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(key_usage(*CA_USAGE), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @property
    def cert_pem(self) -> str:
        return _cert_pem(self.cert)

    @property
    def key_pem(self) -> str:
        return _key_pem(self.key)

    def write(self, directory: Path, name: str = "ca") -> Path:
        path = Path(directory) / f"{name}.crt"
        path.write_text(self.cert_pem)
        return path

    def _builder(
        self,
        subject: x509.Name,
        public_key: Any,
        days: int,
        *,
        valid_from: dt.datetime | None = None,
        ocsp_url: str | None = None,
    ) -> x509.CertificateBuilder:
        start = valid_from or wall_now() - dt.timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if ocsp_url is not None:
            builder = builder.add_extension(ocsp_access(ocsp_url), critical=False)
        return builder

    def _leaf(
        self,
        subject: x509.Name,
        public_key: Any,
        usage: list[x509.ObjectIdentifier],
        days: int,
        san: list[x509.GeneralName] | None = None,
    ) -> x509.Certificate:
        builder = (
            self._builder(subject, public_key, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def issue_server(
        self,
        hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
        *,
        common_name: str = "voltlab-test-csms",
        rsa: bool = False,
        days: int = 30,
    ) -> Issued:
        san: list[x509.GeneralName] = []
        for host in hosts:
            try:
                san.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                san.append(x509.DNSName(host))
        key = _new_key(rsa)
        cert = self._leaf(
            subject_name(common_name),
            key.public_key(),
            [ExtendedKeyUsageOID.SERVER_AUTH],
            days,
            san,
        )
        return Issued(cert, key, self._chain_above_leaf())

    def issue_client(
        self, identity: str, *, organization: str = "VoltLab", rsa: bool = False, days: int = 30
    ) -> Issued:
        key = _new_key(rsa)
        cert = self._leaf(
            subject_name(identity, organization),
            key.public_key(),
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            days,
        )
        return Issued(cert, key, self._chain_above_leaf())

    def _chain_above_leaf(self) -> tuple[x509.Certificate, ...]:
        # a sub-CA's leaves carry the sub-CA (and further intermediates), never the root
        return (self.cert, *self.parents[:-1]) if self.parents else ()

    def sign_csr(self, csr_pem: str, *, days: int = 30) -> str:
        """Sign a CSR (client certificate); return the chain PEM: leaf, then intermediates."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        assert csr.is_signature_valid
        cert = self._leaf(csr.subject, csr.public_key(), [ExtendedKeyUsageOID.CLIENT_AUTH], days)
        return "".join(_cert_pem(c) for c in (cert, *self._chain_above_leaf()))

    def issue_sub_ca(
        self,
        common_name: str,
        *,
        days: int = 365,
        path_length: int = 0,
        organization: str = "VoltLab Test",
        domain_component: str | None = None,
        ocsp_url: str | None = None,
    ) -> CertAuthority:
        key = _new_key()
        subject = subject_name(common_name, organization, domain_component)
        cert = (
            self._builder(subject, key.public_key(), days, ocsp_url=ocsp_url)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(key_usage(*CA_USAGE), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(self.key, hashes.SHA256())
        )
        return CertAuthority(cert, key, (self.cert, *self.parents))

    def issue_leaf(
        self,
        subject: x509.Name,
        *,
        public_key: Any = None,
        usage: tuple[str, ...] = V2G_LEAF_USAGE,
        days: int = 365,
        valid_from: dt.datetime | None = None,
        ocsp_url: str | None = None,
    ) -> Issued:
        """A leaf for `subject` with the keyUsage bits `usage` (ISO 15118: signing and key
        agreement) and no extended key usage; a fresh key unless `public_key` (a CSR's) is
        given, in which case the Issued's key is None. `valid_from` may lie in the past, so
        `days` can end before now (an expired certificate)."""
        key = None if public_key is not None else _new_key()
        subject_key = public_key if key is None else key.public_key()
        cert = (
            self._builder(
                subject,
                subject_key,
                days,
                valid_from=valid_from,
                ocsp_url=ocsp_url,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage(*usage), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        return Issued(cert, key, self._chain_above_leaf())
