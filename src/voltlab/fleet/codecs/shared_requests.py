"""Codec for the CSMS requests whose words and shapes are the same in OCPP 1.6 and 2.x:
ClearCache and DataTransfer (2.x's `data` may be any JSON value, 1.6's a string)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.messages import (
    ClearCache,
    ClearCacheAnswer,
    DataTransfer,
    DataTransferAnswer,
)


def decode_clear_cache(payload: dict[str, Any]) -> ClearCache:
    return ClearCache()


def encode_clear_cache_answer(answer: ClearCacheAnswer) -> dict[str, Any]:
    return {"status": answer.status}


def decode_data_transfer(payload: dict[str, Any]) -> DataTransfer:
    return DataTransfer(
        vendor_id=payload["vendorId"],
        message_id=payload.get("messageId"),
        data=payload.get("data"),
        has_data="data" in payload,
    )


def encode_data_transfer_answer(answer: DataTransferAnswer) -> dict[str, Any]:
    body: dict[str, Any] = {"status": answer.status}
    if answer.has_data:
        body["data"] = answer.data
    return body


# The CSMS requests this module reads, by action (codecs/request_codec.py); 1.6 reads
# DataTransfer with `ocpp16_pnc`, which unwraps Plug & Charge's and hands the rest back here.
CLEAR_CACHE: dict[str, RequestCodec] = {
    "ClearCache": RequestCodec(decode_clear_cache, encode_clear_cache_answer),
}
REQUESTS: dict[str, RequestCodec] = {
    **CLEAR_CACHE,
    "DataTransfer": RequestCodec(decode_data_transfer, encode_data_transfer_answer),
}
