"""A charging profile as the station model holds it: its schedule, its validity and the rules
that make it usable (`problems`, as reason codes a 2.x statusInfo can carry), whatever the OCPP
version. The codecs (`fleet/codecs/*_profiles.py`) read and write its 1.6 and 2.x JSON; the
model speaks the 1.6 vocabulary (`ChargePointMaxProfile`, connector ids). `to_dict` /
`from_dict` are its stored form, not a wire form."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from voltlab.ocpp.versions import OCPP16, OCPP21, is_ocpp2

CHARGE_POINT_MAX = "ChargePointMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX_PROFILE = "TxProfile"
PURPOSES = (CHARGE_POINT_MAX, TX_DEFAULT, TX_PROFILE)
# 2.0.1 renamed the station-wide purpose; the model keeps the 1.6 name and translates at the edge.
STATION_MAX_201 = "ChargingStationMaxProfile"
PURPOSE_ALIASES = {STATION_MAX_201: CHARGE_POINT_MAX}

ABSOLUTE = "Absolute"
RECURRING = "Recurring"
RELATIVE = "Relative"
KINDS = (ABSOLUTE, RECURRING, RELATIVE)

DAILY = "Daily"
WEEKLY = "Weekly"
RECURRENCY_SECONDS: dict[str, int] = {DAILY: 86_400, WEEKLY: 7 * 86_400}

AMPERE = "A"
WATT = "W"
RATE_UNITS = (AMPERE, WATT)

ACCEPTED = "Accepted"
REJECTED = "Rejected"

# OCPP 2.1 OperationModeEnumType: what a schedule period asks of the EV (absent: ChargingOnly).
IDLE = "Idle"
CHARGING_ONLY = "ChargingOnly"
CENTRAL_SETPOINT = "CentralSetpoint"
EXTERNAL_SETPOINT = "ExternalSetpoint"
EXTERNAL_LIMITS = "ExternalLimits"
CENTRAL_FREQUENCY = "CentralFrequency"
LOCAL_FREQUENCY = "LocalFrequency"
LOCAL_LOAD_BALANCING = "LocalLoadBalancing"
OPERATION_MODES = (
    IDLE,
    CHARGING_ONLY,
    CENTRAL_SETPOINT,
    EXTERNAL_SETPOINT,
    EXTERNAL_LIMITS,
    CENTRAL_FREQUENCY,
    LOCAL_FREQUENCY,
    LOCAL_LOAD_BALANCING,
)
# The modes in which a period may leave out its limit (the 2.1 schema's note on `limit`).
LIMIT_OPTIONAL_MODES = frozenset(
    {CENTRAL_SETPOINT, EXTERNAL_SETPOINT, EXTERNAL_LIMITS, LOCAL_FREQUENCY, LOCAL_LOAD_BALANCING}
)

# Reason codes for rejections, at most 20 characters so they fit 2.0.1 statusInfo.reasonCode.
REASON_UNKNOWN_CONNECTOR = "UnknownEvse"
REASON_WRONG_CONNECTOR = "InvalidEvse"
REASON_NO_TRANSACTION = "TxNotFound"
REASON_INVALID_PROFILE = "InvalidProfile"
REASON_INVALID_SCHEDULE = "InvalidSchedule"
REASON_STACK_CONFLICT = "DuplicateProfile"
REASON_UNSUPPORTED = "UnsupportedParam"


class ProfileError(ValueError):
    """Charging profile JSON that cannot become a `ChargingProfile`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class SchedulePeriod(NamedTuple):
    start_period: int  # seconds from the start of the schedule
    # In the schedule's charging rate unit. None: a 2.1 period whose operation mode needs no
    # limit (CentralSetpoint, ...); negative: a 2.1 discharge limit in the older style.
    limit: float | None
    number_phases: int | None = None
    # OCPP 2.1 (bidirectional power transfer); None in every period of 1.6 and 2.0.1.
    operation_mode: str | None = None  # an OPERATION_MODES value; None: ChargingOnly
    setpoint: float | None = None  # the power to follow, negative to discharge
    discharge_limit: float | None = None  # <= 0: how much the EV may discharge at most
    v2x_baseline: float | None = None  # frequency modes: the power the curve adds to
    # Frequency modes: (frequency in Hz, power in the schedule's unit) points, ascending.
    freq_watt: tuple[tuple[float, float], ...] | None = None

    @property
    def mode(self) -> str:
        return self.operation_mode or CHARGING_ONLY


