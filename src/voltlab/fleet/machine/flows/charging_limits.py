"""Limits from outside the CSMS (OCPP 2.0.1 K12/K13; reused by 2.1).

An external limit (the gateway's `set-charging-limit`: an EMS, a grid operator) caps the
station's power at once, as a charging profile does; a 2.x station then tells its CSMS with
NotifyChargingLimit when the limit moved by more than SmartChargingCtrlr.
LimitChangeSignificance (percent of the limit last reported), with the limit as a schedule
when NotifyChargingLimitWithSchedules is true; clearing it sends ClearedChargingLimit.
GetCompositeSchedule and an ISO 15118 EV's plan see the limit too (`flows/profiles`,
`flows/ev_charging`)."""

from __future__ import annotations

from voltlab.fleet.machine.charging_limit_messages import (
    ChargingLimitCleared,
    ChargingLimitNotice,
    ClearExternalLimit,
    ExternalLimitAnswer,
    PlannedPeriod,
    PlannedSchedule,
    SetExternalLimit,
)
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Persist, SendCall
from voltlab.fleet.machine.flows.profiles import limits_changed
from voltlab.fleet.model.charging_profile import WATT
from voltlab.fleet.model.external_limits import SOURCES, ExternalLimit
from voltlab.fleet.model.records import StationError

SIGNIFICANCE_KEY = "SmartChargingCtrlr.LimitChangeSignificance"
WITH_SCHEDULES_KEY = "SmartChargingCtrlr.NotifyChargingLimitWithSchedules"
ENABLED_KEY = "SmartChargingCtrlr.ExternalControlSignalsEnabled"


# -- external limits ----------------------------------------------------------------------------


def set_external_limit(ctx: FlowContext, command: SetExternalLimit) -> list[Effect]:
    station = ctx.station
    if station.config.get(ENABLED_KEY) == "false":
        raise StationError(
            "external_control_disabled",
            "SmartChargingCtrlr.ExternalControlSignalsEnabled is false: the station ignores "
            "external limits",
        )
    _check_connector(ctx, command.connector_id)
    if command.source not in SOURCES:
        raise StationError("invalid_source", f"source must be one of {', '.join(SOURCES)}")
    limits = station.external_limits
    limit = ExternalLimit(
        command.connector_id, command.limit_w, command.source, command.grid_critical, ctx.now
    )
    limits.set(limit)
    effects: list[Effect] = [Persist(), *limits_changed(ctx)]
    notified = ctx.reports_charging_limits and _significant(ctx, limit)
    if notified:
        limits.notified[limit.connector_id] = limit.limit_w
        effects.append(SendCall(_notice(ctx, limit)))
    answer = ExternalLimitAnswer(limit.connector_id, limit.limit_w, limit.source, notified)
    return [*effects, Answer(answer)]


def clear_external_limit(ctx: FlowContext, command: ClearExternalLimit) -> list[Effect]:
    _check_connector(ctx, command.connector_id)
    removed = ctx.station.external_limits.clear(command.connector_id)
    if removed is None:
        raise StationError(
            "no_limit", f"connector {command.connector_id} has no external limit to clear"
        )
    effects: list[Effect] = [Persist(), *limits_changed(ctx)]
    if ctx.reports_charging_limits:
        evse_id = removed.connector_id or None
        effects.append(SendCall(ChargingLimitCleared(evse_id, removed.source)))
    answer = ExternalLimitAnswer(
        removed.connector_id, None, removed.source, ctx.reports_charging_limits
    )
    return [*effects, Answer(answer)]


def _check_connector(ctx: FlowContext, connector_id: int) -> None:
    if connector_id != 0:
        ctx.station.connector(connector_id)  # raises unknown_connector


def _significant(ctx: FlowContext, limit: ExternalLimit) -> bool:
    """K12: reported when it moved by more than LimitChangeSignificance percent of the limit
    last reported (a first limit always is)."""
    before = ctx.station.external_limits.notified.get(limit.connector_id)
    if before is None:
        return True
    try:
        significance = float(ctx.station.config.get(SIGNIFICANCE_KEY) or 0.0)
    except ValueError:
        significance = 0.0
    if before == 0:
        return limit.limit_w != 0
    return abs(limit.limit_w - before) / before * 100.0 > significance


def _notice(ctx: FlowContext, limit: ExternalLimit) -> ChargingLimitNotice:
    schedule = None
    if ctx.station.config.get(WITH_SCHEDULES_KEY) == "true":
        period = PlannedPeriod(0, round(limit.limit_w, 1))
        schedule = PlannedSchedule(limit.connector_id, ctx.now, None, WATT, (period,))
    return ChargingLimitNotice(
        limit.connector_id or None, limit.source, limit.grid_critical, schedule
    )
