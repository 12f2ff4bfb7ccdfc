"""A charging session cut into atomic segments for tariff evaluation.

OCPI tariff restrictions switch elements on and off at times of day, midnights, session
durations and energy thresholds. Cutting the session at every such instant (and at every
charging/parking change) leaves segments inside which nothing that a restriction looks at
changes, so each segment is priced by evaluating restrictions once, at its midpoint — the
midpoint keeps inclusive/exclusive bounds (start_time inclusive, end_time exclusive, …)
exact without fighting float error at the cut itself.

Time is integer microseconds from session start; instants are computed in UTC and only
turned into local wall-clock time to test restrictions, so DST days have their real length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

US_PER_S = 1_000_000
US_PER_H = 3_600 * US_PER_S
_ROUNDING_SLACK_US = 2 * US_PER_S
_DAY_NAMES: tuple[str, ...] = (
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
)


@dataclass(frozen=True)
class Phase:
    start_us: int
    end_us: int
    charging: bool
    energy_kwh: float
    power_kw: float
    current_a: float | None


@dataclass(frozen=True)
class Moment:
    """What restrictions look at, sampled at a segment's midpoint."""

    local: datetime
    elapsed_s: float
    energy_kwh: float  # consumed so far in the session
    power_kw: float
    current_a: float | None


@dataclass(frozen=True)
class Segment:
    start_us: int
    end_us: int
    charging: bool
    energy_kwh: float  # consumed inside this segment
    power_kw: float
    moment: Moment

    @property
    def seconds(self) -> float:
        return (self.end_us - self.start_us) / US_PER_S


