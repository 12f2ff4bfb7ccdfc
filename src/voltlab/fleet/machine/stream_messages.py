"""Neutral messages of periodic event streams (OCPP 2.1 N11-N15): what the CSMS asks
(GetPeriodicEventStream, AdjustPeriodicEventStream) and answers (OpenPeriodicEventStream),
what the station sends (OpenPeriodicEventStream, ClosePeriodicEventStream, and the stream's
data, NotifyPeriodicEventStream, an unconfirmed SEND), and the 2.1 SetVariableMonitoring,
which may ask for a monitor's stream. Streams are the model's (`fleet/model/event_streams.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.monitoring_messages import SetVariableMonitoring
from voltlab.fleet.model.event_streams import DataPoint, StreamParams


@dataclass(frozen=True)
class SetVariableMonitoringStreams(SetVariableMonitoring):
    """2.1 SetVariableMonitoring: the monitors, and for each the stream it asks for
    (`periodicEventStream`; None: none). A SetVariableMonitoring like any other for the
    monitoring flow."""

    streams: tuple[StreamParams | None, ...] = ()


@dataclass(frozen=True)
class StreamInfo:
    """ConstantStreamDataType: a stream, the monitor whose points it carries, its params."""

    id: int
    monitor_id: int
    params: StreamParams


@dataclass(frozen=True)
class GetPeriodicEventStream:
    pass


@dataclass(frozen=True)
class AdjustPeriodicEventStream:
    id: int
    params: StreamParams


@dataclass(frozen=True)
class StreamsAnswer:
    """GetPeriodicEventStream's answer."""

    streams: tuple[StreamInfo, ...]


@dataclass(frozen=True)
class AdjustStreamAnswer:
    status: str  # Accepted | Rejected
    reason_code: str | None = None
    info: str = ""


@dataclass(frozen=True)
class OpenStream:
    """OpenPeriodicEventStream: the station asks the CSMS to take a stream."""

    stream: StreamInfo


@dataclass(frozen=True)
class OpenStreamAnswer:
    accepted: bool


@dataclass(frozen=True)
class CloseStream:
    """ClosePeriodicEventStream: the stream ends (its monitor went)."""

    id: int


@dataclass(frozen=True)
class StreamData:
    """NotifyPeriodicEventStream: points of a stream; `pending`: points still to come."""

    id: int
    pending: int
    points: tuple[DataPoint, ...]


StreamRequest = GetPeriodicEventStream | AdjustPeriodicEventStream
StreamAnswer = StreamsAnswer | AdjustStreamAnswer
StreamCall = OpenStream | CloseStream | StreamData
