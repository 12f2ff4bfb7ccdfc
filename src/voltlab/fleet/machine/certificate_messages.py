"""Neutral certificate messages of the station machine (1.6 security whitepaper, 2.x blocks A
and M): the CA certificates a CSMS installs, lists and deletes, and the station's own
certificate, asked for with SignCertificate and delivered with CertificateSigned.

Certificate types keep their OCPP names (1.6 and 2.0.1 spellings both, see
`fleet.model.certificates`); hash data keeps OCPP's CertificateHashDataType, which is the same in
every version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.model.certificates import (
    CertificateHashData,
    CertificateHashDataChain,
    DeleteStatus,
    InstallStatus,
)

InstalledCertificatesStatus = Literal["Accepted", "NotFound"]
# CertificateSigned's and SignCertificate's answers (GenericStatusEnumType).
SigningStatus = Literal["Accepted", "Rejected"]
STATION_CERTIFICATE = "ChargingStationCertificate"


@dataclass(frozen=True)
class InstallCertificate:
    """Install a CA certificate (PEM) of `cert_type`."""

    cert_type: str
    certificate: str


@dataclass(frozen=True)
class InstallCertificateAnswer:
    status: InstallStatus


@dataclass(frozen=True)
class DeleteCertificate:
    hash_data: CertificateHashData


@dataclass(frozen=True)
class DeleteCertificateAnswer:
    status: DeleteStatus


@dataclass(frozen=True)
class GetInstalledCertificateIds:
    """The installed certificates of `cert_types`; all when empty."""

    cert_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstalledCertificates:
    status: InstalledCertificatesStatus
    chains: tuple[CertificateHashDataChain, ...] = ()


@dataclass(frozen=True)
class CertificateSigned:
    """The CSMS's signed chain (PEM, leaf first) for the station's key in slot `cert_type`."""

    chain: str
    cert_type: str = STATION_CERTIFICATE


@dataclass(frozen=True)
class CertificateSignedAnswer:
    status: SigningStatus


@dataclass(frozen=True)
class RequestCertificate:
    """Gateway command (and the step a triggered SignChargePointCertificate /
    SignChargingStationCertificate runs, `flows.certificates.request_certificate`): make a new
    key pair for slot `cert_type` and send its CSR to the CSMS."""

    cert_type: str = STATION_CERTIFICATE


@dataclass(frozen=True)
class CertificateRequested:
    """What came of a RequestCertificate: the CSMS's answer to the SignCertificate, or None
    when none came (`failure` says why: not_connected, timeout, ...)."""

    cert_type: str
    status: SigningStatus | None
    failure: str | None = None


@dataclass(frozen=True)
class SignCertificateRequest:
    """A CSR for the station's key pair in slot `cert_type` (SignCertificate); the CSMS's
    CertificateSigned request brings the signed chain later."""

    csr: str
    cert_type: str


@dataclass(frozen=True)
class SignCertificateAnswer:
    status: SigningStatus


CertificateRequest = (
    InstallCertificate | DeleteCertificate | GetInstalledCertificateIds | CertificateSigned
)
CertificateAnswer = (
    InstallCertificateAnswer
    | DeleteCertificateAnswer
    | InstalledCertificates
    | CertificateSignedAnswer
    | CertificateRequested
)
