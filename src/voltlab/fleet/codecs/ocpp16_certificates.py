"""OCPP 1.6 (security whitepaper) codec for what its certificate messages say in their own
shape: GetInstalledCertificateIds asks for one type and lists bare hash data, and
SignCertificate names no type (the whitepaper signs the Charge Point certificate only; the V2G
certificate's goes wrapped in DataTransfer by the Plug & Charge note, `ocpp16_pnc`). The rest
is shared with 2.x (`shared_certificates`)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs import ocpp16_pnc
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.codecs.shared_certificates import (
    decode_sign_certificate_answer as decode_plain_answer,
)
from voltlab.fleet.codecs.shared_certificates import encode_installed
from voltlab.fleet.machine.certificate_messages import (
    GetInstalledCertificateIds,
    InstalledCertificates,
    SignCertificateAnswer,
    SignCertificateRequest,
)
from voltlab.fleet.model.contracts import V2G_CERTIFICATE


def decode_get_installed_ids(payload: dict[str, Any]) -> GetInstalledCertificateIds:
    return GetInstalledCertificateIds((payload["certificateType"],))


def encode_installed_ids(answer: InstalledCertificates) -> dict[str, Any]:
    hash_data = [chain["certificateHashData"] for chain in answer.chains]
    return encode_installed(answer, "certificateHashData", hash_data)


def encode_sign_certificate(message: SignCertificateRequest) -> tuple[str, dict[str, Any]]:
    if message.cert_type == V2G_CERTIFICATE:
        return ocpp16_pnc.encode_v2g_sign_certificate(message)
    return "SignCertificate", {"csr": message.csr}


def decode_sign_certificate_answer(
    message: SignCertificateRequest, payload: dict[str, Any]
) -> SignCertificateAnswer:
    if message.cert_type == V2G_CERTIFICATE:
        return ocpp16_pnc.decode_v2g_sign_certificate_answer(payload)
    return decode_plain_answer(payload)


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetInstalledCertificateIds": RequestCodec(decode_get_installed_ids, encode_installed_ids),
}
