"""Smart charging: charging profiles, the rules for installing and clearing them, and the limit
they impose together.

Version-neutral and free of I/O, like the station model. OCPP 1.6 `csChargingProfiles` and OCPP
2.0.1 `chargingProfile` JSON both convert to one `ChargingProfile`. `ChargingProfiles` holds what a
station has installed and answers three questions for a connector: which power limit applies at
an instant (`limit_w`), when that limit may next change (`next_change`, so the runner arms one
timer instead of polling) and what the merged schedule over a window is (`composite_schedule`,
for GetCompositeSchedule). Every function takes `now` (POSIX seconds) from the caller.

The model speaks the OCPP 1.6 vocabulary (`ChargePointMaxProfile`, connector ids); the 2.0.1
converters translate `ChargingStationMaxProfile` and EVSE ids at the edge."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from voltlab.ocpp.versions import OCPP16, OCPP201, is_ocpp2
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

CHARGE_POINT_MAX = "ChargePointMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX_PROFILE = "TxProfile"
PURPOSES = (CHARGE_POINT_MAX, TX_DEFAULT, TX_PROFILE)
# 2.0.1 renamed the station-wide purpose; the model keeps the 1.6 name and translates at the edge.
STATION_MAX_201 = "ChargingStationMaxProfile"
EXTERNAL_CONSTRAINTS_201 = "ChargingStationExternalConstraints"
_PURPOSE_ALIASES = {STATION_MAX_201: CHARGE_POINT_MAX}

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

AC_PHASE_VOLTAGE = 230.0
# 2.0.1 assumes three phases when a period names none; so does the model on a 3-phase connector.
DEFAULT_PHASES = 3
# A composite window over a long recurring schedule could hold very many boundaries; the answer
# stays bounded (2.0.1 caps a schedule at 1024 periods) rather than growing with the window.
MAX_COMPOSITE_PERIODS = 1024

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
    limit: float  # in the schedule's charging rate unit
    number_phases: int | None = None


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
        object.__setattr__(self, "purpose", _PURPOSE_ALIASES.get(self.purpose, self.purpose))

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
            if period.limit < 0 or period.number_phases not in (None, 1, 2, 3):
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

    # -- OCPP 1.6 -----------------------------------------------------------------------------

    @classmethod
    def from_ocpp16(cls, body: dict[str, Any]) -> ChargingProfile:
        """A 1.6 `csChargingProfiles` object (SetChargingProfile.req, RemoteStartTransaction)."""
        try:
            schedule = body["chargingSchedule"]
            return cls(
                id=int(body["chargingProfileId"]),
                stack_level=int(body["stackLevel"]),
                purpose=_known(body["chargingProfilePurpose"], PURPOSES, "purpose"),
                kind=_known(body["chargingProfileKind"], KINDS, "kind"),
                recurrency=body.get("recurrencyKind"),
                valid_from=_optional_time(body.get("validFrom")),
                valid_to=_optional_time(body.get("validTo")),
                transaction_id=body.get("transactionId"),
                **_schedule_fields(schedule),
            )
        except ProfileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(
                REASON_INVALID_PROFILE, f"malformed 1.6 charging profile: {exc}"
            ) from exc

    def to_ocpp16(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chargingProfileId": self.id,
            "stackLevel": self.stack_level,
            "chargingProfilePurpose": self.purpose,
            "chargingProfileKind": self.kind,
        }
        transaction_id = _integer_or_none(self.transaction_id)
        if transaction_id is not None:
            body["transactionId"] = transaction_id
        body.update(self._profile_extras())
        body["chargingSchedule"] = self._schedule_json()
        return body

    # -- OCPP 2.0.1 ---------------------------------------------------------------------------

    @classmethod
    def from_ocpp201(cls, body: dict[str, Any]) -> ChargingProfile:
        """A 2.0.1 `chargingProfile` object. Only the first of its (up to three) schedules is
        used: the others are ISO 15118 alternatives offered to the EV, not extra limits."""
        purpose = body.get("chargingProfilePurpose")
        if purpose == EXTERNAL_CONSTRAINTS_201:
            raise ProfileError(
                REASON_UNSUPPORTED, "ChargingStationExternalConstraints is not simulated"
            )
        try:
            schedules = body["chargingSchedule"]
            if not schedules:
                raise ProfileError(REASON_INVALID_SCHEDULE, "chargingSchedule is empty")
            schedule = schedules[0]
            transaction_id = body.get("transactionId")
            return cls(
                id=int(body["id"]),
                stack_level=int(body["stackLevel"]),
                purpose=_known(purpose, (STATION_MAX_201, TX_DEFAULT, TX_PROFILE), "purpose"),
                kind=_known(body["chargingProfileKind"], KINDS, "kind"),
                recurrency=body.get("recurrencyKind"),
                valid_from=_optional_time(body.get("validFrom")),
                valid_to=_optional_time(body.get("validTo")),
                transaction_id=None if transaction_id is None else str(transaction_id),
                schedule_id=None if schedule.get("id") is None else int(schedule["id"]),
                **_schedule_fields(schedule),
            )
        except ProfileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ProfileError(
                REASON_INVALID_PROFILE, f"malformed 2.0.1 charging profile: {exc}"
            ) from exc

    def to_ocpp201(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "stackLevel": self.stack_level,
            "chargingProfilePurpose": (
                STATION_MAX_201 if self.purpose == CHARGE_POINT_MAX else self.purpose
            ),
            "chargingProfileKind": self.kind,
        }
        body.update(self._profile_extras())
        if self.transaction_id is not None:
            body["transactionId"] = str(self.transaction_id)
        schedule = {"id": self.id if self.schedule_id is None else self.schedule_id}
        schedule.update(self._schedule_json())
        body["chargingSchedule"] = [schedule]
        return body

    # -- persistence --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["periods"] = [list(period) for period in self.periods]
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ChargingProfile:
        fields = dict(body)
        fields["periods"] = tuple(SchedulePeriod(*period) for period in body["periods"])
        return cls(**fields)

    # -- helpers ------------------------------------------------------------------------------

    def _profile_extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        if self.recurrency is not None:
            extras["recurrencyKind"] = self.recurrency
        if self.valid_from is not None:
            extras["validFrom"] = format_timestamp(self.valid_from)
        if self.valid_to is not None:
            extras["validTo"] = format_timestamp(self.valid_to)
        return extras

    def _schedule_json(self) -> dict[str, Any]:
        schedule: dict[str, Any] = {}
        if self.start_schedule is not None:
            schedule["startSchedule"] = format_timestamp(self.start_schedule)
        if self.duration is not None:
            schedule["duration"] = self.duration
        schedule["chargingRateUnit"] = self.charging_rate_unit
        schedule["chargingSchedulePeriod"] = [_period_json(period) for period in self.periods]
        if self.min_charging_rate is not None:
            schedule["minChargingRate"] = self.min_charging_rate
        return schedule


class InstalledProfile(NamedTuple):
    connector_id: int  # 0: the whole station (1.6 connector 0, 2.0.1 EVSE 0)
    profile: ChargingProfile


class _Limit(NamedTuple):
    watts: float
    phases: int | None  # phases the limit was computed for; None on DC


class ChargingProfiles:
    """The charging profiles installed on one station."""

    def __init__(self, connector_count: int | None = None) -> None:
        # None: the caller checks connector ids itself.
        self.connector_count = connector_count
        self._installed: dict[int, InstalledProfile] = {}

    # -- SetChargingProfile -------------------------------------------------------------------

    def check_install(
        self,
        connector_id: int,
        profile: ChargingProfile,
        *,
        transaction_id: str | int | None = None,
        in_transaction: bool | None = None,
        ocpp_version: str = OCPP16,
    ) -> str | None:
        """Why `install` would reject the profile (a reason code), or None if it would accept."""
        if in_transaction is None:
            in_transaction = transaction_id is not None
        if connector_id < 0 or (
            self.connector_count is not None and connector_id > self.connector_count
        ):
            return REASON_UNKNOWN_CONNECTOR
        problems = profile.problems(ocpp_version=ocpp_version)
        if problems:
            return problems[0]
        if profile.purpose == CHARGE_POINT_MAX and connector_id != 0:
            return REASON_WRONG_CONNECTOR
        if profile.purpose == TX_PROFILE:
            if connector_id == 0:
                return REASON_WRONG_CONNECTOR
            if not in_transaction:
                return REASON_NO_TRANSACTION
            if (
                profile.transaction_id is not None
                and transaction_id is not None
                and str(profile.transaction_id) != str(transaction_id)
            ):
                return REASON_NO_TRANSACTION
            # K01.FR.39: 2.x refuses a second TxProfile on one stack level instead of replacing.
            if is_ocpp2(ocpp_version) and any(
                other.profile.id != profile.id for other in self._same_slot(connector_id, profile)
            ):
                return REASON_STACK_CONFLICT
        return None

    def install(
        self,
        connector_id: int,
        profile: ChargingProfile,
        now: float,
        *,
        transaction_id: str | int | None = None,
        in_transaction: bool | None = None,
        ocpp_version: str = OCPP16,
    ) -> str:
        """SetChargingProfile: "Accepted" or "Rejected". `transaction_id` / `in_transaction`
        describe the connector's running transaction (in_transaction defaults to whether an id
        was given: a 1.6 transaction has none until StartTransaction.conf)."""
        reason = self.check_install(
            connector_id,
            profile,
            transaction_id=transaction_id,
            in_transaction=in_transaction,
            ocpp_version=ocpp_version,
        )
        if reason is not None:
            return REJECTED
        if profile.kind == ABSOLUTE and profile.start_schedule is None:
            # 1.6 CSMSs often send Absolute profiles without a start; the schedule then starts
            # when it is received, or at validFrom if that lies ahead.
            anchor = max(now, profile.valid_from if profile.valid_from is not None else now)
            profile = dataclasses.replace(profile, start_schedule=anchor)
        if profile.purpose == TX_PROFILE and profile.transaction_id is None:
            profile = dataclasses.replace(profile, transaction_id=transaction_id)
        # One profile per id, and per (purpose, stack level, connector): the newcomer replaces.
        self._installed.pop(profile.id, None)
        for other in self._same_slot(connector_id, profile):
            del self._installed[other.profile.id]
        self._installed[profile.id] = InstalledProfile(connector_id, profile)
        return ACCEPTED

    # -- ClearChargingProfile, transaction end ------------------------------------------------

    def clear(
        self,
        id: int | None = None,  # the OCPP field name, so adapters can pass criteria through
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool:
        """ClearChargingProfile: True (Accepted) if something was removed, else False (Unknown).
        An id names one profile and the other criteria are ignored; without one the criteria
        that are given must all match, and none given clears everything."""
        if id is not None:
            return self._installed.pop(id, None) is not None
        doomed = self.profiles(connector_id, purpose=purpose, stack_level=stack_level)
        for installed in doomed:
            del self._installed[installed.profile.id]
        return bool(doomed)

    def transaction_ended(self, connector_id: int) -> list[ChargingProfile]:
        """A TxProfile lives as long as its transaction; returns the profiles dropped."""
        ended = self.profiles(connector_id, purpose=TX_PROFILE)
        for installed in ended:
            del self._installed[installed.profile.id]
        return [installed.profile for installed in ended]

    # -- GetChargingProfiles / ReportChargingProfiles -----------------------------------------

    def profiles(
        self,
        connector_id: int | None = None,
        *,
        purpose: str | None = None,
        stack_level: int | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[InstalledProfile]:
        """Installed profiles matching every criterion given (connector 0 means the
        station-wide ones only), ordered by connector, purpose, stack level, id."""
        purpose = _PURPOSE_ALIASES.get(purpose, purpose) if purpose is not None else None
        wanted_ids = None if ids is None else set(ids)
        found = [
            installed
            for installed in self._installed.values()
            if (connector_id is None or installed.connector_id == connector_id)
            and (purpose is None or installed.profile.purpose == purpose)
            and (stack_level is None or installed.profile.stack_level == stack_level)
            and (wanted_ids is None or installed.profile.id in wanted_ids)
        ]
        return sorted(
            found,
            key=lambda item: (
                item.connector_id,
                PURPOSES.index(item.profile.purpose),
                item.profile.stack_level,
                item.profile.id,
            ),
        )

    def find(self, profile_id: int) -> InstalledProfile | None:
        return self._installed.get(profile_id)

    # -- the composite limit ------------------------------------------------------------------

    def limit_w(
        self,
        connector_id: int,
        now: float,
        *,
        tx_started_at: float | None,
        phases: int = DEFAULT_PHASES,
        voltage: float = AC_PHASE_VOLTAGE,
    ) -> float | None:
        """The power limit in W on the connector at `now` (connector 0: the station-wide limit),
        None when no profile applies. `phases` is the connector's AC phase count, 0 for DC (A
        then converts with `voltage` alone). Without a transaction a Relative schedule is
        evaluated as if one started now."""
        if not self._installed:
            return None  # the common case, asked on every power recomputation
        relative_start = now if tx_started_at is None else tx_started_at
        limit = self._limit_at(connector_id, now, relative_start, phases, voltage)
        return None if limit is None else limit.watts

    def next_change(
        self, connector_id: int, now: float, *, tx_started_at: float | None
    ) -> float | None:
        """The next instant after `now` at which the connector's limit may change: a period
        boundary, the end of a schedule's duration, a recurrence or a validity edge. None: no
        change ahead. Without a transaction, Relative schedules contribute nothing: as
        `limit_w` evaluates them then, they are frozen at their first period."""
        return self._next_boundary(connector_id, now, tx_started_at)

    def composite_schedule(
        self,
        connector_id: int,
        now: float,
        duration: int,
        unit: str | None = None,
        *,
        tx_started_at: float | None,
        phases: int = DEFAULT_PHASES,
        voltage: float = AC_PHASE_VOLTAGE,
        max_w: float | None = None,
    ) -> dict[str, Any]:
        """GetCompositeSchedule: the limits over [now, now + duration) merged from every
        applicable profile, in `unit` (W when None). `max_w`, the connector's physical limit,
        caps every period and covers instants no profile governs; without it such periods carry
        limit None, which the renderers answer with Rejected. Relative schedules start at the
        transaction start, or at `now` when there is no transaction."""
        unit = WATT if unit is None else unit
        if unit not in RATE_UNITS:
            raise ValueError(f"charging rate unit must be A or W, not {unit!r}")
        relative_start = now if tx_started_at is None else tx_started_at
        end = now + duration
        samples: list[tuple[int, float | None, int | None]] = []
        instant = now
        while len(samples) < MAX_COMPOSITE_PERIODS:
            limit = self._limit_at(connector_id, instant, relative_start, phases, voltage)
            if max_w is not None and (limit is None or max_w < limit.watts):
                limit = _Limit(max_w, phases if phases > 0 else None)
            offset = round(instant - now)
            value = None if limit is None else _in_unit(limit, unit, voltage)
            entry = (offset, value, None if limit is None else limit.phases)
            if samples and samples[-1][0] == offset:
                samples.pop()  # two boundaries within one second: the later one holds
            if not samples or samples[-1][1:] != entry[1:]:
                samples.append(entry)
            following = self._next_boundary(connector_id, instant, relative_start)
            if following is None or following >= end:
                break
            instant = following
        return {
            "connector_id": connector_id,
            "start": now,
            "duration": int(duration),
            "unit": unit,
            "periods": [
                {"start_period": offset, "limit": value, "number_phases": number_phases}
                for offset, value, number_phases in samples
            ],
        }

    # -- persistence --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "profiles": [
                {"connector_id": item.connector_id, "profile": item.profile.to_dict()}
                for item in self.profiles()
            ]
        }

    def restore(self, body: dict[str, Any]) -> None:
        self._installed = {}
        for item in body.get("profiles", []):
            profile = ChargingProfile.from_dict(item["profile"])
            self._installed[profile.id] = InstalledProfile(int(item["connector_id"]), profile)

    # -- internals ----------------------------------------------------------------------------

    def _same_slot(self, connector_id: int, profile: ChargingProfile) -> list[InstalledProfile]:
        return [
            other
            for other in self._installed.values()
            if other.connector_id == connector_id
            and other.profile.purpose == profile.purpose
            and other.profile.stack_level == profile.stack_level
        ]

    def _relevant(self, connector_id: int) -> list[InstalledProfile]:
        """Profiles that can bear on the connector's limit: the station-wide maximum, and on a
        real connector its own profiles plus the station's TxDefaultProfiles."""
        return [item for item in self._installed.values() if _bears_on(item, connector_id)]

    def _limit_at(
        self,
        connector_id: int,
        now: float,
        relative_start: float | None,
        phases: int,
        voltage: float,
    ) -> _Limit | None:
        by_purpose: dict[str, list[InstalledProfile]] = {purpose: [] for purpose in PURPOSES}
        for item in self._relevant(connector_id):
            by_purpose[item.profile.purpose].append(item)
        candidates: list[_Limit] = []
        station = _winner(by_purpose[CHARGE_POINT_MAX], connector_id, now, relative_start)
        if station is not None:
            candidates.append(_to_watts(station, phases, voltage))
        if connector_id != 0:
            # A TxProfile overrides the TxDefaultProfile entirely, even at a higher limit.
            own = _winner(by_purpose[TX_PROFILE], connector_id, now, relative_start)
            if own is None:
                own = _winner(by_purpose[TX_DEFAULT], connector_id, now, relative_start)
            if own is not None:
                candidates.append(_to_watts(own, phases, voltage))
        if not candidates:
            return None
        return min(candidates, key=lambda limit: limit.watts)

    def _next_boundary(
        self, connector_id: int, now: float, relative_start: float | None
    ) -> float | None:
        upcoming = [
            edge
            for item in self._relevant(connector_id)
            for edge in _edges(item.profile, now, relative_start)
            if edge > now
        ]
        return min(upcoming, default=None)


