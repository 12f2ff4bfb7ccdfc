"""Neutral messages in which the CSMS asks the station to tell it something: TriggerMessage
(1.6 TriggerMessage and ExtendedTriggerMessage, 2.x TriggerMessage) and 2.x
GetTransactionStatus.

A trigger names what to send in the station's words (`TriggerTarget`); the codec of each
version says which of its words stand for which, and decodes a word it has no target for as
None (answered NotImplemented)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TriggerTarget = Literal[
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "MeterValues",
    "TransactionEvent",  # 2.x: an Updated event of each running transaction
    "FirmwareStatus",
    "DiagnosticsStatus",  # 1.6 DiagnosticsStatusNotification (GetDiagnostics uploads)
    "LogStatus",  # LogStatusNotification (GetLog uploads)
    "SignCertificate",  # a CSR for the charging station certificate (SignCertificate)
    "SignV2GCertificate",  # a CSR for the station's ISO 15118 (V2G) certificate
]
TriggerStatus = Literal["Accepted", "Rejected", "NotImplemented"]


@dataclass(frozen=True)
class TriggerRequest:
    target: TriggerTarget | None  # None: a message this station does not trigger
    connector_id: int | None  # 1.6 connectorId, 2.x evse.id; None: the whole station


@dataclass(frozen=True)
class TriggerAnswer:
    status: TriggerStatus


@dataclass(frozen=True)
class GetTransactionStatus:
    """2.x: is the transaction still running, and does the station hold messages the CSMS
    has not received yet (of that transaction, or of any when `transaction_id` is None)?"""

    transaction_id: str | None


@dataclass(frozen=True)
class TransactionStatusAnswer:
    messages_in_queue: bool
    ongoing: bool | None  # None when no transaction was named (E14.FR.06)
