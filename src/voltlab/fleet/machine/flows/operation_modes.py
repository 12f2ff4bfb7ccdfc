"""2.1: a transaction's operation mode, as the CSMS hears of it. When the mode the schedule in
force asks of a running transaction changes (a TxProfile in CentralSetpoint installed, its
period over, the profile cleared), the station says so with a TransactionEvent Updated whose
triggerReason is OperationModeChanged, carrying the new mode. Without a period of its own a
transaction is in the default mode, ChargingOnly."""

from __future__ import annotations

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Effect, SendCall
from voltlab.fleet.machine.flows.sequence import transaction_ref
from voltlab.fleet.machine.session_messages import OperationModeChanged
from voltlab.fleet.model import v2x
from voltlab.fleet.model.charging_profile import CHARGING_ONLY


def mode_changes(ctx: FlowContext) -> list[Effect]:
    """A TransactionEvent for each confirmed transaction whose operation mode changed."""
    if not ctx.bidirectional:
        return []
    station = ctx.station
    effects: list[Effect] = []
    running = set()
    for tx in station.transactions():
        running.add(tx.local_id)
        mode = v2x.operation_mode(station, tx.connector_id) or CHARGING_ONLY
        if ctx.operation_modes.get(tx.local_id, CHARGING_ONLY) == mode:
            continue
        ctx.operation_modes[tx.local_id] = mode
        if tx.transaction_id is not None and tx.confirmed:
            effects.append(SendCall(OperationModeChanged(transaction_ref(tx), mode, ctx.now)))
    for ended in set(ctx.operation_modes) - running:
        del ctx.operation_modes[ended]
    return effects
