"""ISO 15118 Plug & Charge on the station's side, free of I/O and of any clock: the EV's
contract (its certificate chain and eMAID), how the station validates it against the V2G and
MO roots a CSMS installed, and the OCSP request data (OCPP OCSPRequestDataType) it sends the
CSMS instead of the certificate (2.0.1 C07, M06; the OCA application note for 1.6).

Validity is judged at real-world time (POSIX seconds passed in by the caller), as for every
certificate of the station (`certificates.py`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from voltlab.fleet.model.certificates import (
    CertificateError,
    CertificateStore,
    certificate_hash_data,
    issued_by,
    load_certificates,
)

V2G_ROOT = "V2GRootCertificate"
MO_ROOT = "MORootCertificate"
V2G_CERTIFICATE = "V2GCertificate"
# A contract chains up to a V2G root or to an eMobility operator's own root (M05).
CONTRACT_ROOTS = (V2G_ROOT, MO_ROOT)
# AuthorizeRequest.iso15118CertificateHashData holds at most four entries (leaf and sub-CAs).
MAX_HASH_DATA = 4

ContractCheck = Literal["Valid", "IssuerNotFound", "Expired", "InvalidSignature"]
CertificateAction = Literal["Install", "Update"]
# ISO 15118-2's schema version, as an EV names it in its session (Get15118EVCertificate).
ISO15118_2_SCHEMA = "urn:iso:15118:2:2013:MsgDef"
_SHA256 = hashes.SHA256()


class OcspRequestData(TypedDict):
    """OCPP OCSPRequestDataType: a certificate's hash data and its OCSP responder."""

    hashAlgorithm: str
    issuerNameHash: str
    issuerKeyHash: str
    serialNumber: str
    responderURL: str


@dataclass(frozen=True)
class CertificateInstallation:
    """What an EV asks for before it authorizes: a contract installed (CertificateInstallationReq)
    or renewed (CertificateUpdateReq), as the raw EXI message, base64, that the station passes
    on to the CSMS (Get15118EVCertificate) without reading it."""

    action: CertificateAction
    exi_request: str
    schema_version: str = ISO15118_2_SCHEMA


@dataclass(frozen=True)
class ContractCredential:
    """An EV's contract: the contract certificate first, then the MO sub-CAs above it (no
    root), PEM; the eMAID is the contract certificate's subject CN (ISO 15118-2)."""

    emaid: str
    chain_pem: str
    # Asked for on every plug before the contract is used; None: the EV uses it as it is.
    installation: CertificateInstallation | None = None

    @classmethod
    def from_chain(
        cls,
        chain_pem: str,
        emaid: str | None = None,
        installation: CertificateInstallation | None = None,
    ) -> ContractCredential:
        """Raises CertificateError for a chain that holds no certificate or whose contract
        names no eMAID when none is given."""
        chain = load_certificates(chain_pem, "contract certificate chain")
        named = emaid or emaid_of(chain[0])
        if not named:
            raise CertificateError("the contract certificate's subject has no CN (eMAID)")
        return cls(named, chain_pem, installation)

    def snapshot(self) -> dict[str, Any]:
        body: dict[str, Any] = {"emaid": self.emaid, "chain_pem": self.chain_pem}
        if self.installation is not None:
            body["installation"] = {
                "action": self.installation.action,
                "exi_request": self.installation.exi_request,
                "schema_version": self.installation.schema_version,
            }
        return body

    @classmethod
    def restore(cls, body: Mapping[str, Any]) -> ContractCredential:
        installation = body.get("installation")
        return cls(
            str(body["emaid"]),
            str(body["chain_pem"]),
            None
            if not installation
            else CertificateInstallation(
                installation["action"],
                str(installation["exi_request"]),
                str(installation.get("schema_version") or ISO15118_2_SCHEMA),
            ),
        )


