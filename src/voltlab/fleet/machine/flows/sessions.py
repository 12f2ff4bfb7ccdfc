"""Charging sessions: cable in and out, start (with the CSMS's view of the id tag deciding
whether energy flows), stop, the remote start that waits for a cable, and closing what a
crash left open. Flows that wait for the CSMS yield `Call`s (machine.flow)."""

from __future__ import annotations

from voltlab.fleet.machine import csms_rules
from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Persist, ResetStation
from voltlab.fleet.machine.events import QueuedStartDelivered
from voltlab.fleet.machine.flow import Call, CallFailure, Flow
from voltlab.fleet.machine.flows.authorization import learn
from voltlab.fleet.machine.flows.ev_charging import ev_charging_needs
from voltlab.fleet.machine.flows.local_cost import close_meter, open_meter, tariff_of
from voltlab.fleet.machine.flows.metering import (
    LIMIT_TIMER,
    SAMPLE_TIMER,
    meter_value,
    schedule_limit,
    schedule_sampling,
)
from voltlab.fleet.machine.flows.profiles import install_pending
from voltlab.fleet.machine.flows.sequence import transaction_ref
from voltlab.fleet.machine.flows.status import report_changes
from voltlab.fleet.machine.session_messages import (
    StartTransaction,
    TransactionAuthorized,
    TransactionAuthorizedAnswer,
    TransactionEnded,
    TransactionEndedAnswer,
    TransactionStarted,
    TransactionStartedAnswer,
)
from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.records import MeterReading, StationError, Transaction


def may_start_offline(ctx: FlowContext, id_tag: str) -> bool:
    config = ctx.station.config
    if config.get_bool("AllowOfflineTxForUnknownId"):
        return True
    if not config.get_bool("LocalAuthorizeOffline"):
        return False
    station = ctx.station
    listed = station.local_list.lookup(id_tag) if config.get_bool("LocalAuthListEnabled") else None
    cached = (
        station.auth_cache.lookup(id_tag) if config.get_bool("AuthorizationCacheEnabled") else None
    )
    return any(info is not None and info.is_valid_at(ctx.now) for info in (listed, cached))


def start_transaction(ctx: FlowContext, command: StartTransaction) -> Flow[Transaction]:
    """Start charging for an id tag: a new transaction, or (2.x, TxStartPoint EVConnected)
    the one the cable already opened, which now gets its id tag. Offline, the station starts
    only for an id tag it may authorize locally; its messages are queued."""
    if not ctx.online and not may_start_offline(ctx, command.id_tag):
        raise ctx.not_connected()
    station = ctx.station
    connector_id = command.connector_id
    open_tx = station.connector(connector_id).transaction
    if open_tx is not None and open_tx.id_tag is None:
        station.authorize_transaction(open_tx, command.id_tag, command.parent_id_tag, ctx.now)
        open_tx.id_token_type = command.id_token_type
        open_tx.duration_limit_s = command.duration_limit_s
        open_tx.energy_limit_wh = command.energy_limit_wh
        open_tx.remote_start_id = command.remote_start_id
        answer = yield Call(
            TransactionAuthorized(
                transaction_ref(open_tx),
                command.id_tag,
                "RemoteStart" if command.remote_start_id is not None else "Authorized",
                open_tx.reservation_id,
                command.remote_start_id,
                ctx.now,
                command.id_token_type,
            )
        )
        if isinstance(answer, CallFailure):
            open_tx.id_tag = None
            raise StationError("csms_error", f"authorizing the transaction failed: {answer.detail}")
        assert isinstance(answer, TransactionAuthorizedAnswer)
        return (yield from _confirmed(ctx, open_tx, answer.info))
    tx = station.begin_transaction(
        connector_id,
        command.id_tag,
        ctx.now,
        parent_id_tag=command.parent_id_tag,
        duration_limit_s=command.duration_limit_s,
        energy_limit_wh=command.energy_limit_wh,
        remote_start_id=command.remote_start_id,
    )
    tx.id_token_type = command.id_token_type
    yield from open_meter(ctx, tx)
    info = yield from _announce(ctx, tx)
    return (yield from _confirmed(ctx, tx, info))


