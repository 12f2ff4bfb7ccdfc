"""Status reporting: StatusNotification for every connector whose status changed, in order
and one report at a time (a flow already reporting picks up what changes meanwhile). 2.x
folds the statuses into its ConnectorStatus words, reports per EVSE only, and tells a running
transaction's charging state changes as TransactionEvents. Offline nothing is reported:
a new registration reports every status again."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Persist
from voltlab.fleet.machine.flow import Call, CallFailure, Flow
from voltlab.fleet.machine.flows.sequence import transaction_ref
from voltlab.fleet.machine.session_messages import (
    ChargingStateChanged,
    ReportStatuses,
    StatusReport,
)
from voltlab.fleet.model.records import StatusChange
from voltlab.ocpp.vocabulary.connector_status import charging_state_2x, connector_status_2x

# Frozen, so one of each serves every flow (a flow reports after nearly every step).
_PERSIST = Persist()
_CHANGES = ReportStatuses()


def report_statuses(ctx: FlowContext, command: ReportStatuses) -> Flow[None]:
    station = ctx.station
    station.advance(ctx.now)
    yield _PERSIST
    if command.again:
        if command.connector_ids is None:
            station.forget_reported_status()
            _forget_folded(ctx)
        else:
            # TriggerMessage: these connectors' statuses again, whatever was reported.
            for connector_id in command.connector_ids:
                ok = yield from _report(ctx, station.connector_status(connector_id), True)
                if not ok:
                    return
            return
    if not ctx.online or ctx.reporting_statuses:
        return
    ctx.reporting_statuses = True
    try:
        while changes := station.status_changes():
            for change in changes:
                if not station.is_current(change):
                    continue  # superseded while an earlier report was on the wire: not sent
                ok = yield from _report(ctx, change, False)
                if not ok:
                    station.forget_reported_status()
                    return
    except GeneratorExit:  # abandoned mid-report: what was sent may not have arrived
        station.forget_reported_status()
        raise
    finally:
        ctx.reporting_statuses = False


def report_changes(ctx: FlowContext) -> Flow[None]:
    """Report what changed now, as a step of the flow that changed it: the CSMS sees each
    status the station passed through (Finishing before Available), not only the last."""
    yield from report_statuses(ctx, _CHANGES)


def _forget_folded(ctx: FlowContext) -> None:
    ctx.reported_statuses.clear()
    running = {tx.local_id for tx in ctx.station.transactions()}
    for local_id in set(ctx.charging_states) - running:
        del ctx.charging_states[local_id]


def _report(ctx: FlowContext, change: StatusChange, asked: bool) -> Flow[bool]:
    """Report one status change; False when the CSMS did not get it."""
    if not ctx.folds_statuses_2x:
        answer = yield Call(_status(ctx, change, change.status))
        return not isinstance(answer, CallFailure)
    connector_id = change.connector_id
    if connector_id == 0:
        return True  # 2.x reports per EVSE/connector; the station as a whole has no status
    conn = ctx.station.connectors[connector_id]
    status: str = connector_status_2x(change.status)
    if status == "Occupied" and not conn.plugged and conn.transaction is None:
        status = "Available"  # waiting for a cable after a remote start: nothing there yet
    if asked or ctx.reported_statuses.get(connector_id) != status:
        ctx.reported_statuses[connector_id] = status
        answer = yield Call(_status(ctx, change, status))
        if isinstance(answer, CallFailure):
            ctx.reported_statuses.pop(connector_id, None)
            return False
    tx = conn.transaction
    if tx is None or tx.transaction_id is None:
        return True
    state = charging_state_2x(change.status)
    # A transaction announced (seqNo 0 sent) starts out EVConnected.
    known = ctx.charging_states.get(tx.local_id, "EVConnected" if tx.seq_no else None)
    if state is not None and known not in (None, state):
        ctx.charging_states[tx.local_id] = state
        message = ChargingStateChanged(transaction_ref(tx), state, "ChargingStateChanged", ctx.now)
        answer = yield Call(message)
        return not isinstance(answer, CallFailure)
    return True


def _status(ctx: FlowContext, change: StatusChange, status: str) -> StatusReport:
    return StatusReport(
        change.connector_id,
        status,
        change.error_code,
        change.info,
        change.vendor_error_code,
        ctx.now,
    )
