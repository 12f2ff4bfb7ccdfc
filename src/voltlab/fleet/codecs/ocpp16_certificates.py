"""OCPP 1.6 (security whitepaper) codec for what its certificate messages say in their own
shape: GetInstalledCertificateIds asks for one type and lists bare hash data, and
SignCertificate names no type (the whitepaper signs the Charge Point certificate only). The
rest is shared with 2.x (`shared_certificates`)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.codecs.shared_certificates import encode_installed
from voltlab.fleet.machine.certificate_messages import (
    GetInstalledCertificateIds,
    InstalledCertificates,
    SignCertificateRequest,
)


def decode_get_installed_ids(payload: dict[str, Any]) -> GetInstalledCertificateIds:
    return GetInstalledCertificateIds((payload["certificateType"],))


def encode_installed_ids(answer: InstalledCertificates) -> dict[str, Any]:
    hash_data = [chain["certificateHashData"] for chain in answer.chains]
    return encode_installed(answer, "certificateHashData", hash_data)


def encode_sign_certificate(message: SignCertificateRequest) -> tuple[str, dict[str, Any]]:
    return "SignCertificate", {"csr": message.csr}


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "GetInstalledCertificateIds": RequestCodec(decode_get_installed_ids, encode_installed_ids),
}
