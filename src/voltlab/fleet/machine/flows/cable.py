"""The cable and the sessions around it: plug in (2.x may open the transaction; an EV with a
contract authorizes with it, flows/plug_and_charge), unplug (stops the transaction or suspends
it, as configured), end a session, and the remote start that waits for a cable for
ConnectionTimeOut seconds."""

from __future__ import annotations

from voltlab.fleet.machine.context import AwaitingCable, FlowContext
from voltlab.fleet.machine.flow import Flow
from voltlab.fleet.machine.flows import plug_and_charge
from voltlab.fleet.machine.flows.authorization import authorize
from voltlab.fleet.machine.flows.sessions import open_on_plug, start_transaction, stop_transaction
from voltlab.fleet.machine.flows.status import report_changes
from voltlab.fleet.machine.session_messages import PlugIn, RemoteStart, StartTransaction
from voltlab.fleet.model.records import StationError, Transaction

CABLE_TIMER = "cable:"


def plug_in(ctx: FlowContext, command: PlugIn) -> Flow[Transaction | None]:
    connector_id = command.connector_id
    ctx.station.plug(connector_id, ctx.now, ev=command.ev)
    if f"{CABLE_TIMER}{connector_id}" in ctx.timers:
        yield ctx.cancel_timer(f"{CABLE_TIMER}{connector_id}")
    yield from report_changes(ctx)
    tx = None
    if ctx.online and ctx.points.opens_transaction_on_plug():
        tx = yield from open_on_plug(ctx, connector_id)
    waiting = ctx.awaiting_cable.pop(connector_id, None)
    ctx.pnc_outcomes.pop(connector_id, None)
    contract = plug_and_charge.contract_of(ctx, connector_id)
    if waiting is not None:  # the remote start's id tag, not the EV's contract
        ctx.station.set_preparing(connector_id, False)
        tx = yield from start_transaction(
            ctx,
            StartTransaction(
                connector_id,
                waiting.id_tag,
                parent_id_tag=waiting.parent_id_tag,
                remote_start_id=waiting.remote_start_id,
            ),
        )
    elif contract is not None:
        started = yield from plug_and_charge.plug_and_charge(
            ctx, connector_id, contract, command.wall_time
        )
        tx = started or tx
    return tx


def unplug(ctx: FlowContext, connector_id: int) -> Flow[Transaction | None]:
    station = ctx.station
    conn = station.connector(connector_id)
    if not conn.plugged:
        raise StationError("not_plugged", f"connector {connector_id} has no cable")
    tx = None
    if conn.transaction is not None:
        if ctx.points.stops_transaction_on_unplug():
            tx = yield from stop_transaction(ctx, connector_id, "EVDisconnected")
        else:
            # The transaction stays open without an EV: the EVSE suspends.
            station.set_ev_demand(connector_id, ctx.now, wants_energy=False)
            yield from report_changes(ctx)
            return None
    station.unplug(connector_id, ctx.now)
    yield from report_changes(ctx)
    return tx


def end_session(ctx: FlowContext, connector_id: int, reason: str) -> Flow[Transaction | None]:
    """Stop the transaction (if any) and take the cable out."""
    conn = ctx.station.connector(connector_id)
    tx = None
    if conn.transaction is not None:
        tx = yield from stop_transaction(ctx, connector_id, reason)
    if conn.plugged:
        ctx.station.unplug(connector_id, ctx.now)
    ctx.awaiting_cable.pop(connector_id, None)
    yield from report_changes(ctx)
    return tx


def choose_remote_connector(ctx: FlowContext, connector_id: int | None, id_tag: str) -> int | None:
    """The connector a remote start would use, or None to reject it."""
    station = ctx.station
    candidates = (
        [connector_id]
        if connector_id
        else sorted(station.connectors, key=lambda c: not station.connectors[c].plugged)
    )
    for candidate in candidates:
        try:
            station.check_can_start(candidate, id_tag, None)
        except StationError:
            continue
        if candidate in ctx.awaiting_cable:
            continue
        return candidate
    return None


def remote_start(ctx: FlowContext, command: RemoteStart) -> Flow[Transaction | None]:
    station = ctx.station
    connector_id = command.connector_id
    parent = None
    if station.config.get_bool("AuthorizeRemoteTxRequests"):
        decision = yield from authorize(
            station, command.id_tag, ctx.now, online=ctx.online, memory=ctx.csms
        )
        if not decision.accepted:
            return None
        parent = decision.info.parent_id_tag
    if command.profile is not None:
        # A TxProfile sent with the remote start applies once the transaction exists.
        ctx.pending_profiles[connector_id] = command.profile
    if station.connector(connector_id).plugged:
        return (
            yield from start_transaction(
                ctx,
                StartTransaction(
                    connector_id,
                    command.id_tag,
                    parent_id_tag=parent,
                    remote_start_id=command.remote_start_id,
                ),
            )
        )
    # No cable yet: the connector waits for one for ConnectionTimeOut seconds.
    ctx.awaiting_cable[connector_id] = AwaitingCable(
        command.id_tag, parent, command.remote_start_id
    )
    station.set_preparing(connector_id, True)
    yield from report_changes(ctx)
    timeout = station.config.get_int("ConnectionTimeOut")
    yield ctx.set_timer(f"{CABLE_TIMER}{connector_id}", ctx.now + timeout)
    return None


def cable_timeout(ctx: FlowContext, connector_id: int) -> Flow[None]:
    if ctx.awaiting_cable.pop(connector_id, None) is not None:
        ctx.station.set_preparing(connector_id, False)
        yield from report_changes(ctx)
