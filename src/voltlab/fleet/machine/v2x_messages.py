"""Neutral messages of the station machine about bidirectional power transfer and DER control
(OCPP 2.1 functional blocks Q and R; no earlier version has them): the CSMS's SetDERControl,
GetDERControl and ClearDERControl with their answers, what the station sends (the
ReportDERControl pages of a report, NotifyDERAlarm), what a V2X EV adds to its charging needs,
and the gateway's commands: an external setpoint (`discharge`) and a change of the grid's
condition (a grid event injected or cleared as a fault).

The class names of the CSMS's requests are their OCPP actions."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.model.der_controls import DerControl

# -- the CSMS's requests ----------------------------------------------------------------------


@dataclass(frozen=True)
class SetDERControl:
    """A control to store; `refusal` (a reason code) when the request cannot make one (its
    control type's setting is missing)."""

    control: DerControl
    refusal: str | None = None


@dataclass(frozen=True)
class GetDERControl:
    request_id: int
    is_default: bool | None
    control_type: str | None
    control_id: str | None


@dataclass(frozen=True)
class ClearDERControl:
    is_default: bool
    control_type: str | None
    control_id: str | None


@dataclass(frozen=True)
class DERControlAnswer:
    """SetDERControl's, GetDERControl's and ClearDERControl's answer."""

    status: str  # Accepted, Rejected, NotSupported, NotFound
    superseded_ids: tuple[str, ...] = ()
    reason: str | None = None  # statusInfo.reasonCode of a refusal


DERRequest = SetDERControl | GetDERControl | ClearDERControl


# -- what the station sends -------------------------------------------------------------------


@dataclass(frozen=True)
class DERControlReport:
    """One ReportDERControl page of a GetDERControl's report (`more_follow`: tbc)."""

    request_id: int
    controls: tuple[DerControl, ...]
    more_follow: bool


@dataclass(frozen=True)
class DERAlarm:
    """NotifyDERAlarm: a grid event under a DER control began (or ended)."""

    control_type: str
    grid_event: str | None
    ended: bool
    at: float


DERCall = DERControlReport | DERAlarm


@dataclass(frozen=True)
class V2XNeeds:
    """What a bidirectional EV adds to its charging needs (2.1 V2XChargingParametersType),
    in W and Wh; the energies are signed (negative: the EV is above that state of charge)."""

    transfer_mode: str  # DC_BPT or AC_BPT
    max_charge_power_w: int
    max_discharge_power_w: int
    target_energy_wh: int  # to a full battery
    min_energy_wh: int  # to the lowest state of charge the EV allows
    max_energy_wh: int  # to a full battery
    min_v2x_energy_wh: int  # to the bottom of its V2X range
    max_v2x_energy_wh: int  # to the top of its V2X range


# -- gateway commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class Discharge:
    """An external system (an EMS, a home energy manager) asks the EV on a connector to
    discharge at `power_w` (0: to stop): the 2.1 station's external setpoint."""

    connector_id: int
    power_w: float


@dataclass(frozen=True)
class DischargeAnswer:
    connector_id: int
    setpoint_w: float | None  # the external setpoint now held (negative), None: none
    power_w: float  # the connector's power now (negative: discharging)
    # The operation mode of the connector's schedule in force; None: no schedule of its own.
    operation_mode: str | None
    following: bool  # the station follows external setpoints in that mode


@dataclass(frozen=True)
class GridConditionChanged:
    """A grid event (OverVoltage, OverFrequency, ...) was injected on the station or cleared."""


@dataclass(frozen=True)
class GridConditionAnswer:
    grid_event: str | None
    alarms: tuple[DERAlarm, ...]  # the NotifyDERAlarms it led to
    ceasing: bool  # a DER trip control stops the power transfer


V2XCommand = Discharge | GridConditionChanged
V2XCommandAnswer = DischargeAnswer | GridConditionAnswer
