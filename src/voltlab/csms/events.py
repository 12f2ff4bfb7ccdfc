"""What the built-in CSMS tells the layer above it (the virtual CPO), and what it asks.

The CSMS is protocol-facing; the cpo layer is business-facing (OCPI sessions, CDRs, status
pushes). They meet here: plain dataclasses that carry no OCPP wire spelling, and the
`CsmsListener` protocol the cpo layer implements. Every listener method is async; only
`authorize` is on the critical path of a station's request, the rest are notifications the
CSMS delivers in order per station, after the station has had its answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from voltlab.ocpp.vocabulary.authorization import AUTHORIZATION_STATUSES_16
from voltlab.ocpp.vocabulary.stop_reasons import StopReason

# The listener's vocabulary whatever the station speaks is 1.6 AuthorizationStatus (every
# word of it exists in 2.x too; see `ocpp.vocabulary.authorization`).


@dataclass(frozen=True, slots=True)
class IdTagStatus:
    """The answer to "may this id tag charge here?"."""

    status: str
    expiry: datetime | None = None
    parent_id_tag: str | None = None

    def __post_init__(self) -> None:
        if self.status not in AUTHORIZATION_STATUSES_16:
            raise ValueError(
                f"unknown id tag status {self.status!r}; "
                f"expected one of {sorted(AUTHORIZATION_STATUSES_16)}"
            )

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"

    @classmethod
    def accept(cls, parent_id_tag: str | None = None) -> IdTagStatus:
        return cls("Accepted", None, parent_id_tag)

    @classmethod
    def invalid(cls) -> IdTagStatus:
        return cls("Invalid")


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One metering instant, reduced to the quantities a CPO bills and displays.

    Units are normalised (Wh, W, A, V, %); a quantity the station did not report is None.
    """

    timestamp: datetime
    energy_wh: float | None = None
    power_w: float | None = None
    current_a: float | None = None
    voltage_v: float | None = None
    soc_percent: float | None = None
    context: str | None = None  # Sample.Periodic, Transaction.Begin, Trigger, ...


@dataclass(frozen=True, slots=True)
class RejectedReading:
    """An energy register reading the CSMS refused to bill (see `csms.plausibility`)."""

    source: str  # MeterValues, StopTransaction, TransactionEvent, StartTransaction (superseding)
    timestamp: datetime  # as the station sent it
    energy_wh: float | None  # the register the station claimed (None: a sample without one)
    reason: str  # "backwards", "exceeds_max_power" or "future_timestamp"
    kept_wh: float  # the last plausible register, kept instead


@dataclass(slots=True)
class CsmsTransaction:
    """A charging transaction as the CSMS knows it.

    ``recovered`` is True when the CSMS first heard of the transaction after it had started
    (a CSMS restart: MeterValues or StopTransaction for an id it does not hold); start data is
    then the best the CSMS could reconstruct. ``inferred_stop`` is True when the CSMS closed
    the transaction itself because the station started another one on the same connector
    without ever sending its StopTransaction.

    OCPP 2.x stations choose their own (string) transaction ids; the CSMS gives each one an
    integer ``transaction_id`` like any 1.6 transaction and keeps the station's id in
    ``station_transaction_id`` (None for 1.6). ``connector_id`` is then the EVSE id.

    ``last_meter_wh`` / ``last_meter_at`` are the last register reading the CSMS found
    plausible; readings it refused are in ``rejected_readings`` and count nowhere else.
    """

    transaction_id: int
    cpo_id: str
    identity: str
    connector_id: int  # 0 when unknown (a recovered transaction seen only at its stop)
    id_tag: str
    meter_start_wh: float
    started_at: datetime
    id_tag_status: str = "Accepted"  # what the CSMS answered at StartTransaction
    parent_id_tag: str | None = None
    reservation_id: int | None = None
    last_meter_wh: float | None = None
    last_meter_at: datetime | None = None
    last_power_w: float | None = None
    last_soc_percent: float | None = None
    samples: list[MeterSample] = field(default_factory=list)
    meter_stop_wh: float | None = None
    stopped_at: datetime | None = None
    stop_reason: StopReason | None = None
    stop_id_tag: str | None = None
    recovered: bool = False
    inferred_stop: bool = False
    station_transaction_id: str | None = None
    rejected_readings: list[RejectedReading] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None

    @property
    def energy_wh(self) -> float:
        """Energy delivered so far (open) or in total (stopped), from the meter register."""
        end = self.meter_stop_wh if self.meter_stop_wh is not None else self.last_meter_wh
        if end is None:
            return 0.0
        return max(0.0, end - self.meter_start_wh)

    def snapshot(self) -> CsmsTransaction:
        """An independent copy: the CSMS keeps mutating the original as frames arrive."""
        return replace(
            self, samples=list(self.samples), rejected_readings=list(self.rejected_readings)
        )