def _started(
    ctx: FlowContext, tx: Transaction, begin: MeterReading | None = None
) -> TransactionStarted:
    if begin is None:
        begin = ctx.station.reading(tx.connector_id, tx.started_at)
        ctx.begin_readings[tx.local_id] = begin
    if ctx.station_names_transactions:
        tx.transaction_id = ctx.new_transaction_id()
    if tx.remote_start_id is not None:
        trigger = "RemoteStart"
    else:
        trigger = "Authorized" if tx.id_tag is not None else "CablePluggedIn"
    measurands = _transaction_measurands(ctx)
    return TransactionStarted(
        transaction_ref(tx),
        tx.id_tag,
        tx.started_at,
        tx.meter_start_wh,
        meter_value(ctx, tx.connector_id, begin, measurands, "Transaction.Begin"),
        trigger,
        tx.reservation_id,
        tx.remote_start_id,
        ctx.now,
        tariff_id=tariff_of(ctx, tx),
        id_token_type=tx.id_token_type,
    )


def _announce(ctx: FlowContext, tx: Transaction) -> Flow[IdTagInfo | None]:
    """Tell the CSMS a transaction began; undo it on the station if the CSMS never got it."""
    station = ctx.station
    answer = yield Call(_started(ctx, tx))
    if isinstance(answer, CallFailure):
        station.connector(tx.connector_id).transaction = None
        station.cost_meters.pop(tx.local_id, None)
        station.recompute_power()
        yield Persist()
        yield from report_changes(ctx)
        raise StationError(
            "csms_error", f"starting the transaction failed: {answer.detail or answer.reason}"
        )
    assert isinstance(answer, TransactionStartedAnswer)
    observed = csms_rules.start_answered(ctx.csms, tx.id_tag, answer.info, ctx.now)
    if observed is not None:
        yield observed
    if answer.transaction_id is not None:
        observed = csms_rules.transaction_id_given(ctx.csms, answer.transaction_id, tx.local_id)
        if observed is not None:
            yield observed
        tx.transaction_id = answer.transaction_id
        yield Persist(write_ahead=True)  # the CSMS's id is stored before energy flows
    if answer.info is not None:
        tx.parent_id_tag = answer.info.parent_id_tag or tx.parent_id_tag
    return answer.info if tx.id_tag is not None else None


def _confirmed(ctx: FlowContext, tx: Transaction, info: IdTagInfo | None) -> Flow[Transaction]:
    """The CSMS's view of the id tag decides whether energy flows."""
    station = ctx.station
    if tx.id_tag is not None and info is not None:
        yield from learn(station, tx.id_tag, info)
    if info is not None and info.status != "Accepted":
        if station.config.get_bool("StopTransactionOnInvalidId"):
            yield from stop_transaction(ctx, tx.connector_id, "DeAuthorized")
            return tx
        station.deauthorize(tx, ctx.now)
    station.confirm(tx, ctx.now)
    yield from install_pending(ctx, tx.connector_id, profile_rules=ctx.profile_rules)
    yield from schedule_sampling(ctx, tx.connector_id)
    yield from schedule_limit(ctx, tx)
    yield from report_changes(ctx)
    yield from ev_charging_needs(ctx, tx)
    return tx


def open_on_plug(ctx: FlowContext, connector_id: int) -> Flow[Transaction]:
    """2.x with TxStartPoint EVConnected: the cable opens the transaction; energy waits for
    authorization."""
    tx = ctx.station.begin_transaction(connector_id, None, ctx.now)
    yield from open_meter(ctx, tx)
    yield from _announce(ctx, tx)
    yield from schedule_sampling(ctx, connector_id)
    yield from report_changes(ctx)
    return tx


def stop_transaction(
    ctx: FlowContext, connector_id: int, reason: str, id_tag: str | None = None
) -> Flow[Transaction]:
    station = ctx.station
    tx = station.end_transaction(connector_id, ctx.now, reason)
    yield ctx.cancel_timer(f"{SAMPLE_TIMER}{connector_id}")
    yield ctx.cancel_timer(f"{LIMIT_TIMER}{connector_id}")
    if id_tag is not None:
        tx.id_tag = id_tag
    info = yield from _announce_end(ctx, tx, ctx.begin_readings.pop(tx.local_id, None))
    if info is not None and tx.id_tag is not None:
        yield from learn(station, tx.id_tag, info)
    yield from report_changes(ctx)
    if ctx.reset_when_idle and not station.transactions():
        ctx.reset_when_idle = False
        yield ResetStation(hard=True)
    return tx


