"""Ordered, fault-isolated delivery of CSMS notifications to the listener.

Protocol handlers only *record* what happened (a `Notification` value); a `StationNotifier`
per station delivers them afterwards, one at a time, in the order they were recorded. So:

* a slow listener (an OCPI push over the network) never delays a CALLRESULT;
* the cpo layer still sees a station's story in order (started, meter values, stopped),
  which concurrent fire-and-forget tasks would not guarantee;
* a listener exception or hang is logged and skipped; it never reaches the station's link.

The worker task exists only while notifications are pending, so ten thousand idle stations
cost no tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voltlab.csms.events import CsmsListener, CsmsTransaction, MeterSample
from voltlab.csms.tx_records import TransactionChange

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StationRegistered:
    boot: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StationDisconnected:
    pass


@dataclass(frozen=True, slots=True)
class ConnectorStatusChanged:
    connector_id: int
    status: str
    error_code: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class TransactionStarted:
    tx: CsmsTransaction


@dataclass(frozen=True, slots=True)
class MeterValuesReceived:
    tx: CsmsTransaction
    samples: list[MeterSample]


@dataclass(frozen=True, slots=True)
class TransactionStopped:
    tx: CsmsTransaction


@dataclass(frozen=True, slots=True)
class TransactionsChanged:
    """For the store, not the listener: the transactions a frame changed (issue 14)."""

    changes: list[TransactionChange]


Notification = (
    StationRegistered
    | StationDisconnected
    | ConnectorStatusChanged
    | TransactionStarted
    | MeterValuesReceived
    | TransactionStopped
    | TransactionsChanged
)


async def deliver(listener: CsmsListener, cpo_id: str, identity: str, note: Notification) -> None:
    """Call the listener method that corresponds to ``note``."""
    if isinstance(note, StationRegistered):
        await listener.station_registered(cpo_id, identity, note.boot)
    elif isinstance(note, StationDisconnected):
        await listener.station_disconnected(cpo_id, identity)
    elif isinstance(note, ConnectorStatusChanged):
        await listener.connector_status(
            cpo_id, identity, note.connector_id, note.status, note.error_code, note.timestamp
        )
    elif isinstance(note, TransactionStarted):
        await listener.transaction_started(cpo_id, note.tx)
    elif isinstance(note, MeterValuesReceived):
        await listener.meter_values(cpo_id, note.tx, note.samples)
    elif isinstance(note, TransactionStopped):
        await listener.transaction_stopped(cpo_id, note.tx)


class StationNotifier:
    """Delivers one station's notifications in order, off the frame path."""

    def __init__(
        self,
        listener: CsmsListener,
        cpo_id: str,
        identity: str,
        *,
        timeout: float = 60.0,
        save: Callable[[list[TransactionChange]], Awaitable[None]] | None = None,
    ) -> None:
        self.listener = listener
        self.save = save
        self.cpo_id = cpo_id
        self.identity = identity
        self.timeout = timeout
        self._pending: deque[Notification] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def is_idle(self) -> bool:
        return self._idle.is_set()

    def push(self, note: Notification) -> None:
        self._pending.append(note)
        self._idle.clear()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(
                self._drain(), name=f"csms-notify:{self.cpo_id}/{self.identity}"
            )

    async def idle(self) -> None:
        """Wait until every notification pushed so far has been delivered (or dropped)."""
        await self._idle.wait()

    def cancel(self) -> None:
        """Drop what is pending and stop delivering (the CSMS is shutting down)."""
        self._pending.clear()
        if self._worker is not None:
            self._worker.cancel()
        self._idle.set()

    async def _drain(self) -> None:
        try:
            while self._pending:
                note = self._pending.popleft()
                await self._deliver_one(note)
        finally:
            if not self._pending:
                self._idle.set()

    async def _deliver_one(self, note: Notification) -> None:
        name = type(note).__name__
        try:
            async with asyncio.timeout(self.timeout):
                if isinstance(note, TransactionsChanged):
                    if self.save is not None:
                        await self.save(note.changes)
                else:
                    await deliver(self.listener, self.cpo_id, self.identity, note)
        except TimeoutError:
            log.error(
                "CSMS listener did not handle %s of %s/%s within %g s; skipped",
                name,
                self.cpo_id,
                self.identity,
                self.timeout,
            )
        except Exception:
            log.exception(
                "CSMS listener failed on %s of %s/%s; skipped", name, self.cpo_id, self.identity
            )
