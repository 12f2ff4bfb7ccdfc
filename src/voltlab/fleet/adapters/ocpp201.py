"""OCPP 2.0.1 adapter (and, by subclass, 2.1): the one station model in 2.x frames.

Outgoing messages live here; CSMS-initiated requests in `ocpp201_requests`. A 2.x
transaction is a series of TransactionEvents (Started / Updated / Ended with seqNo); where it
starts and stops follows TxStartPoint / TxStopPoint from the device model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voltlab.fleet.adapters.ocpp201_maintenance import MAINTENANCE_ACTIONS_201, Ocpp201Maintenance
from voltlab.fleet.adapters.ocpp201_requests import Ocpp201Requests
from voltlab.fleet.codecs.ocpp201_sessions import offline_variant, transaction_event
from voltlab.fleet.machine.flows.sequence import transaction_ref
from voltlab.fleet.model.device_model import DeviceModel
from voltlab.fleet.model.station import Transaction
from voltlab.ocpp.versions import OCPP201
from voltlab.ocpp.vocabulary.timestamps import format_timestamp

if TYPE_CHECKING:
    from voltlab.fleet.driver.runner import StationRunner


class Ocpp201Adapter(Ocpp201Requests, Ocpp201Maintenance):
    version = OCPP201
    supported_actions = Ocpp201Requests.supported_actions | MAINTENANCE_ACTIONS_201

    reports_reservation_ends = True
    hides_disabled_local_list = False
    folds_statuses_2x = True
    unlock_keeps_authorized_transaction = True
    station_names_transactions = True
    default_transaction_measurands: tuple[str, ...] = ("Energy.Active.Import.Register",)
    clear_cache_needs_enabled_cache = True

    def __init__(self, runner: StationRunner) -> None:
        self.runner = runner
        self.station = runner.station
        self.device_model = DeviceModel(runner.station)

    async def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.runner.link.call(action, payload)

    def _now(self) -> str:
        return format_timestamp(self.runner.now())

    # -- policy -------------------------------------------------------------------------------

    def opens_transaction_on_plug(self) -> bool:
        return bool({"EVConnected", "ParkingBayOccupancy"} & self.device_model.tx_start_points())

    def stops_transaction_on_unplug(self) -> bool:
        return bool(
            {"EVConnected", "PowerPathClosed", "EnergyTransfer"}
            & self.device_model.tx_stop_points()
        ) or (self.station.config.get_bool("StopTransactionOnEVSideDisconnect"))

    # -- station -> CSMS ----------------------------------------------------------------------

    async def _event(self, trigger: str, tx: Transaction, info: dict[str, Any]) -> None:
        """A TransactionEvent Updated the station's status reporting sends (until status
        reporting moves into the machine)."""
        action, payload = transaction_event(
            "Updated", trigger, transaction_ref(tx), self.runner.now(), info
        )
        await self.runner.transaction_message(action, payload, offline_variant=offline_variant)
