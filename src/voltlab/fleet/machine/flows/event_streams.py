"""Periodic event streams (OCPP 2.1 N11-N15): a periodic monitor set with `periodicEventStream`
reports as a stream once the CSMS accepts it (OpenPeriodicEventStream); its data points (the
monitored value at each of the monitor's periods) travel in NotifyPeriodicEventStream SEND
frames as the stream's parameters say (`model/event_streams.py`); GetPeriodicEventStream lists
the open streams, AdjustPeriodicEventStream changes how their frames travel, and a stream
whose monitor goes (ClearVariableMonitoring, a monitoring base that ends it) is closed:
what waited is sent, then ClosePeriodicEventStream (N13).

Refused or not yet accepted, the monitor reports with NotifyEvent as any periodic monitor
(`flows/monitoring.py`). Offline, the points wait (up to 1 000 per stream), as a SEND cannot
be queued; the first sample due once the station is back sends them."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Persist, SendCall
from voltlab.fleet.machine.flow import Call, Flow, FlowStepper, no_result
from voltlab.fleet.machine.flows.monitoring import MONITOR_TIMER
from voltlab.fleet.machine.monitoring_messages import (
    MonitoringRequest,
    SetVariableMonitoringAnswer,
)
from voltlab.fleet.machine.stream_messages import (
    AdjustPeriodicEventStream,
    AdjustStreamAnswer,
    CloseStream,
    OpenStream,
    OpenStreamAnswer,
    SetVariableMonitoringStreams,
    StreamData,
    StreamInfo,
    StreamRequest,
    StreamsAnswer,
)
from voltlab.fleet.model.device_monitoring import MonitorEvaluator, next_due
from voltlab.fleet.model.event_streams import DataPoint, EventStream, StreamParams
from voltlab.fleet.model.monitors import PERIODIC_TYPES

STREAM_TIMER = "stream:"
# A stream's frame timer fires just after the instant it is due, so that a data point taken
# at that very instant goes with the frame rather than waiting for the next one.
FRAME_LAG = 0.001


def after_monitoring(
    ctx: FlowContext,
    flows: FlowStepper,
    message: MonitoringRequest,
    effects: list[Effect],
) -> list[Effect]:
    """What a monitoring request, once answered (`effects`), means for the streams: the
    accepted periodic monitors that asked for one open it; the streams whose monitor went
    close."""
    found: list[Effect] = []
    if isinstance(message, SetVariableMonitoringStreams):
        answers = [e.message for e in effects if isinstance(e, Answer)]
        if answers and isinstance(answers[0], SetVariableMonitoringAnswer):
            for result, params in zip(answers[0].results, message.streams, strict=False):
                if params is not None and result.status == "Accepted" and result.id is not None:
                    found.extend(_ask(ctx, flows, result.id, params))
    return found + reconcile(ctx)


def _ask(
    ctx: FlowContext, flows: FlowStepper, monitor_id: int, params: StreamParams
) -> list[Effect]:
    station = ctx.station
    monitor = station.monitors.get(monitor_id)
    if monitor is None or monitor.type not in PERIODIC_TYPES:
        return []  # a stream carries a periodic monitor's reports only
    streams = station.event_streams
    stream = streams.of_monitor(monitor_id)
    if stream is not None:  # the monitor replaced: its stream goes on with the new params
        stream.params = params
        return [Persist(), *_send_if_due(ctx, stream)]
    if monitor_id in streams.opening or not streams.has_room():
        return []
    streams.opening.add(monitor_id)
    return flows.start(_open(ctx, monitor_id, params), no_result)


def _open(ctx: FlowContext, monitor_id: int, params: StreamParams) -> Flow[None]:
    streams = ctx.station.event_streams
    stream_id = streams.new_id()
    try:
        answer = yield Call(OpenStream(StreamInfo(stream_id, monitor_id, params)))
    finally:
        streams.opening.discard(monitor_id)
    if not isinstance(answer, OpenStreamAnswer) or not answer.accepted:
        return  # the monitor reports with NotifyEvent
    if ctx.station.monitors.get(monitor_id) is None:  # cleared meanwhile
        yield SendCall(CloseStream(stream_id))
        return
    streams.streams[stream_id] = EventStream(stream_id, monitor_id, params, ctx.now)
    yield Persist()


def reconcile(ctx: FlowContext) -> list[Effect]:
    """Close the streams whose monitor is gone, inactive or no longer periodic."""
    station = ctx.station
    monitors, streams = station.monitors, station.event_streams
    effects: list[Effect] = []
    for stream in list(streams.streams.values()):
        monitor = monitors.get(stream.monitor_id)
        if monitor is not None and monitors.is_active(monitor) and monitor.type in PERIODIC_TYPES:
            continue
        if ctx.online:
            effects.extend(_frames(ctx, stream))
        del streams.streams[stream.id]
        timer = f"{STREAM_TIMER}{stream.id}"
        if timer in ctx.timers:
            effects.append(ctx.cancel_timer(timer))
        effects += [Persist(), SendCall(CloseStream(stream.id))]
    return effects


# -- data -----------------------------------------------------------------------------------------


def streams_monitor(ctx: FlowContext, timer: str) -> bool:
    """Does the monitor of this `monitor:<id>` timer report as a stream?"""
    monitor_id = int(timer.removeprefix(MONITOR_TIMER))
    return ctx.station.event_streams.of_monitor(monitor_id) is not None


def sample_due(ctx: FlowContext, evaluator: MonitorEvaluator, timer: str) -> list[Effect]:
    """A streamed monitor's period: a data point (the value it watches now), the next
    period, and a frame when one is due."""
    station = ctx.station
    monitor_id = int(timer.removeprefix(MONITOR_TIMER))
    monitor = station.monitors.get(monitor_id)
    stream = station.event_streams.of_monitor(monitor_id)
    if monitor is None or stream is None or not station.monitors.is_active(monitor):
        return []
    effects: list[Effect] = [ctx.set_timer(timer, next_due(monitor, ctx.now))]
    event = evaluator.periodic(monitor_id, ctx.now)  # None: waiting for a transaction
    if event is not None and event.severity <= station.monitors.level:
        stream.add(DataPoint(ctx.now, event.actual_value))
    return effects + _send_if_due(ctx, stream)


def frame_due(ctx: FlowContext, timer: str) -> list[Effect]:
    """A stream's interval passed with points waiting: they go."""
    stream = ctx.station.event_streams.streams.get(int(timer.removeprefix(STREAM_TIMER)))
    if stream is None or not ctx.online:
        return []  # offline: the next sample sends them
    return _frames(ctx, stream)


