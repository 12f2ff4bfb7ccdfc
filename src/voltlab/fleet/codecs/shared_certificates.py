"""Codec for the certificate messages whose words and shapes are the same in OCPP 1.6 (with
the security whitepaper) and 2.x: InstallCertificate, DeleteCertificate, CertificateSigned
(1.6 names no certificateType: the station's certificate) and their answers, the answer to
SignCertificate, and GetInstalledCertificateIds' answer but for the name of its list."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.certificate_messages import (
    STATION_CERTIFICATE,
    CertificateSigned,
    CertificateSignedAnswer,
    DeleteCertificate,
    DeleteCertificateAnswer,
    InstallCertificate,
    InstallCertificateAnswer,
    InstalledCertificates,
    SignCertificateAnswer,
)
from voltlab.fleet.model.certificates import CertificateHashData

Payload = dict[str, Any]


def decode_install_certificate(payload: Payload) -> InstallCertificate:
    return InstallCertificate(payload["certificateType"], payload["certificate"])


def decode_delete_certificate(payload: Payload) -> DeleteCertificate:
    return DeleteCertificate(decode_hash_data(payload["certificateHashData"]))


def decode_hash_data(body: Payload) -> CertificateHashData:
    return {
        "hashAlgorithm": body["hashAlgorithm"],
        "issuerNameHash": body["issuerNameHash"],
        "issuerKeyHash": body["issuerKeyHash"],
        "serialNumber": body["serialNumber"],
    }


def decode_certificate_signed(payload: Payload) -> CertificateSigned:
    cert_type = payload.get("certificateType", STATION_CERTIFICATE)
    return CertificateSigned(payload["certificateChain"], cert_type)


def encode_status_answer(
    answer: InstallCertificateAnswer | DeleteCertificateAnswer | CertificateSignedAnswer,
) -> Payload:
    return {"status": answer.status}


def encode_installed(answer: InstalledCertificates, field: str, entries: list[Any]) -> Payload:
    """GetInstalledCertificateIds' answer with the version's list (`field`) of `entries`."""
    body: Payload = {"status": answer.status}
    if entries:
        body[field] = entries
    return body


def decode_sign_certificate_answer(payload: Payload) -> SignCertificateAnswer:
    return SignCertificateAnswer(payload["status"])


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "InstallCertificate": RequestCodec(decode_install_certificate, encode_status_answer),
    "DeleteCertificate": RequestCodec(decode_delete_certificate, encode_status_answer),
    "CertificateSigned": RequestCodec(decode_certificate_signed, encode_status_answer),
}