# -- schedule arithmetic ----------------------------------------------------------------------


class _ActivePeriod(NamedTuple):
    profile: ChargingProfile
    period: SchedulePeriod


def _schedule_start(
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


def _active_period(
    profile: ChargingProfile, now: float, relative_start: float | None
) -> SchedulePeriod | None:
    if not profile.valid_at(now):
        return None
    start = _schedule_start(profile, now, relative_start)
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


def _edges(profile: ChargingProfile, now: float, relative_start: float | None) -> list[float]:
    edges = [edge for edge in (profile.valid_from, profile.valid_to) if edge is not None]
    start = _schedule_start(profile, now, relative_start)
    if start is not None:
        edges.extend(start + period.start_period for period in profile.periods)
        if profile.duration is not None:
            edges.append(start + profile.duration)
        if profile.kind == RECURRING:
            edges.append(start + RECURRENCY_SECONDS.get(profile.recurrency or "", 86_400))
    return edges


def _winner(
    items: Sequence[InstalledProfile],
    connector_id: int,
    now: float,
    relative_start: float | None,
) -> _ActivePeriod | None:
    """The highest stack level with an active period at `now`; lower levels show through when
    a higher one is outside its validity or schedule. On equal levels a connector's own
    profile beats the station-wide (connector 0) one."""
    best: tuple[int, int] | None = None
    chosen: _ActivePeriod | None = None
    for item in items:
        period = _active_period(item.profile, now, relative_start)
        if period is None:
            continue
        rank = (item.profile.stack_level, 1 if item.connector_id == connector_id else 0)
        if best is None or rank > best:
            best, chosen = rank, _ActivePeriod(item.profile, period)
    return chosen


def _bears_on(item: InstalledProfile, connector_id: int) -> bool:
    if item.connector_id == 0:
        station_wide = item.profile.purpose == CHARGE_POINT_MAX
        return station_wide or (connector_id != 0 and item.profile.purpose == TX_DEFAULT)
    return connector_id != 0 and item.connector_id == connector_id


def _to_watts(active: _ActivePeriod, phases: int, voltage: float) -> _Limit:
    period = active.period
    if phases <= 0:  # DC: a current limit times the DC voltage
        used = None
        volts_per_ampere = voltage
    else:
        # A connector cannot use more phases than it has, whatever the period asks for.
        used = min(period.number_phases or phases, phases)
        volts_per_ampere = used * voltage
    if active.profile.charging_rate_unit == WATT:
        return _Limit(period.limit, used)
    return _Limit(period.limit * volts_per_ampere, used)


def _in_unit(limit: _Limit, unit: str, voltage: float) -> float:
    per_ampere = voltage * (limit.phases or 1)  # DC (phases None): the DC voltage alone
    value = limit.watts if unit == WATT else limit.watts / per_ampere
    # OCPP limits take at most one decimal.
    return round(value, 1)


def _ascending(periods: Sequence[SchedulePeriod]) -> bool:
    starts = [period.start_period for period in periods]
    return starts[0] >= 0 and all(a < b for a, b in zip(starts, starts[1:], strict=False))


# -- JSON helpers -----------------------------------------------------------------------------


def _known(value: Any, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ProfileError(REASON_INVALID_PROFILE, f"unknown charging profile {what} {value!r}")
    return str(value)


def _optional_time(text: str | None) -> float | None:
    return None if text is None else parse_timestamp(text)


def _integer_or_none(value: str | int | None) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None  # a 2.x string id has no 1.6 form


def _schedule_fields(schedule: dict[str, Any]) -> dict[str, Any]:
    unit = _known(schedule["chargingRateUnit"], RATE_UNITS, "chargingRateUnit")
    periods = tuple(
        SchedulePeriod(
            int(period["startPeriod"]),
            float(period["limit"]),
            None if period.get("numberPhases") is None else int(period["numberPhases"]),
        )
        for period in schedule["chargingSchedulePeriod"]
    )
    duration = schedule.get("duration")
    min_rate = schedule.get("minChargingRate")
    return {
        "charging_rate_unit": unit,
        "periods": periods,
        "start_schedule": _optional_time(schedule.get("startSchedule")),
        "duration": None if duration is None else int(duration),
        "min_charging_rate": None if min_rate is None else float(min_rate),
    }


def _period_json(period: SchedulePeriod) -> dict[str, Any]:
    body: dict[str, Any] = {"startPeriod": period.start_period, "limit": period.limit}
    if period.number_phases is not None:
        body["numberPhases"] = period.number_phases
    return body


def _composite_periods(composite: dict[str, Any]) -> list[dict[str, Any]] | None:
    periods = composite.get("periods") or []
    if not periods or any(period["limit"] is None for period in periods):
        return None  # an instant nothing limits cannot be said in OCPP
    return [
        _period_json(
            SchedulePeriod(period["start_period"], period["limit"], period["number_phases"])
        )
        for period in periods
    ]


def to_ocpp16_composite(composite: dict[str, Any] | None) -> dict[str, Any]:
    """A `composite_schedule` result as a 1.6 GetCompositeSchedule.conf payload."""
    periods = None if composite is None else _composite_periods(composite)
    if composite is None or periods is None:
        return {"status": REJECTED}
    start = format_timestamp(composite["start"])
    return {
        "status": ACCEPTED,
        "connectorId": composite["connector_id"],
        "scheduleStart": start,
        "chargingSchedule": {
            "duration": composite["duration"],
            "startSchedule": start,
            "chargingRateUnit": composite["unit"],
            "chargingSchedulePeriod": periods,
        },
    }


def to_ocpp201_composite(composite: dict[str, Any] | None) -> dict[str, Any]:
    """A `composite_schedule` result as a 2.0.1 GetCompositeScheduleResponse payload."""
    periods = None if composite is None else _composite_periods(composite)
    if composite is None or periods is None:
        return {"status": REJECTED}
    return {
        "status": ACCEPTED,
        "schedule": {
            "evseId": composite["connector_id"],
            "duration": composite["duration"],
            "scheduleStart": format_timestamp(composite["start"]),
            "chargingRateUnit": composite["unit"],
            "chargingSchedulePeriod": periods,
        },
    }


__all__ = [
    "ABSOLUTE",
    "ACCEPTED",
    "CHARGE_POINT_MAX",
    "DAILY",
    "OCPP16",
    "OCPP201",
    "RECURRING",
    "REJECTED",
    "RELATIVE",
    "TX_DEFAULT",
    "TX_PROFILE",
    "WEEKLY",
    "ChargingProfile",
    "ChargingProfiles",
    "InstalledProfile",
    "ProfileError",
    "SchedulePeriod",
    "to_ocpp16_composite",
    "to_ocpp201_composite",
]
