"""Neutral messages of the station machine about limits and an EV's needs (OCPP 2.0.1 K12/K13
NotifyChargingLimit and ClearedChargingLimit, K15-K17 NotifyEVChargingNeeds and
NotifyEVChargingSchedule), reused by 2.1; and the gateway's commands that set and clear an
external limit (an EMS's) on the station."""

from __future__ import annotations

from dataclasses import dataclass

from voltlab.fleet.machine.v2x_messages import V2XNeeds


@dataclass(frozen=True)
class PlannedPeriod:
    start_period: int  # seconds from the schedule's start
    limit: float  # in the schedule's unit
    number_phases: int | None = None


@dataclass(frozen=True)
class PlannedSchedule:
    """A ChargingScheduleType the station reports (an external limit, an EV's plan)."""

    schedule_id: int
    start: float
    duration: int | None
    unit: str  # W or A
    periods: tuple[PlannedPeriod, ...]


# -- gateway commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class SetExternalLimit:
    """An energy management system (or another source) limits a connector (0: the station)."""

    connector_id: int
    limit_w: float
    source: str = "EMS"
    grid_critical: bool | None = None


@dataclass(frozen=True)
class ClearExternalLimit:
    connector_id: int


@dataclass(frozen=True)
class ExternalLimitAnswer:
    connector_id: int
    limit_w: float | None  # None: cleared
    source: str
    notified: bool  # the CSMS was told (2.x NotifyChargingLimit / ClearedChargingLimit)


# -- what the station sends -------------------------------------------------------------------


@dataclass(frozen=True)
class ChargingLimitNotice:
    """NotifyChargingLimit: an external limit on an EVSE (None: the station) changed."""

    evse_id: int | None
    source: str
    grid_critical: bool | None
    schedule: PlannedSchedule | None


@dataclass(frozen=True)
class ChargingLimitCleared:
    """ClearedChargingLimit: the external limit of that source is gone."""

    evse_id: int | None
    source: str


@dataclass(frozen=True)
class EVChargingNeeds:
    """NotifyEVChargingNeeds: what an ISO 15118 EV asked for at the start of its session."""

    evse_id: int
    transfer_mode: str  # AC_single_phase, AC_three_phase, DC
    departure_at: float | None
    energy_wh: int
    max_current_a: int
    max_voltage_v: int
    min_current_a: int | None = None  # AC
    max_power_w: int | None = None  # DC
    soc_percent: int | None = None  # DC
    capacity_wh: int | None = None  # DC
    bulk_soc_percent: int | None = None  # DC
    # A bidirectional EV on a 2.1 station (None: it only charges, or the version has no V2X).
    v2x: V2XNeeds | None = None


@dataclass(frozen=True)
class EVChargingNeedsAnswer:
    status: str  # Accepted, Rejected, Processing (2.1: NoChargingProfile)


@dataclass(frozen=True)
class EVChargingSchedule:
    """NotifyEVChargingSchedule: the plan the EV computed from the station's schedule."""

    evse_id: int
    time_base: float
    schedule: PlannedSchedule


@dataclass(frozen=True)
class EVChargingScheduleAnswer:
    status: str  # Accepted, Rejected


ExternalLimitCommand = SetExternalLimit | ClearExternalLimit
ChargingLimitCall = (
    ChargingLimitNotice | ChargingLimitCleared | EVChargingNeeds | EVChargingSchedule
)
ChargingLimitCallAnswer = EVChargingNeedsAnswer | EVChargingScheduleAnswer
