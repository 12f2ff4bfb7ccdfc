"""Variable monitoring (OCPP 2.0.1 N02-N08, reused by 2.1): the CSMS's monitoring requests
answered from the station's monitors, and the events the monitors produce sent as NotifyEvent.

The machine evaluates the monitors after each event that may change the station (`after`): a
threshold crossed or left, a delta exceeded. Periodic monitors report on timers named
`monitor:<id>`. Events are filtered by MonitoringCtrlr.Enabled and the monitoring level (a
severity above ActiveMonitoringLevel is not reported); offline, the events up to
OfflineQueuingSeverity wait for the next registration (N07/N08), the others are dropped."""

from __future__ import annotations

from collections.abc import Sequence

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Fail, Persist, SendCall
from voltlab.fleet.machine.events import (
    CallAnswered,
    CallFailed,
    CsmsRequest,
    DownloadDone,
    Event,
    FrameLogRead,
    GatewayCommand,
    QueueDelivered,
    QueuedStartDelivered,
    TimerFired,
    TransferFailed,
    UploadDone,
)
from voltlab.fleet.machine.flow import Call, CallFailure, Flow, FlowStepper, no_result
from voltlab.fleet.machine.monitoring_messages import (
    ClearVariableMonitoring,
    ClearVariableMonitoringAnswer,
    EventNotice,
    GetMonitoringReport,
    MonitoringAnswer,
    MonitoringReportPage,
    MonitoringRequest,
    SetMonitoringBase,
    SetMonitoringLevel,
    SetVariableMonitoring,
    SetVariableMonitoringAnswer,
)
from voltlab.fleet.model.device_model import DeviceModel
from voltlab.fleet.model.device_monitoring import (
    MonitorEvaluator,
    MonitoringData,
    clear_monitors,
    monitoring_report,
    next_due,
    set_monitors,
)
from voltlab.fleet.model.monitors import (
    ALL,
    BASES,
    CRITERIA,
    MAX_SEVERITY,
    MIN_SEVERITY,
    PERIODIC_TYPES,
    MonitorEvent,
)

MONITOR_TIMER = "monitor:"
ENABLED_KEY = "MonitoringCtrlr.Enabled"
OFFLINE_SEVERITY_KEY = "MonitoringCtrlr.OfflineQueuingSeverity"
DEFAULT_OFFLINE_SEVERITY = 2
# Monitored variables per NotifyMonitoringReport, events per NotifyEvent.
REPORT_PAGE = 20
EVENTS_PER_NOTICE = 20


def request(
    ctx: FlowContext,
    model: DeviceModel,
    flows: FlowStepper,
    message: MonitoringRequest,
) -> list[Effect]:
    monitors = ctx.station.monitors
    if isinstance(message, SetVariableMonitoring):
        results = set_monitors(model, message.settings, ctx.now)
        timers = _arm(ctx, [r.id for r in results if r.status == "Accepted" and r.id is not None])
        return [*timers, Persist(), Answer(SetVariableMonitoringAnswer(tuple(results)))]
    if isinstance(message, ClearVariableMonitoring):
        outcomes = clear_monitors(monitors, message.ids)
        cleared = [monitor_id for monitor_id, status in outcomes if status == "Accepted"]
        answer = ClearVariableMonitoringAnswer(tuple(outcomes))
        return [*_disarm(ctx, cleared), Persist(), Answer(answer)]
    if isinstance(message, SetMonitoringBase):
        if message.base not in BASES:
            return [Answer(MonitoringAnswer("NotSupported"))]
        # N03: FactoryDefault and HardWiredOnly end the CSMS's own monitors.
        cleared = monitors.clear_custom() if message.base != ALL else []
        monitors.set_base(message.base)
        effects = [*_disarm(ctx, cleared), *arm_periodic(ctx)]
        return [*effects, Persist(), Answer(MonitoringAnswer("Accepted"))]
    if isinstance(message, SetMonitoringLevel):
        if not MIN_SEVERITY <= message.severity <= MAX_SEVERITY:
            return [Answer(MonitoringAnswer("Rejected"))]
        monitors.level = message.severity
        return [Persist(), Answer(MonitoringAnswer("Accepted"))]
    return _report(ctx, model, flows, message)


def _report(
    ctx: FlowContext, model: DeviceModel, flows: FlowStepper, message: GetMonitoringReport
) -> list[Effect]:
    types = None
    if message.criteria:
        types = frozenset(
            kind for criterion in message.criteria for kind in CRITERIA.get(criterion, ())
        )
    data = monitoring_report(model, message.filters, types)
    if not data:
        return [Answer(MonitoringAnswer("EmptyResultSet"))]
    pages = _report_pages(ctx, message.request_id, data)
    return [Answer(MonitoringAnswer("Accepted")), *flows.start(pages, no_result)]