def emaid_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def ocsp_responder(cert: x509.Certificate) -> str | None:
    """The OCSP responder URL of a certificate's Authority Information Access, if any."""
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in access:
        if description.access_method == AuthorityInformationAccessOID.OCSP:
            return str(description.access_location.value)
    return None


def ocsp_request_data(
    cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256"
) -> OcspRequestData | None:
    """OCSPRequestDataType of `cert` (issued by `issuer`); None when it names no responder."""
    responder = ocsp_responder(cert)
    if responder is None:
        return None
    return {**certificate_hash_data(cert, issuer, algorithm), "responderURL": responder}


def _valid_at(cert: x509.Certificate, now: float) -> bool:
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _anchors(store: CertificateStore, types: tuple[str, ...]) -> list[x509.Certificate]:
    return [load_certificates(pem, "stored")[0] for _, pem in store.certificates(types)]


def _anchor_of(top: x509.Certificate, anchors: list[x509.Certificate]) -> x509.Certificate | None:
    """The installed root `top` chains to (or is)."""
    for anchor in anchors:
        if top.fingerprint(_SHA256) == anchor.fingerprint(_SHA256) or issued_by(top, anchor):
            return anchor
    return None


def validate_chain(
    store: CertificateStore, chain_pem: str, wall_time: float, roots: tuple[str, ...]
) -> ContractCheck:
    """A chain (leaf first) against the installed roots of `roots`: every certificate signed
    by the next, the last by an installed root, all valid at `wall_time`."""
    try:
        chain = load_certificates(chain_pem, "chain")
    except CertificateError:
        return "InvalidSignature"
    anchor = _anchor_of(chain[-1], _anchors(store, roots))
    if anchor is None:
        return "IssuerNotFound"
    if not all(issued_by(c, up) for c, up in zip(chain, chain[1:], strict=False)):
        return "InvalidSignature"
    if not all(_valid_at(cert, wall_time) for cert in (*chain, anchor)):
        return "Expired"
    return "Valid"


def validate_contract(store: CertificateStore, chain_pem: str, wall_time: float) -> ContractCheck:
    """The EV's contract chain against the installed V2G and MO roots (C07.FR.06/.08)."""
    return validate_chain(store, chain_pem, wall_time, CONTRACT_ROOTS)


def chain_ocsp_data(
    store: CertificateStore, chain_pem: str, roots: tuple[str, ...]
) -> list[OcspRequestData]:
    """OCSP request data of each certificate of a chain below its root (leaf first, at most
    four), each with its issuer's key hash; empty when the chain leads to no installed root."""
    try:
        chain = load_certificates(chain_pem, "chain")
    except CertificateError:
        return []
    anchor = _anchor_of(chain[-1], _anchors(store, roots))
    if anchor is None:
        return []
    issuers = [*chain[1:], anchor]
    out: list[OcspRequestData] = []
    for cert, issuer in zip(chain, issuers, strict=True):
        if cert.fingerprint(_SHA256) == anchor.fingerprint(_SHA256):
            continue  # the root itself: its status is not asked for
        data = ocsp_request_data(cert, issuer)
        if data is not None:
            out.append(data)
    return out[:MAX_HASH_DATA]


def contract_ocsp_data(store: CertificateStore, chain_pem: str) -> list[OcspRequestData]:
    return chain_ocsp_data(store, chain_pem, CONTRACT_ROOTS)


def v2g_chain_ocsp_data(store: CertificateStore) -> list[OcspRequestData]:
    """The OCSP request data of the station's own V2G chain (SECC certificate and CPO sub-CAs,
    M06), empty without a signed V2G certificate or its installed V2G root."""
    credentials = store.client_credentials(V2G_CERTIFICATE)
    if credentials is None:
        return []
    return chain_ocsp_data(store, credentials[0], (V2G_ROOT,))


def ocsp_key(data: OcspRequestData) -> str:
    """How the station files an OCSP response: by issuer and serial number."""
    return f"{data['issuerNameHash']}:{data['issuerKeyHash']}:{data['serialNumber']}"
