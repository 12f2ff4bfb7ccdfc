"""Local cost calculation (OCPP 2.1 I07-I12): the default tariffs the CSMS installs per EVSE
(SetDefaultTariff, GetTariffs, ClearTariffs), the tariff of a running transaction
(ChangeTransactionTariff), and the cost the station calculates and reports.

A transaction is priced when it starts on an EVSE with a default tariff in force and
TariffCostCtrlr.Enabled[Tariff] is true: a cost meter (`model/tariff_cost.py`) follows it,
fed by the station model's integration of energy over time. Its Started event names the tariff
(`transactionInfo.tariffId`); with Enabled[Cost] a TransactionEvent Updated (RunningCost)
reports the cost so far every Interval[Cost] seconds (timer `cost:<connector>`); the Ended
event carries the final `costDetails`. ChangeTransactionTariff replaces the tariff from that
instant on (a new charging period) and is reported at once (TariffChanged). A tariff cleared or
replaced on its EVSE keeps pricing the transactions that started with it."""

from __future__ import annotations

from collections.abc import Iterator

from voltlab.fleet.machine.context import FlowContext
from voltlab.fleet.machine.effects import Answer, Effect, Persist, SendCall
from voltlab.fleet.machine.flow import Flow
from voltlab.fleet.machine.flows.sequence import transaction_ref
from voltlab.fleet.machine.tariff_messages import (
    ChangeTransactionTariff,
    ClearTariffs,
    ClearTariffsAnswer,
    CostReport,
    GetTariffs,
    SetDefaultTariff,
    TariffAnswer,
    TariffRequest,
    TariffsAnswer,
)
from voltlab.fleet.model.cost_report import CostDetails
from voltlab.fleet.model.records import MeterReading, Transaction
from voltlab.fleet.model.tariff_cost import CostMeter
from voltlab.fleet.model.tariff_variables import (
    CONDITIONS_SUPPORTED,
    COST_INTERVAL,
    DECIMALS,
    ENABLED_COST,
    ENABLED_TARIFF,
    MAX_ELEMENTS,
    enabled,
    evse_kind,
    number,
)
from voltlab.fleet.model.tariffs import Assignment, Tariff, tariff_problem

COST_TIMER = "cost:"
DRIVER_TARIFF = "DriverTariff"


# -- the transactions' meters ------------------------------------------------------------------


def open_meter(ctx: FlowContext, tx: Transaction) -> Iterator[Effect]:
    """A transaction starts: the default tariff of its EVSE in force now prices it."""
    station = ctx.station
    if not ctx.local_cost or not enabled(station, ENABLED_TARIFF):
        return
    station.tariffs.prune(ctx.now)
    tariff = station.tariffs.in_force(tx.connector_id, ctx.now)
    if tariff is None:
        return
    station.cost_meters[tx.local_id] = CostMeter.start(
        tx.local_id,
        tx.connector_id,
        evse_kind(station, tx.connector_id),
        tariff,
        tx.started_at,
        tx.meter_start_wh,
        reserved=tx.reservation_id is not None,
    )
    yield from schedule_running_cost(ctx, tx)


def tariff_of(ctx: FlowContext, tx: Transaction) -> str | None:
    meter = ctx.station.cost_meters.get(tx.local_id)
    return None if meter is None else meter.tariff_id


def schedule_running_cost(ctx: FlowContext, tx: Transaction) -> Iterator[Effect]:
    station = ctx.station
    if tx.local_id not in station.cost_meters or not enabled(station, ENABLED_COST):
        return
    interval = number(station, COST_INTERVAL)
    if interval > 0:
        yield ctx.set_timer(f"{COST_TIMER}{tx.connector_id}", ctx.now + interval)


def running_cost_due(ctx: FlowContext, connector_id: int) -> Flow[None]:
    """The running cost of the connector's transaction (TransactionEvent RunningCost)."""
    station = ctx.station
    tx = station.connector(connector_id).transaction
    if tx is None or tx.transaction_id is None or tx.local_id not in station.cost_meters:
        return
    yield from schedule_running_cost(ctx, tx)
    station.advance(ctx.now)  # the meter priced up to now
    meter = station.cost_meters[tx.local_id]
    details = meter.details(number(station, DECIMALS))
    yield SendCall(
        CostReport(transaction_ref(tx), "RunningCost", meter.tariff_id, details, ctx.now)
    )


def close_meter(
    ctx: FlowContext, tx: Transaction, reading: MeterReading
) -> Flow[tuple[str | None, CostDetails | None]]:
    """A transaction ends at `reading`: its tariff and final cost (None: not priced)."""
    station = ctx.station
    timer = f"{COST_TIMER}{tx.connector_id}"
    if timer in ctx.timers:
        yield ctx.cancel_timer(timer)
    meter = station.cost_meters.pop(tx.local_id, None)
    if meter is None:
        return None, None
    # Priced up to its end as it ran; what a restart left unpriced is priced here (energy at
    # its mean power).
    span = reading.timestamp - meter.last_at
    energy = reading.register_wh - meter.last_register_wh
    if span > 0 or energy > 0:
        power = energy * 3600 / span if span > 0 else 0.0
        meter.accrue(reading.timestamp, reading.register_wh, power, 0.0)
    yield Persist()
    return meter.tariff_id, meter.details(number(station, DECIMALS))


# -- the CSMS's requests ------------------------------------------------------------------------