def _report_pages(ctx: FlowContext, request_id: int, data: Sequence[MonitoringData]) -> Flow[None]:
    """NotifyMonitoringReport pages in order (seqNo, tbc), each once the one before was
    answered; the report is what the station held at the request."""
    generated_at = ctx.now
    chunks = [data[start : start + REPORT_PAGE] for start in range(0, len(data), REPORT_PAGE)]
    for seq_no, chunk in enumerate(chunks):
        more = seq_no < len(chunks) - 1
        answer = yield Call(
            MonitoringReportPage(request_id, generated_at, seq_no, tuple(chunk), more)
        )
        if isinstance(answer, CallFailure):
            return  # the report is incomplete without that page: the rest would mislead


# -- periodic monitors ------------------------------------------------------------------------


def arm_periodic(ctx: FlowContext) -> list[Effect]:
    """A timer for every active periodic monitor (after a restart, a base change)."""
    monitors = ctx.station.monitors
    ids = [m.id for m in monitors.active() if m.type in PERIODIC_TYPES]
    return _arm(ctx, ids)


def _arm(ctx: FlowContext, ids: Sequence[int]) -> list[Effect]:
    monitors = ctx.station.monitors
    effects: list[Effect] = []
    for monitor_id in ids:
        monitor = monitors.get(monitor_id)
        if monitor is None or monitor.type not in PERIODIC_TYPES:
            continue
        if not monitors.is_active(monitor):
            effects.extend(_disarm(ctx, [monitor_id]))
            continue
        effects.append(ctx.set_timer(f"{MONITOR_TIMER}{monitor_id}", next_due(monitor, ctx.now)))
    return effects


def _disarm(ctx: FlowContext, ids: Sequence[int]) -> list[Effect]:
    names = [f"{MONITOR_TIMER}{monitor_id}" for monitor_id in ids]
    return [ctx.cancel_timer(name) for name in names if name in ctx.timers]


def periodic_due(ctx: FlowContext, evaluator: MonitorEvaluator, name: str) -> list[Effect]:
    """A periodic monitor's timer: its report, and the next timer."""
    monitor_id = int(name.removeprefix(MONITOR_TIMER))
    monitor = ctx.station.monitors.get(monitor_id)
    if monitor is None or monitor.type not in PERIODIC_TYPES:
        return []
    effects = _arm(ctx, [monitor_id])
    event = evaluator.periodic(monitor_id, ctx.now)
    return effects + deliver(ctx, [] if event is None else [event], flush=False)


# -- events -------------------------------------------------------------------------------------


# After these events the monitors may see a change (not around a connection, whose effects
# the driver runs at once, nor while the machine restores itself; nor on `Resumed`: a flow
# that waited for the store goes on sending what the event before it read).
MONITORED_AFTER = frozenset(
    {
        CsmsRequest,
        GatewayCommand,
        CallAnswered,
        CallFailed,
        TimerFired,
        QueueDelivered,
        QueuedStartDelivered,
        DownloadDone,
        UploadDone,
        FrameLogRead,
        TransferFailed,
    }
)


def add_events(
    ctx: FlowContext, evaluator: MonitorEvaluator, event: Event, effects: list[Effect]
) -> None:
    """Add what the monitors report to the effects of `event`: after what the event did,
    before a failure (which ends the list)."""
    reported = after(ctx, evaluator, flush=type(event) is QueueDelivered)
    if reported:
        at = len(effects) - 1 if effects and isinstance(effects[-1], Fail) else len(effects)
        effects[at:at] = reported


def after(ctx: FlowContext, evaluator: MonitorEvaluator, *, flush: bool) -> list[Effect]:
    """What the monitors report after an event the machine handled. `flush`: the station
    just registered and delivered its queue; what waited offline goes out now."""
    if ctx.station.config.get(ENABLED_KEY) == "false":
        return []
    return deliver(ctx, evaluator.evaluate(ctx.now), flush=flush)


def deliver(ctx: FlowContext, events: list[MonitorEvent], *, flush: bool) -> list[Effect]:
    monitors = ctx.station.monitors
    if not events and not (flush and monitors.pending):
        return []  # the common case
    level = monitors.level
    reported = [event for event in events if event.severity <= level]
    if not ctx.online:
        offline_level = _offline_severity(ctx)
        monitors.queue(event for event in reported if event.severity <= offline_level)
        return []
    if flush and monitors.pending:
        reported = monitors.take_pending() + reported
    return notices(ctx, reported)


def notices(ctx: FlowContext, events: Sequence[MonitorEvent]) -> list[Effect]:
    """NotifyEvent messages for `events` (seqNo counts the parts of one notice)."""
    chunks = [
        events[start : start + EVENTS_PER_NOTICE]
        for start in range(0, len(events), EVENTS_PER_NOTICE)
    ]
    return [
        SendCall(EventNotice(ctx.now, seq_no, tuple(chunk), seq_no < len(chunks) - 1))
        for seq_no, chunk in enumerate(chunks)
    ]


def _offline_severity(ctx: FlowContext) -> int:
    try:
        return int(ctx.station.config.get(OFFLINE_SEVERITY_KEY) or DEFAULT_OFFLINE_SEVERITY)
    except ValueError:
        return DEFAULT_OFFLINE_SEVERITY
