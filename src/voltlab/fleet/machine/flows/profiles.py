"""Charging profiles: install and clear them on the station model, whose limits cap the EV's
power (and move the duration/energy limit timers). A profile's limit changes at its
schedule's period boundaries: the `profiles` timer re-applies it then. The CSMS reads them
back as a composite schedule (GetCompositeSchedule) or one by one (2.x GetChargingProfiles,
answered, then reported per connector)."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.control_messages import (
    ChargingProfilesReport,
    ClearChargingProfile,
    ClearChargingProfileAnswer,
    CompositeScheduleAnswer,
    GetChargingProfiles,
    GetChargingProfilesAnswer,
    GetCompositeSchedule,
    SetChargingProfile,
    SetChargingProfileAnswer,
)
from voltlab.fleet.machine.effects import (
    Answer,
    Effect,
    Observe,
    Persist,
    ReportStatus,
    SendCall,
)
from voltlab.fleet.machine.flow import Flow
from voltlab.fleet.machine.flows.ev_charging import ev_charging_schedule
from voltlab.fleet.machine.flows.metering import schedule_limit
from voltlab.fleet.machine.flows.operation_modes import mode_changes
from voltlab.fleet.model.smart_charging import ChargingProfile

PROFILES_TIMER = "profiles"


def set_charging_profile(
    ctx: FlowContext, request: SetChargingProfile, *, profile_rules: str
) -> list[Effect]:
    if request.profile is None:
        detail = f"the station could not read the profile: {request.refusal or 'unreadable'}"
        return [
            Observe("csms-invalid-charging-profile", detail, "request"),
            Answer(SetChargingProfileAnswer("Rejected", request.refusal)),
        ]
    reason = _refusal(ctx, request.connector_id, request.profile, profile_rules)
    status = install(ctx, request.connector_id, request.profile, profile_rules=profile_rules)
    if status != "Accepted":
        detail = f"SetChargingProfile rejected: {reason or 'the station refused it'}"
        return [
            Observe("csms-invalid-charging-profile", detail, "request"),
            Answer(SetChargingProfileAnswer(status)),
        ]
    plan = ev_charging_schedule(ctx, request.connector_id, request.profile)
    return [Persist(), Answer(SetChargingProfileAnswer(status)), *limits_changed(ctx), *plan]


def _refusal(
    ctx: FlowContext, connector_id: int, profile: ChargingProfile, profile_rules: str
) -> str | None:
    """Why `install` would refuse the profile (None: it would not, on these grounds)."""
    station = ctx.station
    if connector_id != 0 and connector_id not in station.connectors:
        return f"connector {connector_id} does not exist"
    tx = station.connectors[connector_id].transaction if connector_id else None
    return station.profiles.check_install(
        connector_id,
        profile,
        transaction_id=None if tx is None else tx.transaction_id,
        in_transaction=tx is not None,
        ocpp_version=profile_rules,
    )


def install(
    ctx: FlowContext, connector_id: int, profile: ChargingProfile, *, profile_rules: str
) -> str:
    """Install a profile on the station model: Accepted or Rejected."""
    station = ctx.station
    if connector_id != 0 and connector_id not in station.connectors:
        return "Rejected"
    tx = station.connectors[connector_id].transaction if connector_id else None
    station.advance(ctx.now)
    return station.profiles.install(
        connector_id,
        profile,
        ctx.now,
        transaction_id=None if tx is None else tx.transaction_id,
        in_transaction=tx is not None,
        ocpp_version=profile_rules,
    )


def install_pending(ctx: FlowContext, connector_id: int, *, profile_rules: str) -> Flow[None]:
    """A TxProfile that came with a remote start applies once its transaction exists."""
    profile = ctx.pending_profiles.pop(connector_id, None)
    if profile is None:
        return
    if install(ctx, connector_id, profile, profile_rules=profile_rules) == "Accepted":
        yield Persist()
        yield from limits_changed(ctx)
        yield from ev_charging_schedule(ctx, connector_id, profile)


def clear_charging_profile(ctx: FlowContext, request: ClearChargingProfile) -> list[Effect]:
    ctx.station.advance(ctx.now)
    cleared = ctx.station.profiles.clear(
        id=request.profile_id,
        connector_id=request.connector_id,
        purpose=request.purpose,
        stack_level=request.stack_level,
    )
    if not cleared:
        return [Answer(ClearChargingProfileAnswer(False))]
    return [Persist(), Answer(ClearChargingProfileAnswer(True)), *limits_changed(ctx)]


def limits_changed(ctx: FlowContext) -> list[Effect]:
    """Apply the limits that hold now: the EV's power follows, so do the limit timers and
    the statuses; then wait for the next period boundary of any profile."""
    station = ctx.station
    station.advance(ctx.now)
    effects: list[Effect] = []
    for tx in station.transactions():
        effects.extend(schedule_limit(ctx, tx))
    effects.append(ReportStatus())
    effects.extend(mode_changes(ctx))  # 2.1: a transaction's operation mode changed
    change = station.next_limit_change(ctx.now)
    if change is None:
        if PROFILES_TIMER in ctx.timers:
            effects.append(ctx.cancel_timer(PROFILES_TIMER))
    else:
        effects.append(ctx.set_timer(PROFILES_TIMER, max(ctx.now, change) + 0.001))
    return effects


def get_composite_schedule(ctx: FlowContext, request: GetCompositeSchedule) -> list[Effect]:
    """The limits over the coming `duration` seconds, capped by what the connector (0: the
    station) can deliver, so that no instant goes without a limit."""
    station = ctx.station
    connector_id = request.connector_id
    if connector_id != 0 and connector_id not in station.connectors:
        return [Answer(CompositeScheduleAnswer(None))]
    tx = station.connectors[connector_id].transaction if connector_id else None
    if connector_id == 0:
        max_w = float(station.model.max_station_power_w)
    else:
        max_w = float(station.connectors[connector_id].spec.max_power_w)
    # External limits (an EMS's) hold over the whole window as well (K12).
    for limited in {connector_id, 0}:
        external = station.external_limits.limit_w(limited)
        if external is not None:
            max_w = min(max_w, external)
    schedule = station.profiles.composite_schedule(
        connector_id,
        ctx.now,
        request.duration,
        request.unit,
        tx_started_at=None if tx is None else tx.started_at,
        phases=station.phases(connector_id),
        max_w=max_w,
    )
    return [Answer(CompositeScheduleAnswer(schedule))]


def get_charging_profiles(ctx: FlowContext, request: GetChargingProfiles) -> list[Effect]:
    """Answer whether any profile matches; the matches follow, one report per connector."""
    found = ctx.station.profiles.profiles(
        request.connector_id,
        purpose=request.purpose,
        stack_level=request.stack_level,
        ids=request.profile_ids,
    )
    if not found:
        return [Answer(GetChargingProfilesAnswer(False))]
    by_connector: dict[int, list[ChargingProfile]] = {}
    for item in found:
        by_connector.setdefault(item.connector_id, []).append(item.profile)
    last = max(by_connector)
    reports = [
        SendCall(ChargingProfilesReport(request.request_id, cid, tuple(items), cid != last))
        for cid, items in sorted(by_connector.items())
    ]
    return [Answer(GetChargingProfilesAnswer(True)), *reports]
