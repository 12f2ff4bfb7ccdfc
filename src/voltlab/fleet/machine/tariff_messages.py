"""Neutral tariff and cost messages of the station machine (OCPP 2.1 functional block I,
local cost calculation): SetDefaultTariff, GetTariffs, ClearTariffs, ChangeTransactionTariff
with their answers, and the TransactionEvent that reports a transaction's running cost or its
new tariff. Tariffs and costs are the model's (`fleet/model/tariffs.py`, `tariff_cost.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from voltlab.fleet.machine.session_messages import TransactionRef
from voltlab.fleet.model.cost_report import CostDetails
from voltlab.fleet.model.tariffs import Assignment, Tariff


@dataclass(frozen=True)
class SetDefaultTariff:
    evse_id: int  # 0: every EVSE
    tariff: Tariff


@dataclass(frozen=True)
class GetTariffs:
    evse_id: int  # 0: every EVSE


@dataclass(frozen=True)
class ClearTariffs:
    tariff_ids: tuple[str, ...] | None
    evse_id: int | None


@dataclass(frozen=True)
class ChangeTransactionTariff:
    transaction_id: str
    tariff: Tariff


@dataclass(frozen=True)
class TariffAnswer:
    """SetDefaultTariff's (TariffSetStatus) and ChangeTransactionTariff's (TariffChangeStatus)
    answer."""

    status: str
    reason_code: str | None = None
    info: str = ""


@dataclass(frozen=True)
class TariffsAnswer:
    """GetTariffs' answer: Accepted with the assignments, NoTariff, or Rejected."""

    status: str
    assignments: tuple[Assignment, ...] = ()
    reason_code: str | None = None
    info: str = ""


@dataclass(frozen=True)
class ClearTariffsAnswer:
    results: tuple[tuple[str | None, str], ...]  # (tariff id, Accepted | NoTariff | Rejected)
    reason_code: str | None = None
    info: str = ""


@dataclass(frozen=True)
class CostReport:
    """A TransactionEvent Updated with the transaction's cost so far: its running cost every
    TariffCostCtrlr.Interval[Cost] (trigger RunningCost), or its new tariff (TariffChanged).
    A transaction message: in order, queued offline."""

    tx: TransactionRef
    trigger: str  # RunningCost | TariffChanged
    tariff_id: str
    details: CostDetails
    sent_at: float
    # `session_messages.is_transaction_message` reads this.
    transaction_message: ClassVar[bool] = True


TariffRequest = SetDefaultTariff | GetTariffs | ClearTariffs | ChangeTransactionTariff
TariffAnswerMessage = TariffAnswer | TariffsAnswer | ClearTariffsAnswer
TariffCall = CostReport
