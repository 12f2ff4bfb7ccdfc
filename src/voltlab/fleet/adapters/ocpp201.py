"""OCPP 2.0.1 adapter (and, by subclass, 2.1): the one station model in 2.x frames.

CSMS-initiated requests live in `ocpp201_requests` (decoded by the 2.x codecs, handled by the
station machine); here the version's settings and where a transaction starts and stops
(TxStartPoint / TxStopPoint from the device model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voltlab.fleet.adapters.ocpp201_maintenance import MAINTENANCE_ACTIONS_201, Ocpp201Maintenance
from voltlab.fleet.adapters.ocpp201_requests import Ocpp201Requests
from voltlab.fleet.model.device_model import DeviceModel
from voltlab.ocpp.versions import OCPP201

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

    # -- policy -------------------------------------------------------------------------------

    def opens_transaction_on_plug(self) -> bool:
        return bool({"EVConnected", "ParkingBayOccupancy"} & self.device_model.tx_start_points())

    def stops_transaction_on_unplug(self) -> bool:
        return bool(
            {"EVConnected", "PowerPathClosed", "EnergyTransfer"}
            & self.device_model.tx_stop_points()
        ) or (self.station.config.get_bool("StopTransactionOnEVSideDisconnect"))