def _send_if_due(ctx: FlowContext, stream: EventStream) -> list[Effect]:
    if not ctx.online:
        return []
    effects = _frames(ctx, stream) if stream.due(ctx.now) else []
    timer = f"{STREAM_TIMER}{stream.id}"
    due = stream.next_due()
    if due is not None:
        effects.append(ctx.set_timer(timer, due + FRAME_LAG))
    elif timer in ctx.timers:
        effects.append(ctx.cancel_timer(timer))
    return effects


def _frames(ctx: FlowContext, stream: EventStream) -> list[Effect]:
    """Every waiting point, in frames of at most `values` points (`pending`: what follows)."""
    effects: list[Effect] = []
    while stream.points:
        points = stream.take()
        effects.append(SendCall(StreamData(stream.id, len(stream.points), tuple(points))))
        stream.last_sent = ctx.now
    timer = f"{STREAM_TIMER}{stream.id}"
    if effects and timer in ctx.timers:
        effects.append(ctx.cancel_timer(timer))
    return effects


# -- the CSMS's requests ------------------------------------------------------------------------


def request(ctx: FlowContext, message: StreamRequest) -> list[Effect]:
    streams = ctx.station.event_streams
    if isinstance(message, AdjustPeriodicEventStream):
        stream = streams.streams.get(message.id)
        if stream is None:
            info = f"no stream {message.id} is open"
            return [Answer(AdjustStreamAnswer("Rejected", "NotFound", info))]
        stream.params = message.params
        return [Persist(), Answer(AdjustStreamAnswer("Accepted")), *_send_if_due(ctx, stream)]
    listed = tuple(
        StreamInfo(s.id, s.monitor_id, s.params)
        for s in sorted(streams.streams.values(), key=lambda s: s.id)
    )
    return [Answer(StreamsAnswer(listed))]
