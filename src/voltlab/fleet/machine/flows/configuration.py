"""Configuration: 1.6 ChangeConfiguration and GetConfiguration over the station's keys, and
the 2.x device model over the same settings: GetVariables, SetVariables, and reports
(GetBaseReport / GetReport answered, then sent as NotifyReport pages, one after the other).

A change of a key something depends on brings that along before the answer
(`KeyChanged`: HeartbeatInterval re-arms the heartbeat). Values are read at the request's
`now` (ClockCtrlr.DateTime), never from a clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from voltlab.fleet.machine.configuration_messages import (
    ChangeConfiguration,
    ChangeConfigurationAnswer,
    ConfigurationAnswer,
    GetBaseReport,
    GetConfiguration,
    GetReport,
    GetVariables,
    ReportAnswer,
    ReportPage,
    SetVariables,
    VariablesAnswer,
)
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Persist
from voltlab.fleet.machine.flow import Call, CallFailure, Flow, FlowStepper, no_result
from voltlab.fleet.model.device_model import FULL_INVENTORY, DeviceModel, pages
from voltlab.fleet.model.device_model_types import ReportItem

# Report items per NotifyReport.
REPORT_PAGE = 20
# What a key change brings along (the machine's registration re-arms the heartbeat).
KeyChanged = Callable[[str], list[Effect]]
STORED = ("Accepted", "RebootRequired")


def change_configuration(
    ctx: FlowContext, request: ChangeConfiguration, key_changed: KeyChanged
) -> list[Effect]:
    status = ctx.station.config.set_by_csms(request.key, request.value)
    answer = Answer(ChangeConfigurationAnswer(status))
    if status not in STORED:
        return [answer]
    return [Persist(), *key_changed(request.key), answer]


def get_configuration(ctx: FlowContext, request: GetConfiguration) -> list[Effect]:
    entries, unknown = ctx.station.config.entries(list(request.keys or ()))
    return [Answer(ConfigurationAnswer(tuple(entries), tuple(unknown)))]


def get_variables(ctx: FlowContext, model: DeviceModel, request: GetVariables) -> list[Effect]:
    return [Answer(VariablesAnswer(tuple(model.get_variables(request.items, ctx.now))))]


def set_variables(
    model: DeviceModel, request: SetVariables, key_changed: KeyChanged
) -> list[Effect]:
    results = model.set_variables(request.items)
    effects: list[Effect] = [Persist()]
    changed: list[str] = []
    for item, result in zip(request.items, results, strict=True):
        key = model.setting_of(item.component, item.variable)
        if result.status in STORED and key is not None and key not in changed:
            changed.append(key)
            effects += key_changed(key)
    return [*effects, Answer(VariablesAnswer(tuple(results)))]


def get_base_report(
    ctx: FlowContext, model: DeviceModel, flows: FlowStepper, request: GetBaseReport
) -> list[Effect]:
    try:
        items = model.report(request.base, now=ctx.now)
    except ValueError:
        return [Answer(ReportAnswer("NotSupported"))]
    return _report(ctx, flows, request.request_id, items)


def get_report(
    ctx: FlowContext, model: DeviceModel, flows: FlowStepper, request: GetReport
) -> list[Effect]:
    items = model.report(FULL_INVENTORY, request.filters, request.criteria, now=ctx.now)
    return _report(ctx, flows, request.request_id, items)


def _report(
    ctx: FlowContext, flows: FlowStepper, request_id: int, items: Sequence[ReportItem]
) -> list[Effect]:
    if not items:
        return [Answer(ReportAnswer("EmptyResultSet"))]
    notify = notify_report(ctx, request_id, items)
    return [Answer(ReportAnswer("Accepted")), *flows.start(notify, no_result)]


def notify_report(ctx: FlowContext, request_id: int, items: Sequence[ReportItem]) -> Flow[None]:
    """The report's pages in order, each once the CSMS answered the one before; the report
    is what the station held at the request, generated then."""
    generated_at = ctx.now
    chunks = pages(items, REPORT_PAGE)
    for seq_no, chunk in enumerate(chunks):
        last = seq_no == len(chunks) - 1
        page = ReportPage(request_id, generated_at, seq_no, tuple(chunk), more_follow=not last)
        answer = yield Call(page)
        if isinstance(answer, CallFailure):
            return  # a page the CSMS missed: the pages after it would not complete the report