def request(ctx: FlowContext, message: TariffRequest) -> list[Effect]:
    if isinstance(message, SetDefaultTariff):
        return _set_default(ctx, message)
    if isinstance(message, GetTariffs):
        return [Answer(_get(ctx, message.evse_id))]
    if isinstance(message, ClearTariffs):
        return _clear(ctx, message)
    return _change(ctx, message)


def _refusal(ctx: FlowContext, tariff: Tariff) -> TariffAnswer | None:
    station = ctx.station
    if not enabled(station, ENABLED_TARIFF):
        return TariffAnswer("Rejected", "NotEnabled", "TariffCostCtrlr.Enabled[Tariff] is false")
    problem = tariff_problem(
        tariff,
        max_elements=MAX_ELEMENTS,
        conditions_supported=enabled(station, CONDITIONS_SUPPORTED),
    )
    if problem is not None:
        return TariffAnswer(problem.status, problem.reason_code, problem.info)
    return None


def _set_default(ctx: FlowContext, message: SetDefaultTariff) -> list[Effect]:
    station = ctx.station
    if message.evse_id != 0 and message.evse_id not in station.connectors:
        return [Answer(TariffAnswer("Rejected", "UnknownEvse", f"no EVSE {message.evse_id}"))]
    refused = _refusal(ctx, message.tariff)
    if refused is not None:
        return [Answer(refused)]
    evse_ids = list(station.connectors) if message.evse_id == 0 else [message.evse_id]
    status = station.tariffs.install(message.tariff, evse_ids)
    if status == "DuplicateTariffId":
        info = f"{message.tariff.tariff_id} is installed with another content"
        return [Answer(TariffAnswer(status, "InvalidValue", info))]
    if status != "Accepted":
        return [Answer(TariffAnswer(status, "OutOfStorage", "the station keeps 20 tariffs"))]
    station.tariffs.prune(ctx.now)
    return [Persist(), Answer(TariffAnswer("Accepted"))]


def _get(ctx: FlowContext, evse_id: int) -> TariffsAnswer:
    """The default tariffs (on `evse_id`; 0: all), and the tariffs running transactions are
    priced with, each with the EVSEs it is on (a running transaction's EVSE included)."""
    station = ctx.station
    if evse_id != 0 and evse_id not in station.connectors:
        return TariffsAnswer("Rejected", reason_code="UnknownEvse", info=f"no EVSE {evse_id}")
    station.tariffs.prune(ctx.now)
    wanted = None if evse_id == 0 else evse_id
    found: dict[str, Assignment] = {
        a.tariff.tariff_id: a for a in station.tariffs.assignments(wanted)
    }
    for tx in station.transactions():
        meter = station.cost_meters.get(tx.local_id)
        if meter is None or (wanted is not None and tx.connector_id != wanted):
            continue
        known = found.get(meter.tariff_id)
        if known is None:
            tokens = () if tx.id_tag is None or meter.kind != DRIVER_TARIFF else (tx.id_tag,)
            found[meter.tariff_id] = Assignment(
                meter.tariff, meter.kind, (tx.connector_id,), tokens
            )
        elif tx.connector_id not in known.evse_ids:
            evse_ids = tuple(sorted({*known.evse_ids, tx.connector_id}))
            found[meter.tariff_id] = Assignment(known.tariff, known.kind, evse_ids, known.id_tokens)
    if not found:
        return TariffsAnswer("NoTariff")
    return TariffsAnswer("Accepted", tuple(found.values()))


def _clear(ctx: FlowContext, message: ClearTariffs) -> list[Effect]:
    station = ctx.station
    evse_id = message.evse_id or None  # 0: every EVSE, as without one
    if evse_id is not None and evse_id not in station.connectors:
        answer = ClearTariffsAnswer(((None, "Rejected"),), "UnknownEvse", f"no EVSE {evse_id}")
        return [Answer(answer)]
    results = tuple(station.tariffs.clear(message.tariff_ids, evse_id))
    cleared = any(status == "Accepted" for _, status in results)
    answer = ClearTariffsAnswer(results)
    return [Persist(), Answer(answer)] if cleared else [Answer(answer)]


def _change(ctx: FlowContext, message: ChangeTransactionTariff) -> list[Effect]:
    station, now = ctx.station, ctx.now
    tx = station.find_transaction(message.transaction_id)
    if tx is None or tx.transaction_id is None:
        info = f"no transaction {message.transaction_id} runs"
        return [Answer(TariffAnswer("TxNotFound", "TxNotFound", info))]
    refused = _refusal(ctx, message.tariff)
    if refused is not None:
        return [Answer(refused)]
    meter = station.cost_meters.get(tx.local_id)
    if meter is not None and meter.tariff.currency != message.tariff.currency:
        info = f"the transaction is priced in {meter.tariff.currency}"
        return [Answer(TariffAnswer("NoCurrencyChange", "InvalidValue", info))]
    station.advance(now)  # what went before is priced with the tariff it ran under
    effects: list[Effect] = []
    if meter is None:  # priced from now on
        conn = station.connector(tx.connector_id)
        meter = CostMeter.start(
            tx.local_id,
            tx.connector_id,
            evse_kind(station, tx.connector_id),
            message.tariff,
            now,
            conn.register_wh,
        )
        station.cost_meters[tx.local_id] = meter
        effects.extend(schedule_running_cost(ctx, tx))
    else:
        meter.switch(message.tariff, now)
    meter.kind = DRIVER_TARIFF
    details = meter.details(number(station, DECIMALS))
    report = CostReport(transaction_ref(tx), "TariffChanged", meter.tariff_id, details, now)
    return [*effects, Persist(), Answer(TariffAnswer("Accepted")), SendCall(report)]
