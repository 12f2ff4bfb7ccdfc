"""Neutral messages of a charging session: what the station tells the CSMS about a
transaction and its meter, the answers a session flow waits for, and the session commands
(from the Gateway API or the runner) the machine decides on.

The codecs turn them into 1.6 StartTransaction / MeterValues / StopTransaction or 2.x
TransactionEvent Started / Updated / Ended. What differs between versions as behaviour (who
gives the transaction id, which measurands a transaction's end carries) is decided by the
machine's settings; the words (stop reasons, trigger reasons) are translated by
`ocpp.vocabulary`."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.model.auth import IdTagInfo
from voltlab.fleet.model.cost_report import CostDetails
from voltlab.fleet.model.ev import ElectricVehicle
from voltlab.fleet.model.measurands import Sample
from voltlab.fleet.model.records import Transaction
from voltlab.fleet.model.smart_charging import ChargingProfile


@dataclass(frozen=True)
class MeterValue:
    """One set of samples taken at `timestamp`, with the OCPP reading context
    (Sample.Periodic, Transaction.Begin, Transaction.End, Trigger)."""

    timestamp: float
    context: str
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class TransactionRef:
    """What every transaction message says about its transaction."""

    local_id: int
    connector_id: int
    transaction_id: str | int | None
    seq_no: int  # 2.x TransactionEvent seqNo; 1.6 has none


@dataclass(frozen=True)
class TransactionStarted:
    tx: TransactionRef
    id_tag: str | None  # None: 2.x opened at EVConnected, not authorized yet
    started_at: float
    meter_start_wh: float
    begin: MeterValue
    # Why the transaction started, in 2.x TriggerReason words: Authorized, RemoteStart,
    # CablePluggedIn (1.6 has no such field).
    trigger: str
    reservation_id: int | None
    remote_start_id: int | None
    sent_at: float
    # 2.1 local cost: the tariff the station prices the transaction with.
    tariff_id: str | None = None
    # The id tag's kind in 2.x IdTokenEnumType words (eMAID: Plug & Charge); None: the
    # station's own reader (the codec's word for it).
    id_token_type: str | None = None


@dataclass(frozen=True)
class TransactionStartedAnswer:
    # The id the CSMS gave (1.6; provisional while queued offline), None when the station
    # gave its own (2.x).
    transaction_id: str | int | None
    # The CSMS's view of the id tag; None when it said nothing about one.
    info: IdTagInfo | None


@dataclass(frozen=True)
class TransactionAuthorized:
    """2.x: a transaction opened by the cable got its id tag (TransactionEvent Updated)."""

    tx: TransactionRef
    id_tag: str
    trigger: str  # Authorized | RemoteStart
    reservation_id: int | None
    remote_start_id: int | None
    sent_at: float
    id_token_type: str | None = None  # as TransactionStarted's


@dataclass(frozen=True)
class TransactionAuthorizedAnswer:
    info: IdTagInfo


@dataclass(frozen=True)
class MeterValuesReport:
    """Meter values of a connector; inside a transaction they are a transaction message
    (queued while offline, 2.x TransactionEvent Updated)."""

    connector_id: int
    value: MeterValue
    tx: TransactionRef | None
    trigger: str  # 2.x TriggerReason: MeterValuePeriodic | Trigger
    sent_at: float


@dataclass(frozen=True)
class MeterValuesAnswer:
    pass


@dataclass(frozen=True)
class TransactionEnded:
    tx: TransactionRef
    id_tag: str | None
    started_at: float
    stopped_at: float
    meter_stop_wh: float
    reason: str  # a neutral StopReason (ocpp.vocabulary.stop_reasons)
    begin: MeterValue | None  # the start's samples, when the end carries them (1.6)
    end: MeterValue | None  # None: no measurands configured for a transaction's end
    plugged: bool  # the cable is still in when the transaction ends (2.x chargingState)
    sent_at: float
    # 2.1 local cost: the tariff and the final cost (CostDetailsType) the station calculated.
    tariff_id: str | None = None
    cost: CostDetails | None = None


@dataclass(frozen=True)
class TransactionEndedAnswer:
    info: IdTagInfo | None


@dataclass(frozen=True)
class StatusReport:
    """A connector's status (StatusNotification). `status` is the word the version reports:
    1.6's own; 2.x's folded ConnectorStatus (`ocpp.vocabulary.connector_status`)."""

    connector_id: int
    status: str
    error_code: str | None  # a fault type (ocpp.vocabulary), None for no error
    info: str | None
    vendor_error_code: str | None
    sent_at: float


@dataclass(frozen=True)
class ChargingStateChanged:
    """2.x: a transaction's charging state changed (TransactionEvent Updated)."""

    tx: TransactionRef
    state: str  # a 2.x ChargingState
    trigger: str  # ChargingStateChanged, or Trigger when the CSMS asked
    sent_at: float