@dataclass(frozen=True, kw_only=True)
class ChargingProfile:
    id: int
    stack_level: int
    purpose: str  # one of PURPOSES
    kind: str  # one of KINDS
    charging_rate_unit: str  # "A" or "W"
    periods: tuple[SchedulePeriod, ...]
    recurrency: str | None = None  # DAILY or WEEKLY, for Recurring profiles
    valid_from: float | None = None
    valid_to: float | None = None
    transaction_id: str | int | None = None  # TxProfile: 1.6 integer, 2.0.1 string
    start_schedule: float | None = None
    duration: int | None = None
    min_charging_rate: float | None = None
    # 2.0.1 gives the schedule its own id; kept so a profile reports back what was sent.
    schedule_id: int | None = None

    def __post_init__(self) -> None:
        # Accept plain tuples and lists for periods and the 2.0.1 purpose name, so callers and
        # tests can write profiles tersely; the stored form is always the canonical one.
        periods = tuple(
            period if isinstance(period, SchedulePeriod) else SchedulePeriod(*period)
            for period in self.periods
        )
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "purpose", PURPOSE_ALIASES.get(self.purpose, self.purpose))

    # -- validity -----------------------------------------------------------------------------

    def valid_at(self, now: float) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_to is None or now < self.valid_to

    def problems(self, *, ocpp_version: str = OCPP16) -> list[str]:
        """What makes the profile unusable, as reason codes (empty: fine). 2.x adds the K01
        rules that 1.6 leaves open."""
        found: list[str] = []
        if self.purpose not in PURPOSES or self.kind not in KINDS:
            found.append(REASON_INVALID_PROFILE)
        if self.stack_level < 0 or self.charging_rate_unit not in RATE_UNITS:
            found.append(REASON_INVALID_PROFILE)
        if self.kind == RECURRING and (
            self.recurrency not in RECURRENCY_SECONDS or self.start_schedule is None
        ):
            found.append(REASON_INVALID_SCHEDULE)
        if (
            self.valid_from is not None
            and self.valid_to is not None
            and self.valid_to <= self.valid_from
        ):
            found.append(REASON_INVALID_PROFILE)
        if self.duration is not None and self.duration < 0:
            found.append(REASON_INVALID_SCHEDULE)
        if not self.periods or not _ascending(self.periods):
            found.append(REASON_INVALID_SCHEDULE)
        for period in self.periods:
            if period.number_phases not in (None, 1, 2, 3) or not _period_fits(
                period, ocpp_version
            ):
                found.append(REASON_INVALID_SCHEDULE)
                break
        if is_ocpp2(ocpp_version):
            # K01.FR.31: the first period starts the schedule.
            if self.periods and self.periods[0].start_period != 0:
                found.append(REASON_INVALID_SCHEDULE)
            # K01.FR.40/41: Absolute and Recurring carry a start, Relative does not.
            if (self.kind == RELATIVE) != (self.start_schedule is None):
                found.append(REASON_INVALID_SCHEDULE)
            # K01.FR.38: a station-wide limit has no transaction to be relative to.
            if self.purpose == CHARGE_POINT_MAX and self.kind == RELATIVE:
                found.append(REASON_INVALID_PROFILE)
            # K01.FR.03: a 2.x TxProfile names its transaction.
            if self.purpose == TX_PROFILE and self.transaction_id is None:
                found.append(REASON_NO_TRANSACTION)
        return list(dict.fromkeys(found))

    # -- persistence --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["periods"] = [list(period) for period in self.periods]
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ChargingProfile:
        fields = dict(body)
        fields["periods"] = tuple(_stored_period(period) for period in body["periods"])
        return cls(**fields)


