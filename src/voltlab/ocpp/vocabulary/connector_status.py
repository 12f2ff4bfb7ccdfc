"""Connector statuses and error codes: the 1.6 words, the 2.x words, and the folding between.

The station model and the CSMS listener speak the 1.6 connector vocabulary, the richer one.
A 2.x station reports less: ``connectorStatus`` (Available / Occupied / Reserved /
Unavailable / Faulted) per connector, while what happens on an occupied connector travels
as the ``chargingState`` of its TransactionEvents. `connector_status_2x` and
`charging_state_2x` fold a 1.6 status into those; `connector_status_16` unfolds them.

Faults: the model's fault types map to the 1.6 ChargePointErrorCode; 2.x carries no error
code in StatusNotification (the cause travels in NotifyEvent), so an unfolded Faulted
connector has the 1.6 code OtherError."""

from __future__ import annotations

from typing import Final, Literal, get_args

ConnectorStatus16 = Literal[
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
]
CONNECTOR_STATUSES_16: Final[tuple[ConnectorStatus16, ...]] = get_args(ConnectorStatus16)

# 2.x ConnectorStatusEnumType, most telling first: a session on any connector makes the EVSE
# busy; one working connector keeps it usable; a fault says more than a plain Unavailable.
ConnectorStatus2x = Literal["Occupied", "Reserved", "Available", "Faulted", "Unavailable"]
EVSE_STATUS_PRIORITY: Final[tuple[ConnectorStatus2x, ...]] = get_args(ConnectorStatus2x)
CONNECTOR_STATUSES_2X: Final[frozenset[str]] = frozenset(EVSE_STATUS_PRIORITY)

ChargingState2x = Literal["EVConnected", "Charging", "SuspendedEV", "SuspendedEVSE", "Idle"]

CONNECTOR_STATUS_2X: Final[dict[str, ConnectorStatus2x]] = {
    "Available": "Available",
    "Preparing": "Occupied",
    "Charging": "Occupied",
    "SuspendedEV": "Occupied",
    "SuspendedEVSE": "Occupied",
    "Finishing": "Occupied",
    "Reserved": "Reserved",
    "Unavailable": "Unavailable",
    "Faulted": "Faulted",
}
# The chargingState of a transaction on a connector in a 1.6 status (none for the others).
_CHARGING_STATE_2X: Final[dict[str, ChargingState2x]] = {
    "Charging": "Charging",
    "SuspendedEV": "SuspendedEV",
    "SuspendedEVSE": "SuspendedEVSE",
    "Preparing": "EVConnected",
    "Finishing": "EVConnected",
}
# chargingState of the EVSE's open transaction -> the 1.6 status of an Occupied connector.
_OCCUPIED_16: Final[dict[str, ConnectorStatus16]] = {
    "Charging": "Charging",
    "SuspendedEV": "SuspendedEV",
    "SuspendedEVSE": "SuspendedEVSE",
    "EVConnected": "Preparing",
    "Idle": "Preparing",
}

# The model's fault types, and the 1.6 ChargePointErrorCode each one is reported with.
FaultType = Literal[
    "GroundFault",
    "OverCurrent",
    "OverVoltage",
    "UnderVoltage",
    "OverTemperature",
    "InternalError",
    "ConnectorLockFailure",
    "EVCommunicationError",
    "PowerMeterFailure",
    "WeakSignal",
    # Grid events (the grid's frequency out of its band); OverVoltage and UnderVoltage are
    # grid events too. A 2.1 station raises NotifyDERAlarm for them under a DER control.
    "OverFrequency",
    "UnderFrequency",
]
FAULT_TYPES: Final[tuple[FaultType, ...]] = get_args(FaultType)
ChargePointErrorCode16 = Literal[
    "ConnectorLockFailure",
    "EVCommunicationError",
    "GroundFailure",
    "HighTemperature",
    "InternalError",
    "LocalListConflict",
    "NoError",
    "OtherError",
    "OverCurrentFailure",
    "OverVoltage",
    "PowerMeterFailure",
    "PowerSwitchFailure",
    "ReaderFailure",
    "ResetFailure",
    "UnderVoltage",
    "WeakSignal",
]
ERROR_CODES_16: Final[dict[FaultType, ChargePointErrorCode16]] = {
    "GroundFault": "GroundFailure",
    "OverCurrent": "OverCurrentFailure",
    "OverVoltage": "OverVoltage",
    "UnderVoltage": "UnderVoltage",
    "OverTemperature": "HighTemperature",
    "InternalError": "InternalError",
    "ConnectorLockFailure": "ConnectorLockFailure",
    "EVCommunicationError": "EVCommunicationError",
    "PowerMeterFailure": "PowerMeterFailure",
    "WeakSignal": "WeakSignal",
    "OverFrequency": "OtherError",  # 1.6 has no code for the grid's frequency
    "UnderFrequency": "OtherError",
}


# The same table keyed by any string: a lookup per StatusNotification, not a scan.
_ERROR_CODES_16_BY_TEXT: Final[dict[str | None, ChargePointErrorCode16]] = {
    fault: code for fault, code in ERROR_CODES_16.items()
}


def error_code_16(fault_type: str | None) -> ChargePointErrorCode16:
    """The 1.6 errorCode for a fault type; no fault (None) is NoError."""
    return _ERROR_CODES_16_BY_TEXT.get(fault_type, "NoError")


def connector_status_2x(status: str) -> ConnectorStatus2x:
    """A 1.6 status folded into 2.x; a word 1.6 does not have is Unavailable."""
    return CONNECTOR_STATUS_2X.get(status, "Unavailable")


def charging_state_2x(status: str) -> ChargingState2x | None:
    """The chargingState a transaction has on a connector in this 1.6 status, if any."""
    return _CHARGING_STATE_2X.get(status)


def connector_status_16(
    connector_status: str, charging_state: str | None, has_transaction: bool, finishing: bool
) -> tuple[str, ChargePointErrorCode16]:
    """(1.6 status, 1.6 errorCode) of a 2.x connector.

    Occupied becomes, by the state of the open transaction: its chargingState Charging /
    SuspendedEV / SuspendedEVSE in the same words; EVConnected, Idle or none reported yet
    Preparing. Occupied with no open transaction is Preparing, or Finishing once a
    transaction ended there and the EV is still plugged in (``finishing``)."""
    if connector_status == "Occupied":
        if has_transaction:
            return _OCCUPIED_16.get(charging_state or "", "Preparing"), "NoError"
        return ("Finishing" if finishing else "Preparing"), "NoError"
    if connector_status == "Faulted":
        return "Faulted", "OtherError"
    return connector_status, "NoError"