@dataclass(frozen=True)
class OperationModeChanged:
    """2.1: the operation mode a transaction's schedule asks for changed (TransactionEvent
    Updated, triggerReason OperationModeChanged, with the mode)."""

    tx: TransactionRef
    mode: str  # an OperationModeEnumType value
    sent_at: float


@dataclass(frozen=True)
class TransactionTriggered:
    """2.x: the CSMS asked for the transaction's state (TriggerMessage TransactionEvent): a
    TransactionEvent Updated of its own, triggerReason Trigger, without meter values."""

    tx: TransactionRef
    sent_at: float


@dataclass(frozen=True)
class Received:
    """The CSMS answered and said nothing the station acts on."""


# -- session commands: from the Gateway API or the runner; their answer is `SessionResult` ---


@dataclass(frozen=True)
class StartTransaction:
    connector_id: int
    id_tag: str
    parent_id_tag: str | None = None
    duration_limit_s: float | None = None
    energy_limit_wh: float | None = None
    remote_start_id: int | None = None
    id_token_type: str | None = None  # eMAID: a Plug & Charge contract (flows/plug_and_charge)


@dataclass(frozen=True)
class StopTransaction:
    connector_id: int
    reason: str
    id_tag: str | None = None


@dataclass(frozen=True)
class EndSession:
    """Stop the transaction (if any) and take the cable out."""

    connector_id: int
    reason: str


@dataclass(frozen=True)
class PlugIn:
    connector_id: int
    ev: ElectricVehicle | None = None
    # Real-world POSIX seconds: a Plug & Charge EV's contract is judged at them, as every
    # certificate is (docs/station-machine.md).
    wall_time: float | None = None


@dataclass(frozen=True)
class Unplug:
    connector_id: int


@dataclass(frozen=True)
class RemoteStart:
    """Start for the CSMS (RemoteStartTransaction / RequestStartTransaction, already
    accepted): authorize if configured, then start, or wait for a cable."""

    connector_id: int
    id_tag: str
    remote_start_id: int | None
    profile: ChargingProfile | None


@dataclass(frozen=True)
class SampleNow:
    """Send the connector's meter values now (TriggerMessage MeterValues)."""

    connector_id: int
    context: str


@dataclass(frozen=True)
class RecheckLimits:
    """Power or limits changed: re-arm every transaction's duration/energy limit timer."""


@dataclass(frozen=True)
class ResumeSessions:
    """(Re)registered: sampling and limit timers for the open transactions again."""


@dataclass(frozen=True)
class CloseInterrupted:
    """Close the transactions a crash or restart left open (PowerLoss)."""


@dataclass(frozen=True)
class ReportStatuses:
    """Report the statuses that changed; `again` forgets what was reported (a new
    registration, or TriggerMessage StatusNotification for `connector_ids`)."""

    again: bool = False
    connector_ids: tuple[int, ...] | None = None  # with `again`: only these; None: all


@dataclass(frozen=True)
class SessionResult:
    """A session command's result: the transaction it started or stopped, if any."""

    transaction: Transaction | None


SessionCommand = (
    StartTransaction
    | StopTransaction
    | EndSession
    | PlugIn
    | Unplug
    | RemoteStart
    | SampleNow
    | RecheckLimits
    | ResumeSessions
    | CloseInterrupted
    | ReportStatuses
)
SessionMessage = (
    TransactionStarted
    | TransactionAuthorized
    | MeterValuesReport
    | TransactionEnded
    | StatusReport
    | ChargingStateChanged
    | TransactionTriggered
    | OperationModeChanged
)
SessionAnswer = (
    TransactionStartedAnswer
    | TransactionAuthorizedAnswer
    | MeterValuesAnswer
    | TransactionEndedAnswer
    | Received
)
SESSION_MESSAGES = (
    TransactionStarted,
    TransactionAuthorized,
    MeterValuesReport,
    TransactionEnded,
    StatusReport,
    ChargingStateChanged,
    TransactionTriggered,
    OperationModeChanged,
)


def is_transaction_message(message: object) -> bool:
    """Delivered in order and at least once: queued while offline, never dropped."""
    if isinstance(message, MeterValuesReport):
        return message.tx is not None
    return isinstance(
        message,
        TransactionStarted
        | TransactionAuthorized
        | TransactionEnded
        | ChargingStateChanged
        | TransactionTriggered
        | OperationModeChanged,
    ) or bool(getattr(type(message), "transaction_message", False))  # e.g. a 2.1 CostReport