def _announce_end(
    ctx: FlowContext, tx: Transaction, begin: MeterReading | None
) -> Flow[IdTagInfo | None]:
    if tx.transaction_id is None:
        return None
    stopped_at = tx.stopped_at if tx.stopped_at is not None else ctx.now
    reading = ctx.station.reading(tx.connector_id, stopped_at)
    answer = yield from _send_end(ctx, tx, reading, begin)
    if isinstance(answer, TransactionEndedAnswer):
        return answer.info
    return None  # lost: nothing to learn


def _send_end(
    ctx: FlowContext, tx: Transaction, reading: MeterReading, begin_reading: MeterReading | None
) -> Flow[TransactionEndedAnswer | CallFailure]:
    measurands = _transaction_measurands(ctx)
    begin = end = None
    if measurands:
        if begin_reading is not None:
            begin = meter_value(
                ctx, tx.connector_id, begin_reading, measurands, "Transaction.Begin"
            )
        end = meter_value(ctx, tx.connector_id, reading, measurands, "Transaction.End")
    tariff_id, cost = yield from close_meter(ctx, tx, reading)
    answer = yield Call(
        TransactionEnded(
            transaction_ref(tx),
            tx.id_tag,
            tx.started_at,
            reading.timestamp,
            reading.register_wh,
            tx.stop_reason or "Local",
            begin,
            end,
            ctx.station.connector(tx.connector_id).plugged,
            ctx.now,
            tariff_id,
            cost,
        )
    )
    assert isinstance(answer, TransactionEndedAnswer | CallFailure)
    return answer


def _transaction_measurands(ctx: FlowContext) -> tuple[str, ...]:
    configured = ctx.station.config.get_list("StopTxnSampledData")
    return tuple(configured) or ctx.default_transaction_measurands


def close_interrupted(ctx: FlowContext) -> Flow[None]:
    """Close the transactions a crash or restart left open with PowerLoss at the stored
    register (never below a meter value sent: `WaitForStoredMeter`). A start whose answer was
    not stored (1.6 learns the id from it) is announced again first, as a transaction
    message is delivered at least once."""
    station = ctx.station
    while station.interrupted:
        tx = station.interrupted[0]
        if tx.transaction_id is None:
            answer = yield Call(_restarted(ctx, tx))
            if isinstance(answer, CallFailure):
                return  # announced on the next connection
            assert isinstance(answer, TransactionStartedAnswer)
            if answer.transaction_id is not None:
                tx.transaction_id = answer.transaction_id
                yield Persist(write_ahead=True)
        tx.stopped_at, tx.stop_reason = ctx.now, "PowerLoss"
        reading = station.reading(tx.connector_id, ctx.now)
        tx.meter_stop_wh = reading.register_wh
        # Off the list before the stop is written ahead and sent: sent once, never again.
        station.interrupted.pop(0)
        answer = yield from _send_end(ctx, tx, reading, None)
        if isinstance(answer, CallFailure) and answer.reason == "not_connected":
            # Certainly not sent: keep it for the next connection.
            station.interrupted.insert(0, tx)
            yield Persist()
            return
        yield Persist()


def _restarted(ctx: FlowContext, tx: Transaction) -> TransactionStarted:
    """The start of an interrupted transaction, as it was announced before the crash."""
    begin = ctx.station.reading(tx.connector_id, tx.started_at)
    begin.timestamp, begin.register_wh = tx.started_at, tx.meter_start_wh
    return _started(ctx, tx, begin)


def queued_start_delivered(ctx: FlowContext, event: QueuedStartDelivered) -> Flow[None]:
    """The CSMS's id replaces the provisional one the transaction ran under offline."""
    tx = ctx.station.find_transaction(event.provisional_id)
    if tx is not None:
        tx.transaction_id = event.transaction_id
        yield Persist()
    if event.info is not None:
        yield from learn(ctx.station, event.id_tag, event.info)
