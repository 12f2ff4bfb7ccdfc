"""Periodic event streams (OCPP 2.1 N11-N15): a periodic monitor whose reports the station
sends as a stream of data points (NotifyPeriodicEventStream, an unconfirmed SEND) instead of a
NotifyEvent each, once the CSMS accepted the stream (OpenPeriodicEventStream).

The monitor's value is how often a data point is taken (its period, as for any periodic
monitor); the stream's parameters say how they travel: a frame once `interval` seconds passed
since the last one, or once `values` points wait, whichever comes first (0: that criterion is
off; both 0: every point at once). Version-neutral and free of I/O; times are POSIX seconds
from the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_STREAMS = 10  # open streams one station keeps
MAX_POINTS = 1_000  # points a stream keeps while they cannot be sent (offline): oldest go
EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class StreamParams:
    """PeriodicEventStreamParamsType."""

    interval: int = 0  # seconds between frames
    values: int = 0  # points per frame


@dataclass(frozen=True, slots=True)
class DataPoint:
    at: float
    value: str


@dataclass
class EventStream:
    id: int
    monitor_id: int
    params: StreamParams
    last_sent: float  # when the last frame left (the stream's opening, before the first)
    points: list[DataPoint] = field(default_factory=list)

    def add(self, point: DataPoint) -> None:
        self.points.append(point)
        del self.points[:-MAX_POINTS]

    def due(self, now: float) -> bool:
        """Should the points waiting go now?"""
        if not self.points:
            return False
        interval, values = self.params.interval, self.params.values
        if interval == 0 and values == 0:
            return True
        if values > 0 and len(self.points) >= values:
            return True
        return interval > 0 and now - self.last_sent >= interval - EPSILON

    def next_due(self) -> float | None:
        """When the points waiting go at the latest (None: only when enough came)."""
        if not self.points or self.params.interval == 0:
            return None
        return self.last_sent + self.params.interval

    def take(self) -> list[DataPoint]:
        """The points of the next frame (at most `values` when that is set)."""
        count = self.params.values or len(self.points)
        taken, self.points = self.points[:count], self.points[count:]
        return taken


@dataclass
class EventStreams:
    """The streams of one station, by id; the monitors whose stream the CSMS has yet to
    accept."""

    streams: dict[int, EventStream] = field(default_factory=dict)
    opening: set[int] = field(default_factory=set)
    next_id: int = 1

    def of_monitor(self, monitor_id: int) -> EventStream | None:
        for stream in self.streams.values():
            if stream.monitor_id == monitor_id:
                return stream
        return None

    def has_room(self) -> bool:
        return len(self.streams) + len(self.opening) < MAX_STREAMS

    def new_id(self) -> int:
        stream_id = self.next_id
        self.next_id += 1
        return stream_id

    def snapshot(self) -> dict[str, Any] | None:
        if not self.streams and self.next_id == 1:
            return None
        return {
            "streams": [
                {
                    "id": s.id,
                    "monitor_id": s.monitor_id,
                    "interval": s.params.interval,
                    "values": s.params.values,
                    "last_sent": s.last_sent,
                }
                for s in self.streams.values()
            ],
            "next_id": self.next_id,
        }

    def restore(self, body: dict[str, Any]) -> None:
        """The open streams come back (the points that waited in memory do not)."""
        self.streams = {}
        for item in body.get("streams", []):
            params = StreamParams(int(item.get("interval", 0)), int(item.get("values", 0)))
            stream = EventStream(
                int(item["id"]), int(item["monitor_id"]), params, float(item["last_sent"])
            )
            self.streams[stream.id] = stream
        self.next_id = int(body.get("next_id", len(self.streams) + 1))
