"""Bidirectional power transfer on the station model (OCPP 2.1 functional block Q, V2X).

Power is signed: positive while the EV charges, negative while it discharges into the grid.
What a connector's EV does follows the 2.1 schedule period in force (its TxProfile, else a
TxDefaultProfile), by the period's operation mode:

- ChargingOnly (the default, and every 1.6 / 2.0.1 period): the EV charges within the limits;
  a negative limit allows no charging and no discharging either (power clamped at 0);
- Idle: neither;
- CentralSetpoint: the EV follows the period's setpoint (negative: discharge);
- ExternalSetpoint, ExternalLimits, LocalLoadBalancing: the EV follows the setpoint an external
  system gives (the gateway's `discharge`), and charges within the limits without one;
- CentralFrequency, LocalFrequency: the EV follows the period's frequency-watt curve at the
  grid frequency the station measures, on top of the period's `v2xBaseline`.

A connector without a period of its own follows an external setpoint too: nothing in its
schedule says otherwise (the station is under local control).

Every setpoint is bounded: upwards by what the EV may take (the charging limits of every
profile, external limits, the EV and the EVSE), downwards by what it may give: the EV's rated
discharge power and its lowest state of charge, the EVSE's rating, the period's
`dischargeLimit` (and the station-wide profile's), a negative `limit` of the older style, and
the DER controls (LimitMaxDischarge; a trip on a grid event stops both directions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

from voltlab.fleet.model.charging_profile import (
    CENTRAL_FREQUENCY,
    CENTRAL_SETPOINT,
    CHARGING_ONLY,
    IDLE,
    LOCAL_FREQUENCY,
)
from voltlab.fleet.model.der_controls import DerControls, grid_event, grid_frequency_hz
from voltlab.fleet.model.smart_charging import AC_PHASE_VOLTAGE, ActivePeriod, in_watts

if TYPE_CHECKING:
    from voltlab.fleet.model.catalog import ChargerModel
    from voltlab.fleet.model.records import Connector, Fault
    from voltlab.fleet.model.smart_charging import ChargingProfiles


class V2XDirective(NamedTuple):
    """What the period in force asks of a connector's EV, in W."""

    mode: str  # an OperationModeEnumType value
    setpoint_w: float | None  # signed
    baseline_w: float | None
    freq_watt: tuple[tuple[float, float], ...] | None  # (Hz, W)


class V2XState:
    """What a station holds for bidirectional power transfer: the setpoints external systems
    gave its connectors, and its DER controls."""

    __slots__ = ("der", "enabled", "setpoints")

    def __init__(self) -> None:
        # Off for a station whose OCPP version has no V2X (the machine says, by its settings):
        # its power is what 1.6 and 2.0.1 always made of it, at no cost.
        self.enabled = True
        self.setpoints: dict[int, float] = {}
        self.der = DerControls()


class Station(Protocol):
    """What of the station model the power rules read (`station.Station`)."""

    model: ChargerModel
    profiles: ChargingProfiles
    station_fault: Fault | None
    v2x: V2XState

    @property
    def now(self) -> float | None: ...

    def connector(self, connector_id: int) -> Connector: ...

    def phases(self, connector_id: int) -> int: ...

    def may_transfer(self, conn: Connector) -> bool: ...


def directive(own_period: ActivePeriod | None, phases: int) -> V2XDirective | None:
    """What the connector's own period asks (None: no period of its own is in force)."""
    if own_period is None:
        return None
    period = own_period.period
    setpoint = None
    if period.setpoint is not None:
        setpoint = in_watts(own_period, period.setpoint, phases, AC_PHASE_VOLTAGE)
    return V2XDirective(period.mode, setpoint, period.v2x_baseline, period.freq_watt)


