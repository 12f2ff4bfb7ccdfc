"""OCPP 2.0.1 / 2.1 codec for what its certificate messages say in their own shape:
GetInstalledCertificateIds asks for any number of types (none: all) and lists hash data
chains, and SignCertificate names the certificate's type. The rest is shared with 1.6's
security whitepaper (`shared_certificates`)."""

from __future__ import annotations

from typing import Any

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


def decode_get_installed_ids(payload: dict[str, Any]) -> GetInstalledCertificateIds:
    return GetInstalledCertificateIds(tuple(payload.get("certificateType") or ()))


def encode_installed_ids(answer: InstalledCertificates) -> dict[str, Any]:
    return encode_installed(answer, "certificateHashDataChain", list(answer.chains))


def encode_sign_certificate(message: SignCertificateRequest) -> tuple[str, dict[str, Any]]:
    return "SignCertificate", {"csr": message.csr, "certificateType": message.cert_type}


def decode_sign_certificate_answer(
    message: SignCertificateRequest, payload: dict[str, Any]
) -> SignCertificateAnswer:
    return decode_plain_answer(payload)


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetInstalledCertificateIds": RequestCodec(decode_get_installed_ids, encode_installed_ids),
}
