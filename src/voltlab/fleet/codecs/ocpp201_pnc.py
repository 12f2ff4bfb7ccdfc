"""OCPP 2.0.1 / 2.1 codec for the station's Plug & Charge calls: Authorize with a contract
(idToken type eMAID, the OCSP request data or the chain), Get15118EVCertificate and
GetCertificateStatus, and their answers. The 1.6 codec wraps the same payloads in DataTransfer
(`ocpp16_pnc`), so they are built here once."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from voltlab.fleet.machine.pnc_messages import (
    EMAID,
    CertificateStatusAnswer,
    EvCertificateAnswer,
    EvCertificateRequest,
    PncAnswer,
    PncAuthorizeAnswer,
    PncAuthorizeRequest,
    PncCall,
)
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.contracts import OcspRequestData
from voltlab.ocpp.vocabulary.authorization import IdToken2x, authorization_from_2x, id_token_2x

Payload = dict[str, Any]


class PncAuthorizePayload(TypedDict):
    idToken: IdToken2x
    certificate: NotRequired[str]
    iso15118CertificateHashData: NotRequired[list[OcspRequestData]]


class EvCertificatePayload(TypedDict):
    iso15118SchemaVersion: str
    action: str
    exiRequest: str


class CertificateStatusPayload(TypedDict):
    ocspRequestData: OcspRequestData


def encode_pnc_call(message: PncCall) -> tuple[str, Payload]:
    if isinstance(message, PncAuthorizeRequest):
        body: PncAuthorizePayload = {"idToken": id_token_2x(message.emaid, EMAID)}
        if message.certificate is not None:
            body["certificate"] = message.certificate
        if message.hash_data:
            body["iso15118CertificateHashData"] = list(message.hash_data)
        return "Authorize", dict(body)
    if isinstance(message, EvCertificateRequest):
        request: EvCertificatePayload = {
            "iso15118SchemaVersion": message.schema_version,
            "action": message.action,
            "exiRequest": message.exi_request,
        }
        return "Get15118EVCertificate", dict(request)
    status: CertificateStatusPayload = {"ocspRequestData": message.ocsp}
    return "GetCertificateStatus", dict(status)


def decode_pnc_answer(message: PncCall, payload: Payload) -> PncAnswer:
    if isinstance(message, PncAuthorizeRequest):
        token = payload.get("idTokenInfo") or {}
        return PncAuthorizeAnswer(
            IdTagInfo(*authorization_from_2x(token)),
            payload.get("certificateStatus"),
            token_status=token.get("status"),
        )
    if isinstance(message, EvCertificateRequest):
        return EvCertificateAnswer(payload["status"], str(payload.get("exiResponse", "")))
    return CertificateStatusAnswer(payload["status"], payload.get("ocspResult"))
