"""OCPP 1.6 codec of ISO 15118 Plug & Charge by the OCA application note "Using ISO 15118 Plug &
Charge with OCPP 1.6" (v1.0, 2020): each message is the 2.0.1 one, its JSON as the `data` string
of a DataTransfer with vendorId `org.openchargealliance.iso15118pnc` and messageId the 2.0.1
action (§2.2).

- The station's calls (Authorize with a contract, Get15118EVCertificate, GetCertificateStatus,
  SignCertificate for the V2G certificate) go out wrapped; the 2.0.1 answer is read from the
  DataTransfer.conf's `data`. A DataTransfer.conf that is not Accepted, or whose data is not a
  valid 2.0.1 answer, is a refusal (the CSMS does not speak the note: §2.1).
- The CSMS's requests (CertificateSigned, DeleteCertificate, GetInstalledCertificateIds,
  InstallCertificate, TriggerMessage) come wrapped: their data is checked against the 2.0.1
  schema (TriggerMessage has no fields in the note, §6.9) and decoded into the neutral
  request, and the machine's answer goes back as the 2.0.1 answer's JSON in an Accepted
  DataTransfer.conf. Data that cannot be read is answered Rejected, a messageId outside the
  note UnknownMessageId (the machine decides, `flows/plug_and_charge.wrapped_request`):
  the DataTransfer itself was well-formed, so no CALLERROR.
- The note's Authorize carries an IdTokenType with idToken only (§7.3); the station sends
  2.0.1's (with type eMAID), which 2.0.1-based CSMS code reads and the note's readers ignore.
  StartTransaction then names the eMAID as idTag (§5)."""

from __future__ import annotations

import json
from typing import Any

from voltlab.fleet.codecs import ocpp201_certificates, ocpp201_pnc
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.codecs.shared_certificates import (
    decode_certificate_signed,
    decode_delete_certificate,
    decode_install_certificate,
)
from voltlab.fleet.codecs.shared_requests import decode_data_transfer, encode_data_transfer_answer
from voltlab.fleet.machine.certificate_messages import (
    CertificateSignedAnswer,
    DeleteCertificateAnswer,
    InstallCertificateAnswer,
    InstalledCertificates,
    SignCertificateAnswer,
    SignCertificateRequest,
)
from voltlab.fleet.machine.messages import DataTransfer, DataTransferAnswer
from voltlab.fleet.machine.pnc_messages import (
    CertificateStatusAnswer,
    EvCertificateAnswer,
    EvCertificateRequest,
    PncAnswer,
    PncAuthorizeAnswer,
    PncAuthorizeRequest,
    PncCall,
    TransferRefusal,
    WrappedPncRequest,
)
from voltlab.fleet.machine.trigger_messages import TriggerAnswer, TriggerRequest
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.contracts import V2G_CERTIFICATE
from voltlab.ocpp.errors import OcppError
from voltlab.ocpp.schemas import schema_set
from voltlab.ocpp.versions import OCPP201

Payload = dict[str, Any]
VENDOR_ID = "org.openchargealliance.iso15118pnc"
# The CSMS's requests of the note (§2.2) whose 2.0.1 schema checks them.
_CHECKED = (
    "CertificateSigned",
    "DeleteCertificate",
    "GetInstalledCertificateIds",
    "InstallCertificate",
)


def wrap(action: str, inner: Payload) -> tuple[str, Payload]:
    data = json.dumps(inner, separators=(",", ":"))
    return "DataTransfer", {"vendorId": VENDOR_ID, "messageId": action, "data": data}


def unwrap(action: str, payload: Payload) -> Payload | TransferRefusal:
    """The 2.0.1 answer of `action` inside a DataTransfer.conf, or why there is none."""
    status = payload.get("status")
    if status in ("Rejected", "UnknownMessageId", "UnknownVendorId"):
        return status  # type: ignore[no-any-return]
    try:
        inner = json.loads(payload["data"])
        schema_set(OCPP201).validate_response(action, inner)
    except (KeyError, TypeError, ValueError, OcppError):
        return "Rejected"
    assert isinstance(inner, dict)
    return inner