@dataclass(frozen=True, slots=True)
class ConnectorView:
    connector_id: int  # 0 is the station as a whole
    status: str
    error_code: str
    timestamp: datetime
    info: str | None = None
    vendor_error_code: str | None = None


@dataclass(frozen=True, slots=True)
class StationView:
    cpo_id: str
    identity: str
    connected: bool
    registered: bool  # BootNotification answered Accepted on the current/last connection
    version: str | None  # negotiated subprotocol of the current/last connection
    boot: dict[str, Any] | None  # the BootNotification payload as received
    connected_at: datetime | None
    last_seen: datetime | None
    connectors: tuple[ConnectorView, ...]
    open_transactions: tuple[CsmsTransaction, ...]
    firmware_status: str | None = None
    diagnostics_status: str | None = None


class CsmsListener(Protocol):
    """Implemented by the cpo layer. Exceptions raised here are logged and never reach the
    station: ``authorize`` failing answers Invalid, a failing notification is dropped."""

    async def authorize(self, cpo_id: str, identity: str, id_tag: str) -> IdTagStatus:
        """Decide on an id tag (Authorize, StartTransaction, StopTransaction with a new tag)."""
        ...

    async def station_registered(self, cpo_id: str, identity: str, boot: dict[str, Any]) -> None:
        """A station booted (BootNotification accepted); ``boot`` is its payload."""
        ...

    async def station_disconnected(self, cpo_id: str, identity: str) -> None:
        """The station's last WebSocket closed (a replaced connection does not count)."""
        ...

    async def connector_status(
        self,
        cpo_id: str,
        identity: str,
        connector_id: int,
        status: str,
        error_code: str,
        timestamp: datetime,
    ) -> None:
        """A StatusNotification (1.6 status and error code spelling)."""
        ...

    async def transaction_started(self, cpo_id: str, tx: CsmsTransaction) -> None: ...

    async def meter_values(
        self, cpo_id: str, tx: CsmsTransaction, samples: list[MeterSample]
    ) -> None:
        """New samples of an open transaction; ``tx`` already includes them."""
        ...

    async def transaction_stopped(self, cpo_id: str, tx: CsmsTransaction) -> None: ...


class NullListener:
    """Accepts every id tag and ignores every notification (tests, standalone use)."""

    async def authorize(self, cpo_id: str, identity: str, id_tag: str) -> IdTagStatus:
        return IdTagStatus.accept()

    async def station_registered(self, cpo_id: str, identity: str, boot: dict[str, Any]) -> None:
        return None

    async def station_disconnected(self, cpo_id: str, identity: str) -> None:
        return None

    async def connector_status(
        self,
        cpo_id: str,
        identity: str,
        connector_id: int,
        status: str,
        error_code: str,
        timestamp: datetime,
    ) -> None:
        return None

    async def transaction_started(self, cpo_id: str, tx: CsmsTransaction) -> None:
        return None

    async def meter_values(
        self, cpo_id: str, tx: CsmsTransaction, samples: list[MeterSample]
    ) -> None:
        return None

    async def transaction_stopped(self, cpo_id: str, tx: CsmsTransaction) -> None:
        return None
