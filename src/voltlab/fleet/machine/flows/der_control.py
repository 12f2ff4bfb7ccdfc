"""DER control (OCPP 2.1 functional block R) and bidirectional power transfer's gateway side.

SetDERControl stores a control per type (superseding what it overrides), GetDERControl answers
then reports the matches as ReportDERControl pages, ClearDERControl removes them; the power
follows at once (a LimitMaxDischarge caps a discharge; see `fleet/model/der_controls.py`). A
grid event (a fault injected on the station) under a trip control raises NotifyDERAlarm, and
its end (the fault cleared, or the control gone) ends the alarm.

The gateway's `discharge` is an external setpoint on a connector (`fleet/model/v2x.py` says
when the station follows one)."""

from __future__ import annotations

from collections.abc import Sequence

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Persist, SendCall
from voltlab.fleet.machine.flow import Call, CallFailure, Flow, FlowStepper, no_result
from voltlab.fleet.machine.flows.profiles import limits_changed
from voltlab.fleet.machine.v2x_messages import (
    ClearDERControl,
    DERAlarm,
    DERControlAnswer,
    DERControlReport,
    DERRequest,
    Discharge,
    DischargeAnswer,
    GetDERControl,
    GridConditionAnswer,
    SetDERControl,
)
from voltlab.fleet.model import v2x
from voltlab.fleet.model.charging_profile import (
    CENTRAL_FREQUENCY,
    CENTRAL_SETPOINT,
    CHARGING_ONLY,
    IDLE,
    LOCAL_FREQUENCY,
)
from voltlab.fleet.model.der_controls import DEFAULT_ONLY, DerControl, grid_event
from voltlab.fleet.model.records import StationError

# ReportDERControl carries at most 24 settings of a kind: a page holds at most that many.
REPORT_PAGE = 24
# Modes whose setpoint comes from the schedule, not from an external system.
_OWN_SETPOINT_MODES = frozenset(
    {IDLE, CHARGING_ONLY, CENTRAL_SETPOINT, CENTRAL_FREQUENCY, LOCAL_FREQUENCY}
)


def request(ctx: FlowContext, flows: FlowStepper, message: DERRequest) -> list[Effect]:
    if isinstance(message, SetDERControl):
        return set_der_control(ctx, message)
    if isinstance(message, GetDERControl):
        return get_der_control(ctx, flows, message)
    return clear_der_control(ctx, message)


def set_der_control(ctx: FlowContext, message: SetDERControl) -> list[Effect]:
    control = message.control
    if message.refusal is not None:
        return [Answer(DERControlAnswer("Rejected", reason=message.refusal))]
    if control.control_type in DEFAULT_ONLY and not control.is_default:
        return [Answer(DERControlAnswer("Rejected", reason="DefaultOnly"))]
    ctx.station.advance(ctx.now)
    superseded = ctx.station.v2x.der.set(control)
    answer = DERControlAnswer("Accepted", superseded)
    return [Persist(), Answer(answer), *limits_changed(ctx), *alarm_changes(ctx)]


def get_der_control(ctx: FlowContext, flows: FlowStepper, message: GetDERControl) -> list[Effect]:
    found = ctx.station.v2x.der.find(
        is_default=message.is_default,
        control_type=message.control_type,
        control_id=message.control_id,
    )
    if not found:
        return [Answer(DERControlAnswer("NotFound"))]
    pages = _report_pages(message.request_id, found)
    return [Answer(DERControlAnswer("Accepted")), *flows.start(pages, no_result)]


def _report_pages(request_id: int, controls: Sequence[DerControl]) -> Flow[None]:
    """ReportDERControl pages in order (tbc on all but the last), each once the one before
    was answered; the report is what the station held at the request."""
    chunks = [controls[at : at + REPORT_PAGE] for at in range(0, len(controls), REPORT_PAGE)]
    for number, chunk in enumerate(chunks):
        more = number < len(chunks) - 1
        answer = yield Call(DERControlReport(request_id, tuple(chunk), more))
        if isinstance(answer, CallFailure):
            return  # the report is incomplete without that page: the rest would mislead


