"""A tiny OCPP 1.6J CSMS: accepts every station and id tag, numbers transactions, keeps what it
was told, and can ask a station to stop a transaction. It runs its own asyncio loop in a thread,
so synchronous tests can use it."""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Transaction:
    transaction_id: int
    identity: str
    connector_id: int
    id_tag: str
    meter_start_wh: int
    meter_stop_wh: int | None = None
    stop_reason: str | None = None
    meter_values: list[dict[str, Any]] = field(default_factory=list)

    @property
    def energy_wh(self) -> int | None:
        return None if self.meter_stop_wh is None else self.meter_stop_wh - self.meter_start_wh


class _Station(ChargePoint):
    """One connected charging station, as the `ocpp` library routes its CALLs."""

    def __init__(self, identity: str, connection: Any, csms: CentralSystem) -> None:
        super().__init__(identity, connection)
        self.csms = csms

    @on(Action.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        self.csms.booted.append(self.id)
        return call_result.BootNotification(
            current_time=_now(),
            interval=self.csms.heartbeat_interval,
            status=RegistrationStatus.accepted,
        )

    @on(Action.heartbeat)
    def on_heartbeat(self) -> Any:
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    def on_status(self, connector_id: int, error_code: str, status: str, **_: Any) -> Any:
        self.csms.statuses.append((self.id, connector_id, status, error_code))
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str) -> Any:
        return call_result.Authorize(id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.start_transaction)
    def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any
    ) -> Any:
        transaction_id = next(self.csms.transaction_ids)
        self.csms.transactions[transaction_id] = Transaction(
            transaction_id, self.id, connector_id, id_tag, meter_start
        )
        return call_result.StartTransaction(
            transaction_id=transaction_id,
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted),
        )

    @on(Action.stop_transaction)
    def on_stop(
        self, meter_stop: int, timestamp: str, transaction_id: int, reason: str = "Local", **_: Any
    ) -> Any:
        transaction = self.csms.transactions.get(transaction_id)
        if transaction is not None:
            transaction.meter_stop_wh = meter_stop
            transaction.stop_reason = reason
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **extra: Any
    ) -> Any:
        transaction = self.csms.transactions.get(extra.get("transaction_id", -1))
        if transaction is not None:
            transaction.meter_values.extend(meter_value)
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, status: str) -> Any:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, status: str) -> Any:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(self, type: str, timestamp: str, **_: Any) -> Any:  # noqa: A002
        return call_result.SecurityEventNotification()


class CentralSystem:
    """`with CentralSystem() as csms:` listens on `csms.url` (ws://127.0.0.1:PORT/ocpp); a
    station connects to `csms.url + "/" + identity`."""

    def __init__(self, heartbeat_interval: int = 300) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.booted: list[str] = []
        self.statuses: list[tuple[str, int, str, str]] = []
        self.transactions: dict[int, Transaction] = {}
        self.transaction_ids = itertools.count(1001)
        self.url = ""
        self._stations: dict[str, _Station] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    def __enter__(self) -> CentralSystem:
        self._thread.start()
        self._server = self._run(self._listen())
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/ocpp"
        return self

    def __exit__(self, *_: object) -> None:
        self._server.close()
        self._run(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self, work: Any, timeout: float = 10.0) -> Any:
        """Run a coroutine on the CSMS's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    async def _listen(self) -> Any:
        return await websockets.serve(self._connected, "127.0.0.1", 0, subprotocols=["ocpp1.6"])

    async def _connected(self, connection: Any) -> None:
        identity = connection.request.path.rstrip("/").rsplit("/", 1)[-1]
        station = _Station(identity, connection, self)
        self._stations[identity] = station
        try:
            await station.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._stations.pop(identity, None)

    def remote_stop(self, identity: str, transaction_id: int) -> str:
        """RemoteStopTransaction to a connected station; its answer's status."""
        station = self._stations[identity]
        request = call.RemoteStopTransaction(transaction_id=transaction_id)
        answer = self._run(station.call(request))
        status: str = answer.status
        return status

    def open_transaction(self, identity: str) -> Transaction | None:
        for transaction in self.transactions.values():
            if transaction.identity == identity and transaction.meter_stop_wh is None:
                return transaction
        return None