def encode_pnc_call(message: PncCall) -> tuple[str, Payload]:
    return wrap(*ocpp201_pnc.encode_pnc_call(message))


def decode_pnc_answer(message: PncCall, payload: Payload) -> PncAnswer:
    action, _ = ocpp201_pnc.encode_pnc_call(message)
    inner = unwrap(action, payload)
    if isinstance(inner, dict):
        return ocpp201_pnc.decode_pnc_answer(message, inner)
    if isinstance(message, PncAuthorizeRequest):
        return PncAuthorizeAnswer(IdTagInfo("Invalid"), None, refused=inner)
    if isinstance(message, EvCertificateRequest):
        return EvCertificateAnswer("Failed", "", refused=inner)
    return CertificateStatusAnswer("Failed", None, refused=inner)


def encode_v2g_sign_certificate(message: SignCertificateRequest) -> tuple[str, Payload]:
    return wrap("SignCertificate", {"csr": message.csr, "certificateType": V2G_CERTIFICATE})


def decode_v2g_sign_certificate_answer(payload: Payload) -> SignCertificateAnswer:
    inner = unwrap("SignCertificate", payload)
    return SignCertificateAnswer(inner["status"] if isinstance(inner, dict) else "Rejected")


def _wrapped(message_id: str | None, data: object) -> WrappedPncRequest:
    if message_id == "TriggerMessage":
        # §6.9: no fields; a 2.0.1 requestedMessage other than the V2G CSR is not the note's.
        asked = data.get("requestedMessage") if isinstance(data, dict) else None
        v2g = asked in (None, "SignV2GCertificate")
        return WrappedPncRequest(
            message_id, TriggerRequest("SignV2GCertificate" if v2g else None, None)
        )
    if message_id not in _CHECKED:
        return WrappedPncRequest(str(message_id), None, "UnknownMessageId")
    try:
        schema_set(OCPP201).validate_request(message_id, data)
    except OcppError:
        return WrappedPncRequest(message_id, None, "Rejected")
    assert isinstance(data, dict)
    if message_id == "CertificateSigned":
        signed = decode_certificate_signed({"certificateType": V2G_CERTIFICATE, **data})
        return WrappedPncRequest(message_id, signed)
    if message_id == "DeleteCertificate":
        return WrappedPncRequest(message_id, decode_delete_certificate(data))
    if message_id == "InstallCertificate":
        return WrappedPncRequest(message_id, decode_install_certificate(data))
    return WrappedPncRequest(message_id, ocpp201_certificates.decode_get_installed_ids(data))


def decode_data_transfer_request(payload: Payload) -> DataTransfer | WrappedPncRequest:
    if payload.get("vendorId") != VENDOR_ID:
        return decode_data_transfer(payload)
    message_id = payload.get("messageId")
    try:
        data = json.loads(payload["data"])
    except (KeyError, TypeError, ValueError):
        if message_id == "TriggerMessage":  # the note's TriggerMessage has no fields at all
            return _wrapped(message_id, {})
        return WrappedPncRequest(str(message_id), None, "Rejected")
    return _wrapped(message_id, data)


def encode_data_transfer_answer_16(answer: object) -> Payload:
    """A DataTransfer.conf: the machine's own DataTransferAnswer as it is, a wrapped
    request's 2.0.1 answer as the JSON of an Accepted one."""
    if isinstance(answer, DataTransferAnswer):
        return encode_data_transfer_answer(answer)
    if isinstance(answer, InstalledCertificates):
        inner: Payload = ocpp201_certificates.encode_installed_ids(answer)
    elif isinstance(
        answer,
        InstallCertificateAnswer
        | DeleteCertificateAnswer
        | CertificateSignedAnswer
        | TriggerAnswer,
    ):
        inner = {"status": answer.status}
    else:
        raise TypeError(f"no DataTransfer answer for {answer!r}")
    return {"status": "Accepted", "data": json.dumps(inner, separators=(",", ":"))}


# 1.6's DataTransfer (`shared_requests` reads the same shape for 2.x), by action.
REQUESTS: dict[str, RequestCodec] = {
    "DataTransfer": RequestCodec(decode_data_transfer_request, encode_data_transfer_answer_16),
}
