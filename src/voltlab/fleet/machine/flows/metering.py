"""Meter values: periodic samples during a transaction (MeterValueSampleInterval), samples on
request (TriggerMessage), and the timer that ends a transaction at its duration or energy
limit. Neutral `MeterValue`s; the codecs say them in a version's words."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Effect, SendCall
from voltlab.fleet.machine.flow import Call, Flow, WaitForStoredMeter
from voltlab.fleet.machine.flows.sequence import transaction_ref
from voltlab.fleet.machine.flows.status import report_changes
from voltlab.fleet.machine.session_messages import MeterValue, MeterValuesReport
from voltlab.fleet.model.measurands import samples
from voltlab.fleet.model.records import MeterReading, Transaction

SAMPLE_TIMER = "sample:"
LIMIT_TIMER = "limit:"


def meter_value(
    ctx: FlowContext,
    connector_id: int,
    reading: MeterReading,
    measurands: Sequence[str],
    context: str,
) -> MeterValue:
    spec = ctx.station.connector(connector_id).spec
    values = samples(
        reading, list(measurands), max_power_w=spec.max_power_w, max_current_a=spec.max_current_a
    )
    return MeterValue(reading.timestamp, context, tuple(values))


def schedule_sampling(ctx: FlowContext, connector_id: int) -> Iterator[Effect]:
    interval = ctx.station.config.get_int("MeterValueSampleInterval")
    if interval > 0:
        yield ctx.set_timer(f"{SAMPLE_TIMER}{connector_id}", ctx.now + interval)


def sample_due(ctx: FlowContext, connector_id: int) -> Flow[None]:
    station = ctx.station
    conn = station.connector(connector_id)
    tx = conn.transaction
    if tx is None:
        return
    yield from schedule_sampling(ctx, connector_id)
    station.advance(ctx.now)
    reading = station.reading(connector_id, ctx.now)
    yield WaitForStoredMeter()
    if conn.transaction is not tx:
        return  # stopped meanwhile: its end carries a later register
    # Offline, the transaction's meter values are queued with its other messages; a lost
    # sample is not retried (the next one carries the register).
    report = _report(ctx, connector_id, tx, reading, "Sample.Periodic")
    yield from schedule_limit(ctx, tx)
    if not station.has_status_changes():
        # While charging steadily nothing changes: the sample ends the flow, and nothing waits
        # for its answer (one machine step less per sample, the fleet's most frequent call).
        yield SendCall(report)
        return
    yield Call(report)
    yield from report_changes(ctx)


def sample_now(ctx: FlowContext, connector_id: int, context: str) -> Flow[None]:
    station = ctx.station
    station.advance(ctx.now)
    reading = station.reading(connector_id, ctx.now)
    tx = station.connector(connector_id).transaction
    if tx is not None:
        yield WaitForStoredMeter()
        if station.connector(connector_id).transaction is not tx:
            return
    yield Call(_report(ctx, connector_id, tx, reading, context))


def _report(
    ctx: FlowContext, connector_id: int, tx: Transaction | None, reading: MeterReading, context: str
) -> MeterValuesReport:
    measurands = ctx.station.config.get_list("MeterValuesSampledData")
    in_transaction = tx is not None and tx.transaction_id is not None
    return MeterValuesReport(
        connector_id,
        meter_value(ctx, connector_id, reading, measurands, context),
        transaction_ref(tx) if tx is not None and in_transaction else None,
        "MeterValuePeriodic" if context == "Sample.Periodic" else "Trigger",
        ctx.now,
    )


def schedule_limit(ctx: FlowContext, tx: Transaction) -> Iterator[Effect]:
    """Arm one timer at the instant the duration or energy limit is reached."""
    waits: list[float] = []
    if tx.duration_limit_s is not None:
        waits.append(tx.started_at + tx.duration_limit_s - ctx.now)
    to_energy = ctx.station.seconds_to_energy(tx)
    if to_energy is not None:
        waits.append(to_energy)
    name = f"{LIMIT_TIMER}{tx.connector_id}"
    if not waits:
        if name in ctx.timers:
            yield ctx.cancel_timer(name)
        return
    deadline = ctx.now + max(0.0, min(waits))
    # Re-checked after every sample: keep the armed timer when the instant has not moved.
    armed = ctx.timers.get(name)
    if armed is not None and abs(armed - deadline) < 1e-3:
        return
    yield ctx.set_timer(name, deadline)


def limit_reached(ctx: FlowContext, tx: Transaction) -> str | None:
    """The neutral stop reason when the transaction is at its limit, else None."""
    now = ctx.now
    duration_hit = (
        tx.duration_limit_s is not None and now - tx.started_at >= tx.duration_limit_s - 1e-6
    )
    left = ctx.station.seconds_to_energy(tx)
    energy_hit = left is not None and left <= 1e-3
    if energy_hit:
        return "EnergyLimitReached"
    return "TimeLimitReached" if duration_hit else None
