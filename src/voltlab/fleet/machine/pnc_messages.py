"""Neutral messages of ISO 15118 Plug & Charge (2.0.1 C07 and M01/M02/M06, the same in 2.1; in
1.6 wrapped in DataTransfer by the OCA application note, which the 1.6 codec does): the
station's Authorize with a contract, its Get15118EVCertificate and GetCertificateStatus, and a
1.6 CSMS request that came wrapped (`WrappedPncRequest`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.contracts import CertificateAction, OcspRequestData

# AuthorizeCertificateStatusEnumType
CertificateStatus = Literal[
    "Accepted",
    "SignatureError",
    "CertificateExpired",
    "CertificateRevoked",
    "NoCertificateAvailable",
    "CertChainError",
    "ContractCancelled",
]
EvCertificateStatus = Literal["Accepted", "Failed"]
OcspStatus = Literal["Accepted", "Failed"]
# The idToken type of a contract (2.x IdTokenEnumType).
EMAID = "eMAID"
# DataTransfer's answer when a 1.6 CSMS does not speak the application note: the station's
# call got no 2.0.1 answer inside.
TransferRefusal = Literal["Rejected", "UnknownMessageId", "UnknownVendorId"]


@dataclass(frozen=True)
class PncAuthorizeRequest:
    """Authorize with an EV's contract: the eMAID (idToken type eMAID) and either the OCSP
    request data of its chain or, for central validation, the chain itself (PEM)."""

    emaid: str
    certificate: str | None
    hash_data: tuple[OcspRequestData, ...]


@dataclass(frozen=True)
class PncAuthorizeAnswer:
    info: IdTagInfo  # in the station's (1.6) words, as the authorization cache keeps it
    certificate_status: CertificateStatus | None = None
    # 1.6: the DataTransfer carried no Authorize answer (the CSMS refused the wrapping).
    refused: TransferRefusal | None = None
    token_status: str | None = None  # idTokenInfo.status as the CSMS said it (2.x words)

    @property
    def accepted(self) -> bool:
        """The contract may charge: its token Accepted and no certificate trouble (C07)."""
        status_ok = self.certificate_status in (None, "Accepted")
        return self.refused is None and self.info.status == "Accepted" and status_ok


@dataclass(frozen=True)
class EvCertificateRequest:
    """Get15118EVCertificate: the EV's CertificateInstallationReq / CertificateUpdateReq, EXI
    as base64, passed on unread."""

    action: CertificateAction
    exi_request: str
    schema_version: str


@dataclass(frozen=True)
class EvCertificateAnswer:
    status: EvCertificateStatus
    exi_response: str
    refused: TransferRefusal | None = None


@dataclass(frozen=True)
class CertificateStatusRequest:
    """GetCertificateStatus: the OCSP status of one certificate of the station's V2G chain."""

    ocsp: OcspRequestData


@dataclass(frozen=True)
class CertificateStatusAnswer:
    status: OcspStatus
    ocsp_result: str | None  # base64 DER OCSPResponse (RFC 6960)
    refused: TransferRefusal | None = None


@dataclass(frozen=True)
class WrappedPncRequest:
    """1.6: a CSMS request of the application note inside DataTransfer (vendorId
    org.openchargealliance.iso15118pnc, messageId its 2.0.1 action). `request` is the decoded
    2.0.1 request in neutral form (a certificate request or a TriggerRequest), None when the
    station cannot read it (`refusal` says how DataTransfer answers)."""

    message_id: str
    request: object | None
    refusal: TransferRefusal = "Rejected"


@dataclass(frozen=True)
class PncOutcome:
    """What came of a Plug & Charge plug on a connector (the plug command's result)."""

    emaid: str
    # local: decided without the CSMS (no root, offline, disabled); csms: Authorize's answer.
    decided_by: Literal["csms", "local", "none"]
    authorization: str  # the idTokenInfo status (or the local verdict)
    certificate_status: str | None = None
    contract_check: str | None = None  # the local validation of the chain, when it ran
    installation: EvCertificateAnswer | None = None
    charging: bool = False


PNC_CALLS = (PncAuthorizeRequest, EvCertificateRequest, CertificateStatusRequest)
PncCall = PncAuthorizeRequest | EvCertificateRequest | CertificateStatusRequest
PncAnswer = PncAuthorizeAnswer | EvCertificateAnswer | CertificateStatusAnswer
