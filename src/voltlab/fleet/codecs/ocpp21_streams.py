"""OCPP 2.1 codec for periodic event streams (N11-N15): SetVariableMonitoring's
`periodicEventStream`, GetPeriodicEventStream and AdjustPeriodicEventStream from the CSMS;
OpenPeriodicEventStream, ClosePeriodicEventStream and the NotifyPeriodicEventStream SEND
from the station."""

from __future__ import annotations

from typing import Any, TypedDict

from voltlab.fleet.codecs import ocpp201_monitoring
from voltlab.fleet.codecs.ocpp201_device_model import ADDITIONAL_INFO_MAX_LENGTH
from voltlab.fleet.codecs.request_codec import RequestCodec
from voltlab.fleet.machine.stream_messages import (
    AdjustPeriodicEventStream,
    AdjustStreamAnswer,
    CloseStream,
    GetPeriodicEventStream,
    OpenStream,
    OpenStreamAnswer,
    SetVariableMonitoringStreams,
    StreamData,
    StreamInfo,
    StreamsAnswer,
)
from voltlab.fleet.model.event_streams import StreamParams
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

Payload = dict[str, Any]
# Messages sent as SEND (message type 6): never answered, never queued.
UNCONFIRMED = frozenset({"NotifyPeriodicEventStream"})
STREAM_MESSAGES = (OpenStream, CloseStream, StreamData)


class PeriodicEventStreamParamsType(TypedDict, total=False):
    interval: int
    values: int


class ConstantStreamDataType(TypedDict):
    id: int
    params: PeriodicEventStreamParamsType
    variableMonitoringId: int


class StreamDataElementType(TypedDict):
    t: float
    v: str


class NotifyPeriodicEventStreamType(TypedDict):
    id: int
    pending: int
    basetime: str
    data: list[StreamDataElementType]


def decode_params(body: Payload | None) -> StreamParams | None:
    if body is None:
        return None
    return StreamParams(int(body.get("interval", 0)), int(body.get("values", 0)))


def encode_params(params: StreamParams) -> PeriodicEventStreamParamsType:
    return {"interval": params.interval, "values": params.values}


def encode_stream(stream: StreamInfo) -> ConstantStreamDataType:
    return {
        "id": stream.id,
        "params": encode_params(stream.params),
        "variableMonitoringId": stream.monitor_id,
    }


# -- the requests ---------------------------------------------------------------------------------

_SET_MONITORING = ocpp201_monitoring.REQUESTS["SetVariableMonitoring"]


def decode_set_variable_monitoring(payload: Payload) -> SetVariableMonitoringStreams:
    """2.0.1's SetVariableMonitoring (its checks of the message's size included), and each
    monitor's `periodicEventStream`."""
    monitoring = _SET_MONITORING.decode(payload)
    streams = tuple(
        decode_params(item.get("periodicEventStream")) for item in payload["setMonitoringData"]
    )
    return SetVariableMonitoringStreams(monitoring.settings, streams)


def decode_get_periodic_event_stream(payload: Payload) -> GetPeriodicEventStream:
    return GetPeriodicEventStream()


def encode_streams_answer(answer: StreamsAnswer) -> Payload:
    if not answer.streams:
        return {}
    return {"constantStreamData": [encode_stream(stream) for stream in answer.streams]}


def decode_adjust_periodic_event_stream(payload: Payload) -> AdjustPeriodicEventStream:
    params = decode_params(payload["params"]) or StreamParams()
    return AdjustPeriodicEventStream(int(payload["id"]), params)


def encode_adjust_answer(answer: AdjustStreamAnswer) -> Payload:
    body: Payload = {"status": answer.status}
    if answer.reason_code is not None:
        body["statusInfo"] = {
            "reasonCode": answer.reason_code,
            "additionalInfo": answer.info[:ADDITIONAL_INFO_MAX_LENGTH],
        }
    return body


# -- what the station sends -----------------------------------------------------------------------


def encode_stream_call(message: OpenStream | CloseStream | StreamData) -> tuple[str, Payload]:
    if isinstance(message, OpenStream):
        return "OpenPeriodicEventStream", {"constantStreamData": encode_stream(message.stream)}
    if isinstance(message, CloseStream):
        return "ClosePeriodicEventStream", {"id": message.id}
    basetime = message.points[0].at
    body: NotifyPeriodicEventStreamType = {
        "id": message.id,
        "pending": message.pending,
        "basetime": format_timestamp(basetime),
        "data": [
            {"t": round(point.at - basetime, 3), "v": point.value} for point in message.points
        ],
    }
    return "NotifyPeriodicEventStream", dict(body)


def decode_open_answer(payload: Payload) -> OpenStreamAnswer:
    return OpenStreamAnswer(payload.get("status") == "Accepted")


# The CSMS requests this module reads, by action (codecs/request_codec.py);
# SetVariableMonitoring replaces 2.0.1's for a 2.1 station.
REQUESTS: dict[str, RequestCodec] = {
    "SetVariableMonitoring": RequestCodec(decode_set_variable_monitoring, _SET_MONITORING.encode),
    "GetPeriodicEventStream": RequestCodec(decode_get_periodic_event_stream, encode_streams_answer),
    "AdjustPeriodicEventStream": RequestCodec(
        decode_adjust_periodic_event_stream, encode_adjust_answer
    ),
}
