"""Reset and UnlockConnector. A reset stops every transaction (its reason says which reset),
drops remote starts waiting for a cable, forgets the registration and reconnects; 2.x can
reset one EVSE (stopping its transaction) or wait until the station is idle. An unlock
finishes the connector's transaction first and answers only then (1.6 5.18: "the Charge
Point SHALL finish the transaction first"): the one CSMS request whose answer waits for the
station's own calls."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.control_messages import (
    ResetAnswer,
    ResetRequest,
    UnlockAnswer,
    UnlockRequest,
)
from voltlab.fleet.machine.effects import (
    Answer,
    Effect,
    Persist,
    Reconnect,
    SendCall,
)
from voltlab.fleet.machine.flow import Flow, FlowStepper, no_result
from voltlab.fleet.machine.flows.cable import CABLE_TIMER
from voltlab.fleet.machine.flows.sessions import stop_transaction
from voltlab.fleet.machine.flows.status import report_changes
from voltlab.fleet.machine.maintenance_messages import SecurityEventReport


def reset_request(ctx: FlowContext, flows: FlowStepper, request: ResetRequest) -> list[Effect]:
    station = ctx.station
    if request.connector_id is not None:
        connector_id = request.connector_id
        if connector_id not in station.connectors:
            return [Answer(ResetAnswer("Rejected"))]
        if station.connectors[connector_id].transaction is None:
            return [Answer(ResetAnswer("Accepted"))]
        flow: Flow[object] = stop_transaction(ctx, connector_id, "ImmediateReset")
        return [Answer(ResetAnswer("Accepted")), *flows.start(flow, no_result)]
    if request.on_idle and station.transactions():
        ctx.reset_when_idle = True  # the last stop resets (sessions.stop_transaction)
        return [Answer(ResetAnswer("Scheduled"))]
    return [Answer(ResetAnswer("Accepted")), *flows.start(reset(ctx, request.hard), no_result)]


def reset(ctx: FlowContext, hard: bool, boot_reason: str = "RemoteReset") -> Flow[None]:
    station = ctx.station
    reason = "HardReset" if hard else "SoftReset"
    yield SendCall(SecurityEventReport("ResetOrReboot", ctx.now, f"{reason} requested"))
    for tx in station.transactions():
        yield from stop_transaction(ctx, tx.connector_id, reason)
    for connector_id in list(ctx.awaiting_cable):
        del ctx.awaiting_cable[connector_id]
        yield ctx.cancel_timer(f"{CABLE_TIMER}{connector_id}")
        station.set_preparing(connector_id, False)
    yield from report_changes(ctx)
    station.registration = None
    yield Persist()
    yield Reconnect(boot_reason)


def unlock_request(
    ctx: FlowContext, request: UnlockRequest, *, keeps_authorized: bool
) -> Flow[UnlockAnswer]:
    connector_id = request.connector_id
    if connector_id is None or connector_id not in ctx.station.connectors:
        return UnlockAnswer("UnknownConnector")
    tx = ctx.station.connectors[connector_id].transaction
    if keeps_authorized and tx is not None and tx.id_tag is not None:
        return UnlockAnswer("OngoingAuthorizedTransaction")
    return (yield from unlock(ctx, connector_id))


def unlock(ctx: FlowContext, connector_id: int) -> Flow[UnlockAnswer]:
    conn = ctx.station.connector(connector_id)
    if conn.fault is not None and conn.fault.fault_type == "ConnectorLockFailure":
        return UnlockAnswer("UnlockFailed")
    if conn.transaction is not None:
        yield from stop_transaction(ctx, connector_id, "UnlockCommand")
    conn.locked = False
    yield Persist()
    return UnlockAnswer("Unlocked")
