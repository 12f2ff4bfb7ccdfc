"""What a 2.1 station sends of local cost and periodic event streams, in one place for the
station codec: the TransactionEvents that report a cost (`ocpp21_tariffs`) and the stream
messages (`ocpp21_streams`, NotifyPeriodicEventStream being an unconfirmed SEND)."""

from __future__ import annotations

from typing import Any

from voltlab.fleet.codecs.ocpp21_streams import (
    STREAM_MESSAGES,
    UNCONFIRMED,
    decode_open_answer,
    encode_stream_call,
)
from voltlab.fleet.codecs.ocpp21_tariffs import encode_cost_report
from voltlab.fleet.machine.messages import StationAnswerMessage, StationMessage
from voltlab.fleet.machine.session_messages import Received
from voltlab.fleet.machine.stream_messages import OpenStream
from voltlab.fleet.machine.tariff_messages import CostReport

Payload = dict[str, Any]

TARIFF_STREAM_CALLS = (CostReport, *STREAM_MESSAGES)
__all__ = ["TARIFF_STREAM_CALLS", "UNCONFIRMED", "decode_answer", "encode_call"]


def encode_call(message: StationMessage) -> tuple[str, Payload]:
    if isinstance(message, CostReport):
        return encode_cost_report(message)
    if isinstance(message, STREAM_MESSAGES):
        return encode_stream_call(message)
    raise TypeError(f"OCPP 2.1 has no message for {message!r}")


def decode_answer(message: StationMessage, payload: Payload) -> StationAnswerMessage:
    if isinstance(message, OpenStream):
        return decode_open_answer(payload)
    return Received()  # TransactionEventResponse of a cost report: nothing the station acts on
