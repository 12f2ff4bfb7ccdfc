"""Display messages (OCPP 2.0.1 O01-O06, reused by 2.1): SetDisplayMessage stores a message by
the CSMS's rules, GetDisplayMessages answers whether any match and then reports them as
NotifyDisplayMessages pages, ClearDisplayMessage removes one. Validity is judged at the event's
`now`; a message tied to a transaction goes when the transaction ends (the station model
does that)."""

from __future__ import annotations

from collections.abc import Sequence

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.display_requests import (
    ClearDisplayMessage,
    DisplayMessagesAnswer,
    DisplayMessagesPage,
    DisplayRequest,
    GetDisplayMessages,
    SetDisplayMessage,
    SetDisplayMessageAnswer,
)
from voltlab.fleet.machine.effects import Answer, Effect, Persist
from voltlab.fleet.machine.flow import Call, CallFailure, Flow, FlowStepper, no_result
from voltlab.fleet.model.display_messages import FORMATS, PRIORITIES, STATES, DisplayMessage

ENABLED_KEY = "DisplayMessageCtrlr.Enabled"
PAGE = 10  # messages per NotifyDisplayMessages


def request(ctx: FlowContext, flows: FlowStepper, message: DisplayRequest) -> list[Effect]:
    if isinstance(message, SetDisplayMessage):
        answer = _set(ctx, message.message)
        stored = answer.status == "Accepted"
        return [Persist(), Answer(answer)] if stored else [Answer(answer)]
    if isinstance(message, ClearDisplayMessage):
        removed = ctx.station.display_messages.remove(message.message_id)
        if not removed:
            return [Answer(DisplayMessagesAnswer("Unknown"))]
        return [Persist(), Answer(DisplayMessagesAnswer("Accepted"))]
    return _get(ctx, flows, message)


def _set(ctx: FlowContext, message: DisplayMessage) -> SetDisplayMessageAnswer:
    station, now = ctx.station, ctx.now
    if station.config.get(ENABLED_KEY) == "false":
        return SetDisplayMessageAnswer("Rejected", "Disabled", "DisplayMessageCtrlr is disabled")
    if message.message_format not in FORMATS:
        return SetDisplayMessageAnswer("NotSupportedMessageFormat")
    if message.priority not in PRIORITIES:
        return SetDisplayMessageAnswer("NotSupportedPriority")
    if message.state is not None and message.state not in STATES:
        return SetDisplayMessageAnswer("NotSupportedState")
    tx_id = message.transaction_id
    if tx_id is not None and station.find_transaction(tx_id) is None:
        return SetDisplayMessageAnswer("UnknownTransaction")
    if message.start is not None and message.end is not None and message.end <= message.start:
        return SetDisplayMessageAnswer(
            "Rejected", "InvalidValue", "endDateTime is not after startDateTime"
        )
    if message.end is not None and message.end <= now:
        return SetDisplayMessageAnswer("Rejected", "InvalidValue", "endDateTime has passed")
    messages = station.display_messages
    if not messages.has_room_for(message.id):
        return SetDisplayMessageAnswer(
            "Rejected", "TooManyElements", f"the display keeps {messages.capacity} messages"
        )
    messages.put(message, now)  # an existing id is replaced (O01)
    return SetDisplayMessageAnswer("Accepted")


def _get(ctx: FlowContext, flows: FlowStepper, message: GetDisplayMessages) -> list[Effect]:
    found = ctx.station.display_messages.select(
        ctx.now, message.ids, message.priority, message.state
    )
    if not found:
        return [Answer(DisplayMessagesAnswer("Unknown"))]
    pages = _pages(message.request_id, found)
    return [Answer(DisplayMessagesAnswer("Accepted")), *flows.start(pages, no_result)]


def _pages(request_id: int, messages: Sequence[DisplayMessage]) -> Flow[None]:
    chunks = [messages[start : start + PAGE] for start in range(0, len(messages), PAGE)]
    for index, chunk in enumerate(chunks):
        more = index < len(chunks) - 1
        answer = yield Call(DisplayMessagesPage(request_id, tuple(chunk), more))
        if isinstance(answer, CallFailure):
            return
