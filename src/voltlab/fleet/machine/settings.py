"""What differs between OCPP versions as behaviour rather than words: one `MachineSettings`
per version (`settings_for`), decided once per station, and where a transaction starts and
stops on the cable (1.6: configuration keys; 2.x: TxStartPoint / TxStopPoint)."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.context import TransactionPoints
from voltlab.fleet.model.device_model import DeviceModel
from voltlab.fleet.model.station import Station
from voltlab.ocpp.versions import OCPP16, OCPP21

REGISTER = "Energy.Active.Import.Register"


@dataclass(frozen=True)
class MachineSettings:
    """What differs between OCPP versions as behaviour, decided once per station."""

    # 2.x sends ReservationStatusUpdate when a reservation expires; 1.6 has no such message.
    reports_reservation_ends: bool
    # 1.6 answers GetLocalListVersion with -1 while LocalAuthListEnabled is false; 2.x has no
    # such answer.
    hides_disabled_local_list: bool = False
    # 2.x rejects ClearCache while the cache is disabled; 1.6 always clears it.
    clear_cache_needs_enabled_cache: bool = False
    # 2.x: the station names its transactions; 1.6: the CSMS does (StartTransaction.conf).
    station_names_transactions: bool = False
    # What a transaction's start and end carry when StopTxnSampledData is empty (2.x: the
    # register; 1.6: nothing).
    default_transaction_measurands: tuple[str, ...] = ()
    # The OCPP version whose charging-profile rules apply (2.x refuses more than 1.6).
    profile_rules: str = OCPP16
    # 2.0.1 answers UnlockConnector OngoingAuthorizedTransaction; 1.6 stops and unlocks.
    unlock_keeps_authorized_transaction: bool = False
    # 2.x folds statuses into ConnectorStatus, reports per EVSE, and reports charging states.
    folds_statuses_2x: bool = False
    # 2.x: TxStartPoint / TxStopPoint in the device model decide whether the cable opens
    # and ends a transaction; 1.6: it never opens one.
    transaction_points_from_device_model: bool = False
    # 2.x: the device model's monitors are evaluated and reported (NotifyEvent).
    monitors_device_model: bool = False
    # 2.x: external limits and ISO 15118 EVs' needs and plans are reported (K12-K17).
    reports_charging_limits: bool = False
    # 2.x: network connection profiles (slots, priority, attempts) choose the connection.
    network_profiles: bool = False
    # 2.1: bidirectional power transfer (V2X) and DER control (functional blocks Q and R).
    bidirectional: bool = False
    # 2.1: the station prices its transactions with the CSMS's tariffs (local cost) and sends
    # periodic monitors' reports as event streams.
    local_cost: bool = False
    event_streams: bool = False


def settings_for(version: str) -> MachineSettings:
    if version == OCPP16:
        return MachineSettings(reports_reservation_ends=False, hides_disabled_local_list=True)
    return MachineSettings(
        reports_reservation_ends=True,
        clear_cache_needs_enabled_cache=True,
        station_names_transactions=True,
        default_transaction_measurands=(REGISTER,),
        profile_rules=version,
        unlock_keeps_authorized_transaction=True,
        folds_statuses_2x=True,
        transaction_points_from_device_model=True,
        monitors_device_model=True,
        reports_charging_limits=True,
        network_profiles=True,
        bidirectional=version == OCPP21,
        local_cost=version == OCPP21,
        event_streams=version == OCPP21,
    )


def transaction_points(station: Station, settings: MachineSettings) -> TransactionPoints:
    if settings.transaction_points_from_device_model:
        return DeviceModelPoints(station)
    return CablePoints(station)


class CablePoints:
    """1.6: the cable never opens a transaction; unplugging stops it when
    StopTransactionOnEVSideDisconnect says so."""

    def __init__(self, station: Station) -> None:
        self._station = station

    def opens_transaction_on_plug(self) -> bool:
        return False

    def stops_transaction_on_unplug(self) -> bool:
        return self._station.config.get_bool("StopTransactionOnEVSideDisconnect")


class DeviceModelPoints:
    """2.x: TxStartPoint EVConnected / ParkingBayOccupancy opens the transaction on the cable;
    TxStopPoint EVConnected / PowerPathClosed / EnergyTransfer (or
    StopTransactionOnEVSideDisconnect) ends it when the cable goes."""

    def __init__(self, station: Station) -> None:
        self._station = station
        self._device_model = DeviceModel(station)

    def opens_transaction_on_plug(self) -> bool:
        starts = self._device_model.tx_start_points()
        return bool({"EVConnected", "ParkingBayOccupancy"} & starts)

    def stops_transaction_on_unplug(self) -> bool:
        stops = self._device_model.tx_stop_points()
        return bool({"EVConnected", "PowerPathClosed", "EnergyTransfer"} & stops) or (
            self._station.config.get_bool("StopTransactionOnEVSideDisconnect")
        )