def clear_der_control(ctx: FlowContext, message: ClearDERControl) -> list[Effect]:
    ctx.station.advance(ctx.now)
    cleared = ctx.station.v2x.der.clear(
        is_default=message.is_default,
        control_type=message.control_type,
        control_id=message.control_id,
    )
    if not cleared:
        return [Answer(DERControlAnswer("NotFound"))]
    answer = DERControlAnswer("Accepted")
    return [Persist(), Answer(answer), *limits_changed(ctx), *alarm_changes(ctx)]


# -- grid events and alarms ---------------------------------------------------------------------


def alarm_changes(ctx: FlowContext) -> list[Effect]:
    """NotifyDERAlarm for each alarm that began or ended since the last look: an alarm is a
    grid event the station has under the trip control that answers it (R05: one alarm at a
    time per event; when another control takes over, the old alarm ends, the new begins)."""
    if not ctx.bidirectional:
        return []
    station, now = ctx.station, ctx.now
    der = station.v2x.der
    event = grid_event([station.station_fault.fault_type] if station.station_fault else [])
    wanted: dict[str, str] = {}
    control = der.trip(event, now)
    if event is not None and control is not None:
        wanted[event] = control.control_type
    alarms: list[DERAlarm] = []
    for raised_event, control_type in list(der.alarms.items()):
        if wanted.get(raised_event) != control_type:
            del der.alarms[raised_event]
            alarms.append(DERAlarm(control_type, raised_event, True, now))
    for new_event, control_type in wanted.items():
        if der.alarms.get(new_event) != control_type:
            der.alarms[new_event] = control_type
            alarms.append(DERAlarm(control_type, new_event, False, now))
    if not alarms:
        return []
    # Offline, an alarm is not sent late: the state it describes is reported as it is then.
    sends: list[Effect] = [SendCall(alarm) for alarm in alarms] if ctx.online else []
    return [Persist(), *sends]


def grid_condition_changed(ctx: FlowContext) -> list[Effect]:
    """The gateway injected or cleared a grid event: the power follows (a trip may stop it),
    the alarms are raised or ended."""
    station = ctx.station
    effects = [*limits_changed(ctx), *alarm_changes(ctx)]
    event = grid_event([station.station_fault.fault_type] if station.station_fault else [])
    alarms = tuple(
        effect.message
        for effect in effects
        if isinstance(effect, SendCall) and isinstance(effect.message, DERAlarm)
    )
    ceasing = station.v2x.der.ceases(event, ctx.now)
    return [*effects, Answer(GridConditionAnswer(event, alarms, ceasing))]


# -- the gateway's external setpoint ------------------------------------------------------------


def discharge(ctx: FlowContext, command: Discharge) -> list[Effect]:
    station = ctx.station
    if not ctx.bidirectional:
        raise StationError(
            "v2x_not_supported", "bidirectional power transfer (V2X) needs an OCPP 2.1 station"
        )
    conn = station.connector(command.connector_id)
    if command.power_w > 0:
        if not conn.plugged or conn.ev is None:
            raise StationError("not_plugged", f"no EV on connector {command.connector_id}")
        if not conn.ev.profile.bidirectional:
            raise StationError(
                "ev_not_bidirectional",
                f"the EV on connector {command.connector_id} ({conn.ev.profile.name}) cannot "
                "discharge; plug in a V2X EV profile (v2x-*)",
            )
    station.advance(ctx.now)
    setpoints = station.v2x.setpoints
    if command.power_w > 0:
        setpoints[command.connector_id] = -command.power_w
    else:
        setpoints.pop(command.connector_id, None)
    effects = [Persist(), *limits_changed(ctx)]
    mode = v2x.operation_mode(station, command.connector_id)
    answer = DischargeAnswer(
        command.connector_id,
        setpoints.get(command.connector_id),
        conn.power_w,
        mode,
        mode not in _OWN_SETPOINT_MODES,
    )
    return [*effects, Answer(answer)]
