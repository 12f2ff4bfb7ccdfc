"""OCPP 2.0.1 / 2.1 codec for CustomerInformation (N09/N10) and its NotifyCustomerInformation
pages, and for CostUpdated (I03)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.ocpp201_device_model import ADDITIONAL_INFO_MAX_LENGTH
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.customer_messages import (
    CostUpdated,
    CostUpdatedAnswer,
    CustomerInformation,
    CustomerInformationAnswer,
    CustomerInformationPage,
)
from voltlab.fleet.model.customer_information import Customer
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

Payload = dict[str, Any]


def decode_customer_information(payload: Payload) -> CustomerInformation:
    token = payload.get("idToken")
    certificate = payload.get("customerCertificate")
    customer = Customer(
        id_token=None if token is None else str(token["idToken"]),
        customer_identifier=payload.get("customerIdentifier"),
        certificate_serial=None if certificate is None else str(certificate["serialNumber"]),
    )
    return CustomerInformation(
        int(payload["requestId"]), bool(payload["report"]), bool(payload["clear"]), customer
    )


def encode_customer_information_answer(answer: CustomerInformationAnswer) -> Payload:
    body: Payload = {"status": answer.status}
    if answer.reason_code is not None:
        body["statusInfo"] = {
            "reasonCode": answer.reason_code,
            "additionalInfo": answer.info[:ADDITIONAL_INFO_MAX_LENGTH],
        }
    return body


def encode_customer_information_page(page: CustomerInformationPage) -> tuple[str, Payload]:
    body: Payload = {
        "data": page.data,
        "seqNo": page.seq_no,
        "generatedAt": format_timestamp(page.generated_at),
        "requestId": page.request_id,
    }
    if page.more_follow:
        body["tbc"] = True
    return "NotifyCustomerInformation", body


def decode_cost_updated(payload: Payload) -> CostUpdated:
    return CostUpdated(str(payload["transactionId"]), float(payload["totalCost"]))


def encode_cost_updated_answer(answer: CostUpdatedAnswer) -> Payload:
    return {}


# The CSMS requests this module reads, by action (codecs/request_codec.py).
REQUESTS: dict[str, RequestCodec] = {
    "CustomerInformation": RequestCodec(
        decode_customer_information, encode_customer_information_answer
    ),
    "CostUpdated": RequestCodec(decode_cost_updated, encode_cost_updated_answer),
}