def parse_instant(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _dimensions(period: dict[str, Any]) -> dict[str, float]:
    volumes: dict[str, float] = {}
    for dimension in period.get("dimensions") or []:
        kind, volume = dimension.get("type"), dimension.get("volume")
        if isinstance(kind, str) and isinstance(volume, int | float):
            if kind.startswith("MAX_") or kind in ("POWER", "CURRENT"):
                volumes[kind] = max(volumes.get(kind, 0.0), float(volume))
            else:
                volumes[kind] = volumes.get(kind, 0.0) + max(0.0, float(volume))
    return volumes


class SessionTimeline:
    def __init__(
        self,
        *,
        start: datetime,
        end: datetime,
        charging_periods: list[dict[str, Any]] | None,
        energy_kwh: float,
        max_power_kw: float | None,
        time_zone: str | None,
    ) -> None:
        self.local_tz = self._local_zone(start, time_zone)
        # Naive instants are wall-clock time in the location's zone (UTC if none given).
        self._naive_tz: tzinfo = self.local_tz if start.tzinfo is None else UTC
        self.origin = self._aware(start)
        self.total_us = max(0, self._offset(end))
        self.phases = self._phases(charging_periods or [], energy_kwh, max_power_kw)

    # -- instants -----------------------------------------------------------------------------

    @staticmethod
    def _local_zone(start: datetime, time_zone: str | None) -> tzinfo:
        if time_zone:
            try:
                return ZoneInfo(time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                pass  # bill with the caller's offset rather than fail a finished session
        return start.tzinfo or UTC

    def _aware(self, moment: datetime) -> datetime:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=self._naive_tz)
        return aware.astimezone(UTC)

    def _offset(self, moment: datetime) -> int:
        return (self._aware(moment) - self.origin) // timedelta(microseconds=1)

    def instant(self, offset_us: int) -> datetime:
        return self.origin + timedelta(microseconds=offset_us)

    def local(self, offset_us: int) -> datetime:
        return self.instant(offset_us).astimezone(self.local_tz)

    # -- phases -------------------------------------------------------------------------------

    def _phases(
        self, periods: list[dict[str, Any]], energy_kwh: float, max_power_kw: float | None
    ) -> list[Phase]:
        if not periods:
            if self.total_us == 0:
                return []
            power = self._power({}, energy_kwh, self.total_us, max_power_kw)
            return [Phase(0, self.total_us, True, max(0.0, energy_kwh), power, None)]
        starts = [
            self._clamp(self._offset(parse_instant(p.get("start_date_time") or self.origin)))
            for p in periods
        ]
        order = sorted(range(len(periods)), key=lambda i: (starts[i], i))
        raw: list[tuple[int, int, int, dict[str, float]]] = []  # start, split, end, dims
        for rank, i in enumerate(order):
            begin = 0 if rank == 0 else starts[i]  # the first period opens the session
            finish = starts[order[rank + 1]] if rank + 1 < len(order) else self.total_us
            if finish <= begin:
                continue
            dims = _dimensions(periods[i])
            raw.append((begin, begin + self._charging_us(dims, finish - begin), finish, dims))
        has_energy = any("ENERGY" in dims for *_, dims in raw)
        charging_total = sum(split - begin for begin, split, _, _ in raw)
        phases: list[Phase] = []
        for begin, split, finish, dims in raw:
            if has_energy:
                energy = dims.get("ENERGY", 0.0)
            else:
                # No per-period energy: spread the session total over the charging time.
                energy = energy_kwh * (split - begin) / charging_total if charging_total else 0.0
            if split > begin:
                power = self._power(dims, energy, split - begin, max_power_kw)
                current = dims.get("MAX_CURRENT", dims.get("CURRENT"))
                phases.append(Phase(begin, split, True, energy, power, current))
            if finish > split:
                phases.append(Phase(split, finish, False, 0.0, 0.0, 0.0))
        return phases

    def _clamp(self, offset_us: int) -> int:
        return min(max(offset_us, 0), self.total_us)

    @staticmethod
    def _charging_us(dims: dict[str, float], length_us: int) -> int:
        if "TIME" in dims:
            charging = round(dims["TIME"] * US_PER_H)
        elif "PARKING_TIME" in dims:
            charging = length_us - round(dims["PARKING_TIME"] * US_PER_H)
        else:
            charging = length_us if dims.get("ENERGY", 0.0) > 0 else 0
        if dims.get("ENERGY", 0.0) > 0 and charging <= 0:
            charging = length_us  # energy flowed, so the EV was charging
        # Producers round volumes (e.g. hours to 4 decimals): a leftover that small is
        # rounding, not a real parking or charging stretch worth a whole billing step.
        slack = max(_ROUNDING_SLACK_US, length_us // 200)
        if length_us - charging <= slack:
            return length_us
        if charging <= slack:
            return 0
        return charging

    @staticmethod
    def _power(
        dims: dict[str, float], energy_kwh: float, length_us: int, max_power_kw: float | None
    ) -> float:
        measured = max(dims.get("MAX_POWER", 0.0), dims.get("POWER", 0.0))
        if measured > 0:
            return measured
        if max_power_kw is not None:
            return float(max_power_kw)
        return energy_kwh / (length_us / US_PER_H) if length_us else 0.0

    # -- cumulative energy --------------------------------------------------------------------

    def energy_at(self, offset_us: int) -> float:
        total = 0.0
        for phase in self.phases:
            if offset_us >= phase.end_us:
                total += phase.energy_kwh
            elif offset_us > phase.start_us:
                share = (offset_us - phase.start_us) / (phase.end_us - phase.start_us)
                total += phase.energy_kwh * share
        return total

    def _phase_at(self, offset_us: int) -> Phase | None:
        for phase in self.phases:
            if phase.start_us <= offset_us < phase.end_us:
                return phase
        return self.phases[-1] if self.phases else None

    # -- cuts ---------------------------------------------------------------------------------

    def _clock_cuts(self, clock_times: list[time]) -> list[int]:
        first = self.local(0).date() - timedelta(days=1)
        last = self.local(self.total_us).date() + timedelta(days=1)
        cuts: list[int] = []
        day = first
        while day <= last:
            for wall in clock_times:
                local = datetime.combine(day, wall, tzinfo=self.local_tz)
                cuts.append((local.astimezone(UTC) - self.origin) // timedelta(microseconds=1))
            day += timedelta(days=1)
        return cuts

    def _energy_cuts(self, thresholds: list[float]) -> list[int]:
        cuts: list[int] = []
        consumed = 0.0
        for phase in self.phases:
            after = consumed + phase.energy_kwh
            for kwh in thresholds:
                if consumed < kwh < after:
                    share = (kwh - consumed) / phase.energy_kwh
                    cuts.append(phase.start_us + round(share * (phase.end_us - phase.start_us)))
            consumed = after
        return cuts

    def cuts(self, elements: list[dict[str, Any]]) -> list[int]:
        points = {0, self.total_us}
        for phase in self.phases:
            points.update((phase.start_us, phase.end_us))
        clock_times = [time(0, 0)]  # midnight: day_of_week and date restrictions flip there
        thresholds: list[float] = []
        for element in elements:
            restrictions = element.get("restrictions") or {}
            for key in ("start_time", "end_time"):
                if restrictions.get(key):
                    clock_times.append(parse_clock(restrictions[key]))
            for key in ("min_duration", "max_duration"):
                if restrictions.get(key) is not None:
                    points.add(round(float(restrictions[key]) * US_PER_S))
            for key in ("min_kwh", "max_kwh"):
                if restrictions.get(key) is not None:
                    thresholds.append(float(restrictions[key]))
        points.update(self._clock_cuts(clock_times))
        points.update(self._energy_cuts(thresholds))
        return sorted(p for p in points if 0 <= p <= self.total_us)

    def segments(self, elements: list[dict[str, Any]]) -> list[Segment]:
        cuts = self.cuts(elements)
        result: list[Segment] = []
        for start_us, end_us in zip(cuts, cuts[1:], strict=False):
            if end_us <= start_us:
                continue
            result.append(self.segment(start_us, end_us))
        return result

    def segment(self, start_us: int, end_us: int) -> Segment:
        middle = (start_us + end_us) // 2
        phase = self._phase_at(middle)
        charging = phase.charging if phase else True
        power = phase.power_kw if phase else 0.0
        current = phase.current_a if phase else None
        moment = Moment(
            self.local(middle), middle / US_PER_S, self.energy_at(middle), power, current
        )
        energy = self.energy_at(end_us) - self.energy_at(start_us)
        return Segment(start_us, end_us, charging, max(0.0, energy), power, moment)


def parse_clock(value: str) -> time:
    hours, minutes = value.split(":", 1)
    return time(int(hours) % 24, int(minutes))


def _minute_of_day(value: time) -> float:
    return value.hour * 60 + value.minute + value.second / 60 + value.microsecond / 60e6


def _clock_window_open(restrictions: dict[str, Any], local: datetime) -> bool:
    begin = (
        _minute_of_day(parse_clock(restrictions["start_time"]))
        if restrictions.get("start_time")
        else 0.0
    )
    end = (
        _minute_of_day(parse_clock(restrictions["end_time"]))
        if restrictions.get("end_time")
        else 1440.0
    )
    if end == 0.0:
        end = 1440.0  # "To stop at end of the day use: 00:00"
    now = _minute_of_day(local.time())
    if begin < end:
        return begin <= now < end
    if begin > end:  # wraps past midnight, e.g. 22:00-06:00
        return now >= begin or now < end
    return True


def restrictions_met(restrictions: dict[str, Any] | None, moment: Moment) -> bool:
    """OCPI 2.2.1 TariffRestrictions, all ANDed; min bounds inclusive, max bounds exclusive."""
    if not restrictions:
        return True
    if restrictions.get("reservation"):
        return False  # reservation pricing never applies to a charging session
    if (restrictions.get("start_time") or restrictions.get("end_time")) and not _clock_window_open(
        restrictions, moment.local
    ):
        return False
    today = moment.local.date()
    if restrictions.get("start_date") and today < date.fromisoformat(restrictions["start_date"]):
        return False
    if restrictions.get("end_date") and today >= date.fromisoformat(restrictions["end_date"]):
        return False
    days = restrictions.get("day_of_week")
    if days and _DAY_NAMES[moment.local.weekday()] not in days:
        return False
    measured: dict[str, float | None] = {
        "kwh": moment.energy_kwh,
        "power": moment.power_kw,
        "current": moment.current_a,
        "duration": moment.elapsed_s,
    }
    for name, value in measured.items():
        low, high = restrictions.get(f"min_{name}"), restrictions.get(f"max_{name}")
        if low is None and high is None:
            continue
        if value is None:
            return False  # cannot show the condition holds, so the element does not apply
        if low is not None and value < float(low):
            return False
        if high is not None and value >= float(high):
            return False
    return True
