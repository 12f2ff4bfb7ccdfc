"""Neutral messages of the station machine about a customer and a transaction's cost (OCPP
2.0.1 N09/N10 CustomerInformation and its NotifyCustomerInformation pages; I03 CostUpdated),
reused by 2.1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltlab.fleet.model.customer_information import Customer


@dataclass(frozen=True)
class CustomerInformation:
    request_id: int
    report: bool
    clear: bool
    customer: Customer


@dataclass(frozen=True)
class CustomerInformationAnswer:
    status: Literal["Accepted", "Rejected", "Invalid"]
    reason_code: str | None = None
    info: str = ""


@dataclass(frozen=True)
class CustomerInformationPage:
    """One NotifyCustomerInformation: at most 512 characters of the data."""

    request_id: int
    generated_at: float
    seq_no: int
    data: str
    more_follow: bool


@dataclass(frozen=True)
class CostUpdated:
    transaction_id: str
    total_cost: float


@dataclass(frozen=True)
class CostUpdatedAnswer:
    """CostUpdatedResponse carries nothing."""


CustomerRequest = CustomerInformation | CostUpdated
CustomerAnswer = CustomerInformationAnswer | CostUpdatedAnswer