def discharge_limit_w(
    station_period: ActivePeriod | None, own_period: ActivePeriod | None, phases: int
) -> float | None:
    """The most the periods in force let the EV give (>= 0; None: they set no bound): their
    `dischargeLimit`s, or the connector's negative `limit` of the older style."""
    bounds = [
        in_watts(active, -active.period.discharge_limit, phases, AC_PHASE_VOLTAGE)
        for active in (station_period, own_period)
        if active is not None and active.period.discharge_limit is not None
    ]
    if own_period is not None:
        period = own_period.period
        if period.limit is not None and period.limit < 0 and period.discharge_limit is None:
            # The older way to say a discharge limit (the 2.1 schema keeps it for them).
            bounds.append(in_watts(own_period, -period.limit, phases, AC_PHASE_VOLTAGE))
    return min(bounds) if bounds else None


def engaged(station: Station) -> bool:
    """Could anything of V2X bear on the station's power now? (The common case, a station
    without profiles, setpoints or DER controls, skips the rest.)"""
    v2x = station.v2x
    if not v2x.enabled:
        return False
    return station.profiles.any_installed() or bool(v2x.setpoints or v2x.der)


def connector_power_w(station: Station, conn: Connector, charge_w: float) -> float:
    """The signed power of a connector whose EV may take `charge_w` (every charging limit
    applied): what the directive, an external setpoint and the DER controls make of it."""
    now = station.now
    if now is None:
        return charge_w
    event = grid_event([station.station_fault.fault_type] if station.station_fault else [])
    if station.v2x.der.ceases(event, now):
        return 0.0
    tx = conn.transaction
    cid = conn.connector_id
    station_period, own_period = station.profiles.governing(
        cid, now, tx_started_at=None if tx is None else tx.started_at
    )
    phases = station.phases(cid)
    said = directive(own_period, phases)
    target = _target_w(said, station.v2x.setpoints.get(cid), grid_frequency_hz(event))
    if target is None:
        return charge_w
    if target >= 0:
        return min(target, charge_w)
    if not station.may_transfer(conn):
        return 0.0
    limit = discharge_limit_w(station_period, own_period, phases)
    return max(target, -discharge_w(station, conn, limit, now))


def operation_mode(station: Station, connector_id: int) -> str | None:
    """The operation mode of the connector's own period in force (None: none)."""
    now = station.now
    if now is None:
        return None
    tx = station.connector(connector_id).transaction
    _, own = station.profiles.governing(
        connector_id, now, tx_started_at=None if tx is None else tx.started_at
    )
    return None if own is None else own.period.mode


def _target_w(
    said: V2XDirective | None, setpoint: float | None, frequency_hz: float
) -> float | None:
    """What the EV is asked to do (signed W); None: charge as much as it may."""
    if said is None:
        return setpoint
    if said.mode == IDLE:
        return 0.0
    if said.mode == CHARGING_ONLY:
        return None
    if said.mode == CENTRAL_SETPOINT:
        return said.setpoint_w
    if said.mode in (CENTRAL_FREQUENCY, LOCAL_FREQUENCY) and said.freq_watt:
        return (said.baseline_w or 0.0) + follow_curve(said.freq_watt, frequency_hz)
    return setpoint  # the external system's (ExternalSetpoint, ExternalLimits, ...)


def discharge_w(station: Station, conn: Connector, limit_w: float | None, now: float) -> float:
    """The most the connector's EV may give now (>= 0): the EV, the EVSE, the schedule's
    `limit_w` and the DER controls."""
    ev = conn.ev
    if ev is None:
        return 0.0
    bounds = [ev.discharge_w(), float(conn.spec.max_power_w)]
    bounds.append(float(station.model.max_station_power_w))
    if limit_w is not None:
        bounds.append(limit_w)
    share = station.v2x.der.discharge_share(now)
    if share is not None:
        bounds.append(share * ev.profile.max_discharge_w)
    return max(0.0, min(bounds))


def follow_curve(points: tuple[tuple[float, float], ...], x: float) -> float:
    """A piecewise-linear curve at `x`, flat beyond its first and last points."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]
