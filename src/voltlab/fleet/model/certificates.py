"""The certificates of one virtual station (1.6 security whitepaper, 2.0.1 block A and M),
free of I/O and of any clock: the station machine decides with it.

- `CertificateStore`: the CA certificates a CSMS installs (InstallCertificate,
  GetInstalledCertificateIds, DeleteCertificate) and the station's own key pairs and signed
  certificates (SignCertificate / CertificateSigned).
- `make_csr`: a fresh key pair and its CSR (the machine takes it as an injected factory, so a
  test can make it deterministic).
- `certificate_hash_data`: OCPP's CertificateHashDataType of a certificate.

Validity is judged against real-world time, POSIX seconds passed in by the caller (`now`):
certificates are real X.509 objects that TLS peers and the CSMS judge by the wall clock,
while a fleet runs on simulated time (docs/station-machine.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NotRequired, Protocol, TypedDict

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERTIFICATE_TYPES_16 = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
CERTIFICATE_TYPES_201 = (
    "V2GRootCertificate",
    "MORootCertificate",
    "CSMSRootCertificate",
    "ManufacturerRootCertificate",
)
CA_CERTIFICATE_TYPES = tuple(dict.fromkeys(CERTIFICATE_TYPES_16 + CERTIFICATE_TYPES_201))
# The roots that validate the CSMS's TLS certificate, whatever the version calls them.
CSMS_ROOT_TYPES = ("CentralSystemRootCertificate", "CSMSRootCertificate")
# The station's own certificates (SignCertificate / CertificateSigned); 1.6 only knows the first.
STATION_CERTIFICATE_TYPES = ("ChargingStationCertificate", "V2GCertificate")
# GetInstalledCertificateIds (2.0.1) name for the station's V2G certificate chain.
V2G_CHAIN = "V2GCertificateChain"

InstallStatus = Literal["Accepted", "Rejected", "Failed"]
DeleteStatus = Literal["Accepted", "Failed", "NotFound"]


class CertificateHashData(TypedDict):
    """OCPP CertificateHashDataType (the same in 1.6 and 2.x)."""

    hashAlgorithm: str
    issuerNameHash: str
    issuerKeyHash: str
    serialNumber: str


class CertificateHashDataChain(TypedDict):
    """2.0.1 CertificateHashDataChainType: one installed certificate, with the sub-CAs of a
    chain as children; 1.6 lists the `certificateHashData` of each."""

    certificateType: str
    certificateHashData: CertificateHashData
    childCertificateHashData: NotRequired[list[CertificateHashData]]


class _Digest(Protocol):
    def hexdigest(self) -> str: ...


HASH_ALGORITHMS: dict[str, Callable[[bytes], _Digest]] = {
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA512": hashlib.sha512,
}

# A new key pair and its CSR for (identity, organization): (csr_pem, key_pem).
CsrFactory = Callable[[str, str], tuple[str, str]]


class CertificateError(ValueError):
    """A PEM text that holds no usable certificate or key."""


def load_certificates(pem: str | bytes, what: str) -> list[x509.Certificate]:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertificateError(f"{what} is not a valid PEM certificate: {exc}") from None
    if not certs:
        raise CertificateError(f"{what} holds no certificate")
    return certs


def load_private_key(pem: str | bytes, password: str | None, what: str) -> Any:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return serialization.load_pem_private_key(
            data, password=password.encode() if password else None
        )
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"{what} is not a usable PEM private key: {exc}") from None


def public_key_der(public_key: Any) -> bytes:
    """A public key as DER SubjectPublicKeyInfo (to compare a certificate with a key)."""
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _bit_string_value(spki_der: bytes) -> bytes:
    """The subjectPublicKey BIT STRING content of a DER SubjectPublicKeyInfo (unused-bits
    octet dropped): what RFC 6960 CertID.issuerKeyHash, and so OCPP, hashes."""

    def header(buf: bytes, pos: int) -> tuple[int, int, int]:
        tag = buf[pos]
        length = buf[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(buf[pos : pos + count], "big")
            pos += count
        return tag, length, pos

    tag, _, pos = header(spki_der, 0)  # SEQUENCE SubjectPublicKeyInfo
    tag2, length, inner = header(spki_der, pos)  # SEQUENCE AlgorithmIdentifier
    tag3, length, pos = header(spki_der, inner + length)  # BIT STRING subjectPublicKey
    if (tag, tag2, tag3) != (0x30, 0x30, 0x03):
        raise ValueError("not a DER SubjectPublicKeyInfo")
    return spki_der[pos + 1 : pos + length]


def certificate_hash_data(
    cert: x509.Certificate, issuer: x509.Certificate | None = None, algorithm: str = "SHA256"
) -> CertificateHashData:
    """OCPP CertificateHashDataType: hash of the DER issuer name, hash of the issuer's public key
    (the subjectPublicKey bits, as in OCSP), serial number in hex without leading zeros.

    `issuer` defaults to the certificate itself (a root is self-signed)."""
    digest = HASH_ALGORITHMS[algorithm]
    issuer_key = (issuer or cert).public_key()
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": digest(cert.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": digest(_bit_string_value(public_key_der(issuer_key))).hexdigest(),
        "serialNumber": format(cert.serial_number, "x"),
    }


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Was `cert` signed by `issuer` (its issuer name and its signature)?"""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _valid_at(cert: x509.Certificate, now: float) -> bool:
    """Within its validity period at `now`, real-world POSIX seconds."""
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def make_csr(identity: str, organization: str) -> tuple[str, str]:
    """A fresh EC P-256 key and a CSR for it with CN=identity, O=organization (SignCertificate).

    Returns (csr_pem, key_pem); the key is unencrypted PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, identity),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), key_pem


def accept_signed_certificate(chain_pem: str, key_pem: str, now: float) -> bool:
    """CertificateSigned check: the chain parses, its leaf carries the CSR key's public key, every
    certificate is within its validity period at `now` (real-world POSIX seconds) and each is
    signed by the next one."""
    try:
        chain = load_certificates(chain_pem, "certificateChain")
        key = load_private_key(key_pem, None, "key")
    except CertificateError:
        return False
    if public_key_der(chain[0].public_key()) != public_key_der(key.public_key()):
        return False
    if not all(_valid_at(cert, now) for cert in chain):
        return False
    return all(issued_by(cert, issuer) for cert, issuer in zip(chain, chain[1:], strict=False))


class CertificateStore:
    """The certificates on one virtual station, JSON-able through `snapshot()` / `restore()`.

    CA certificates are kept per certificate type (1.6 and 2.0.1 names, see
    `CA_CERTIFICATE_TYPES`). The station's own key pairs live in slots named after
    `STATION_CERTIFICATE_TYPES`; a slot's private key is in the snapshot (this is a simulator).
    """

    def __init__(self, max_certificates: int | None = None) -> None:
        self.max_certificates = max_certificates  # CertificateStoreMaxLength; None: no limit
        self._ca: list[tuple[str, str]] = []  # (certificate type, PEM), in install order
        self._pending: dict[str, str] = {}  # slot -> key PEM awaiting CertificateSigned
        self._station: dict[str, tuple[str, str]] = {}  # slot -> (chain PEM, key PEM)
        # OCSP responses (base64 DER) the CSMS gave for the V2G chain (GetCertificateStatus),
        # by `contracts.ocsp_key`: what the station staples for an ISO 15118 EV.
        self.ocsp: dict[str, str] = {}

    # -- CA certificates (InstallCertificate / GetInstalledCertificateIds / DeleteCertificate) --

    def install(self, cert_type: str, pem: str, now: float) -> InstallStatus:
        """Install one CA certificate: "Accepted", "Rejected" (unknown type, not a PEM
        certificate, not a CA, not valid at `now`, real-world POSIX seconds) or "Failed"
        (store full)."""
        if cert_type not in CA_CERTIFICATE_TYPES:
            return "Rejected"
        try:
            certs = load_certificates(pem, "certificate")
        except CertificateError:
            return "Rejected"
        if len(certs) != 1:
            return "Rejected"
        cert = certs[0]
        if not _is_ca(cert) or not _valid_at(cert, now):
            return "Rejected"
        fingerprint = cert.fingerprint(hashes.SHA256())
        for kind, existing in self._ca:
            if (
                kind == cert_type
                and _stored(existing)[0].fingerprint(hashes.SHA256()) == fingerprint
            ):
                return "Accepted"  # already there: installing again changes nothing
        if self.max_certificates is not None and len(self._ca) >= self.max_certificates:
            return "Failed"
        self._ca.append((cert_type, _to_pem(cert)))
        return "Accepted"

    def certificates(self, types: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(type, PEM) of the installed CA certificates, all when `types` is empty or None."""
        wanted = set(types or ())
        return [(kind, pem) for kind, pem in self._ca if not wanted or kind in wanted]

    def csms_ca_pem(self) -> str | None:
        """The installed CSMS roots (1.6 and 2.0.1 names) as one PEM bundle, for `ca_pem`."""
        pems = [pem for kind, pem in self._ca if kind in CSMS_ROOT_TYPES]
        return "".join(pems) or None

    def has_valid_csms_root(self, now: float) -> bool:
        """A CSMS root (1.6 CentralSystemRootCertificate, 2.0.1 CSMSRootCertificate) valid at
        `now` (real-world POSIX seconds) is installed: what TLS to the CSMS needs."""
        return any(
            _valid_at(cert, now)
            for kind, pem in self._ca
            if kind in CSMS_ROOT_TYPES
            for cert in _stored(pem)
        )

    def _issuer_of(self, cert: x509.Certificate, pool: list[x509.Certificate]) -> x509.Certificate:
        # A root is its own issuer; an installed sub-CA's issuer is looked up among the stored
        # certificates. Unknown issuer: fall back to the certificate itself, so the ids stay
        # stable and DeleteCertificate with them still matches.
        if _self_signed(cert):
            return cert
        return next((c for c in pool if c is not cert and issued_by(cert, c)), cert)

    def _hash_data(
        self, cert: x509.Certificate, pool: list[x509.Certificate], algorithm: str = "SHA256"
    ) -> CertificateHashData:
        return certificate_hash_data(cert, self._issuer_of(cert, pool), algorithm)

    def installed_ids(self, types: Iterable[str] | None = None) -> list[CertificateHashDataChain]:
        """One entry per installed certificate of `types` (all when empty/None).
        "V2GCertificateChain" lists the station's V2G certificate with its sub-CAs as
        "childCertificateHashData"."""
        wanted = list(types or ())
        pool = [_stored(pem)[0] for _, pem in self._ca]
        out: list[CertificateHashDataChain] = []
        for (kind, _), cert in zip(self._ca, pool, strict=True):
            if not wanted or kind in wanted:
                out.append(
                    {"certificateType": kind, "certificateHashData": self._hash_data(cert, pool)}
                )
        if (not wanted or V2G_CHAIN in wanted) and "V2GCertificate" in self._station:
            chain = _stored(self._station["V2GCertificate"][0])
            full = chain + pool
            entry: CertificateHashDataChain = {
                "certificateType": V2G_CHAIN,
                "certificateHashData": self._hash_data(chain[0], full),
            }
            if len(chain) > 1:
                entry["childCertificateHashData"] = [self._hash_data(c, full) for c in chain[1:]]
            out.append(entry)
        return out

    def delete(self, hash_data: Mapping[str, Any]) -> DeleteStatus:
        """DeleteCertificate: "Accepted" (removed), "NotFound", or "Failed" (malformed hash data,
        unsupported hash algorithm, or the station's own certificate, which may not be deleted)."""
        try:
            algorithm = str(hash_data["hashAlgorithm"])
            name_hash = str(hash_data["issuerNameHash"]).lower()
            key_hash = str(hash_data["issuerKeyHash"]).lower()
            serial = str(hash_data["serialNumber"]).lower().lstrip("0") or "0"
        except (KeyError, TypeError):
            return "Failed"
        if algorithm not in HASH_ALGORITHMS:
            return "Failed"

        def matches(cert: x509.Certificate, pool: list[x509.Certificate]) -> bool:
            data = self._hash_data(cert, pool, algorithm)
            return (
                data["issuerNameHash"] == name_hash
                and data["issuerKeyHash"] == key_hash
                and data["serialNumber"] == serial
            )

        pool = [_stored(pem)[0] for _, pem in self._ca]
        for chain_pem, _ in self._station.values():
            chain = _stored(chain_pem)
            if matches(chain[0], chain + pool):
                return "Failed"
        keep = [
            entry for entry, cert in zip(self._ca, pool, strict=True) if not matches(cert, pool)
        ]
        if len(keep) == len(self._ca):
            return "NotFound"
        self._ca = keep
        return "Accepted"

    # -- the station's own certificate (SignCertificate / CertificateSigned) --

    def new_csr(
        self,
        identity: str,
        organization: str,
        cert_type: str = "ChargingStationCertificate",
        make: CsrFactory = make_csr,
    ) -> str:
        """A CSR for a new key pair in slot `cert_type` (made by `make`); the key waits for
        CertificateSigned."""
        if cert_type not in STATION_CERTIFICATE_TYPES:
            raise ValueError(
                f"certificate type must be one of {', '.join(STATION_CERTIFICATE_TYPES)}"
            )
        csr_pem, key_pem = make(identity, organization)
        self._pending[cert_type] = key_pem
        return csr_pem

    def certificate_signed(
        self, chain_pem: str, cert_type: str = "ChargingStationCertificate", *, now: float
    ) -> bool:
        """Install a signed chain if it fits the pending CSR key (or the slot's current key, for
        a renewal with the same key) and is valid at `now` (real-world POSIX seconds). False:
        reject it (and report InvalidChargePointCertificate)."""
        candidates = [self._pending.get(cert_type)]
        if cert_type in self._station:
            candidates.append(self._station[cert_type][1])
        for key_pem in candidates:
            if key_pem and accept_signed_certificate(chain_pem, key_pem, now):
                chain = "".join(_to_pem(c) for c in load_certificates(chain_pem, "chain"))
                self._station[cert_type] = (chain, key_pem)
                if self._pending.get(cert_type) == key_pem:
                    del self._pending[cert_type]
                return True
        return False

    def client_credentials(
        self, cert_type: str = "ChargingStationCertificate"
    ) -> tuple[str, str] | None:
        """(chain PEM, key PEM) of the station's signed certificate, for profile 3."""
        return self._station.get(cert_type)

    def has_pending_csr(self, cert_type: str = "ChargingStationCertificate") -> bool:
        return cert_type in self._pending

    # -- persistence --

    def snapshot(self) -> dict[str, Any]:
        return {
            "max_certificates": self.max_certificates,
            "ca": [{"type": kind, "pem": pem} for kind, pem in self._ca],
            "pending": dict(self._pending),
            "station": {
                slot: {"chain_pem": chain, "key_pem": key}
                for slot, (chain, key) in self._station.items()
            },
            "ocsp": dict(self.ocsp),
        }

    def restore(self, data: Mapping[str, Any] | None) -> None:
        data = data or {}
        self.max_certificates = data.get("max_certificates", self.max_certificates)
        self._ca = [(str(e["type"]), str(e["pem"])) for e in data.get("ca", [])]
        self._pending = {str(k): str(v) for k, v in (data.get("pending") or {}).items()}
        self._station = {
            str(slot): (str(v["chain_pem"]), str(v["key_pem"]))
            for slot, v in (data.get("station") or {}).items()
        }
        self.ocsp = {str(k): str(v) for k, v in (data.get("ocsp") or {}).items()}

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any] | None) -> CertificateStore:
        store = cls()
        store.restore(data)
        return store


def _stored(pem: str) -> list[x509.Certificate]:
    """Certificates the store wrote itself (checked when they came in)."""
    return load_certificates(pem, "stored")