def _stored_period(stored: Sequence[Any]) -> SchedulePeriod:
    period = SchedulePeriod(*stored)
    if period.freq_watt is not None:  # JSON gives lists back
        period = period._replace(freq_watt=tuple((f, w) for f, w in period.freq_watt))
    return period


def _period_fits(period: SchedulePeriod, ocpp_version: str) -> bool:
    """A period's limit and 2.1 fields as the version allows them: before 2.1 a limit is there
    and not negative, and nothing of bidirectional power transfer is; 2.1 allows a negative
    limit (the older way to say a discharge limit, kept for backwards compatibility), leaves
    the limit out only where the operation mode needs none, and asks a setpoint of
    CentralSetpoint and a curve of the frequency modes."""
    if ocpp_version != OCPP21:
        v2x = (period.operation_mode, period.setpoint, period.discharge_limit, period.freq_watt)
        return period.limit is not None and period.limit >= 0 and v2x == (None,) * 4
    mode = period.mode
    if mode not in OPERATION_MODES:
        return False
    if period.limit is None and mode not in LIMIT_OPTIONAL_MODES:
        return False
    if period.discharge_limit is not None and period.discharge_limit > 0:
        return False
    if mode == CENTRAL_SETPOINT and period.setpoint is None:
        return False
    if mode in (CENTRAL_FREQUENCY, LOCAL_FREQUENCY) and not period.freq_watt:
        return False
    return period.freq_watt is None or _ascending_points(period.freq_watt)


def _ascending_points(points: Sequence[tuple[float, float]]) -> bool:
    return all(a[0] < b[0] for a, b in zip(points, points[1:], strict=False))


# -- one profile's schedule over time ----------------------------------------------------------


def schedule_start(
    profile: ChargingProfile, now: float, relative_start: float | None
) -> float | None:
    """Where the schedule (for a Recurring one: the current or next cycle) starts."""
    if profile.kind == RELATIVE:
        return relative_start
    start = profile.start_schedule if profile.start_schedule is not None else profile.valid_from
    if start is None:
        return None
    if profile.kind == RECURRING and now >= start:
        cycle = RECURRENCY_SECONDS.get(profile.recurrency or "", RECURRENCY_SECONDS[DAILY])
        return start + math.floor((now - start) / cycle) * cycle
    return start


def active_period(
    profile: ChargingProfile, now: float, relative_start: float | None
) -> SchedulePeriod | None:
    if not profile.valid_at(now):
        return None
    start = schedule_start(profile, now, relative_start)
    if start is None or now < start:
        return None
    offset = now - start
    if profile.duration is not None and offset >= profile.duration:
        return None
    active = None
    for period in profile.periods:
        if period.start_period > offset:
            break
        active = period
    return active


def schedule_edges(
    profile: ChargingProfile, now: float, relative_start: float | None
) -> list[float]:
    edges = [edge for edge in (profile.valid_from, profile.valid_to) if edge is not None]
    start = schedule_start(profile, now, relative_start)
    if start is not None:
        edges.extend(start + period.start_period for period in profile.periods)
        if profile.duration is not None:
            edges.append(start + profile.duration)
        if profile.kind == RECURRING:
            edges.append(start + RECURRENCY_SECONDS.get(profile.recurrency or "", 86_400))
    return edges


def _ascending(periods: Sequence[SchedulePeriod]) -> bool:
    starts = [period.start_period for period in periods]
    return starts[0] >= 0 and all(a < b for a, b in zip(starts, starts[1:], strict=False))
