"""Smart charging: the charging profiles a station has installed, the rules for installing and
clearing them, and the limit they impose together.

Version-neutral and free of I/O, like the station model; a profile itself is
`charging_profile.ChargingProfile`, whose 1.6 and 2.x JSON the codecs read and write
(`fleet/codecs/*_profiles.py`). `ChargingProfiles` answers three questions for a connector:
which power limit applies at an instant (`limit_w`), when that limit may next change
(`next_change`, so the runner arms one timer instead of polling) and what the merged schedule
over a window is (`composite_schedule`, for GetCompositeSchedule). Every function takes `now`
(POSIX seconds) from the caller."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, TypedDict

from voltlab.fleet.model.charging_profile import (
    ABSOLUTE,
    ACCEPTED,
    CHARGE_POINT_MAX,
    DAILY,
    PURPOSE_ALIASES,
    PURPOSES,
    RATE_UNITS,
    REASON_NO_TRANSACTION,
    REASON_STACK_CONFLICT,
    REASON_UNKNOWN_CONNECTOR,
    REASON_WRONG_CONNECTOR,
    RECURRING,
    REJECTED,
    RELATIVE,
    TX_DEFAULT,
    TX_PROFILE,
    WATT,
    WEEKLY,
    ChargingProfile,
    ProfileError,
    SchedulePeriod,
    active_period,
    schedule_edges,
)
from voltlab.ocpp.versions import OCPP16, OCPP201, is_ocpp2

AC_PHASE_VOLTAGE = 230.0
# 2.0.1 assumes three phases when a period names none; so does the model on a 3-phase connector.
DEFAULT_PHASES = 3
# A composite window over a long recurring schedule could hold very many boundaries; the answer
# stays bounded (2.0.1 caps a schedule at 1024 periods) rather than growing with the window.
MAX_COMPOSITE_PERIODS = 1024


class CompositePeriod(TypedDict):
    start_period: int  # seconds from the window's start
    limit: float | None  # None: nothing limits the connector then
    number_phases: int | None


class CompositeSchedule(TypedDict):
    """GetCompositeSchedule's merged limits over [start, start + duration) in `unit`."""

    connector_id: int
    start: float
    duration: int
    unit: str
    periods: list[CompositePeriod]


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
        id: int | None = None,  # the OCPP field name, so codecs can pass criteria through
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
        purpose = PURPOSE_ALIASES.get(purpose, purpose) if purpose is not None else None
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

    def any_installed(self) -> bool:
        return bool(self._installed)

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

    def governing(
        self, connector_id: int, now: float, *, tx_started_at: float | None
    ) -> tuple[ActivePeriod | None, ActivePeriod | None]:
        """The periods in force at `now` on a connector: the station-wide maximum's, and the
        connector's own (its TxProfile, else a TxDefaultProfile). What a 2.1 period asks of the
        EV beyond a limit (operation mode, setpoint, discharge limit) is read from them
        (fleet/model/v2x.py)."""
        if not self._installed:
            return None, None
        relative_start = now if tx_started_at is None else tx_started_at
        relevant = self._relevant(connector_id)
        station = _winner(
            [item for item in relevant if item.profile.purpose == CHARGE_POINT_MAX],
            connector_id,
            now,
            relative_start,
        )
        if connector_id == 0:
            return station, None
        own = _winner(
            [item for item in relevant if item.profile.purpose == TX_PROFILE],
            connector_id,
            now,
            relative_start,
        )
        if own is None:
            own = _winner(
                [item for item in relevant if item.profile.purpose == TX_DEFAULT],
                connector_id,
                now,
                relative_start,
            )
        return station, own

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
    ) -> CompositeSchedule:
        """GetCompositeSchedule: the limits over [now, now + duration) merged from every
        applicable profile, in `unit` (W when None). `max_w`, the connector's physical limit,
        caps every period and covers instants no profile governs; without it such periods carry
        limit None, which the codecs answer with Rejected. Relative schedules start at the
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
        if station is not None and station.period.limit is not None:
            candidates.append(_to_watts(station, phases, voltage))
        if connector_id != 0:
            # A TxProfile overrides the TxDefaultProfile entirely, even at a higher limit.
            own = _winner(by_purpose[TX_PROFILE], connector_id, now, relative_start)
            if own is None:
                own = _winner(by_purpose[TX_DEFAULT], connector_id, now, relative_start)
            # A 2.1 period without a limit (CentralSetpoint, ...) caps nothing.
            if own is not None and own.period.limit is not None:
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
            for edge in schedule_edges(item.profile, now, relative_start)
            if edge > now
        ]
        return min(upcoming, default=None)


# -- schedule arithmetic ----------------------------------------------------------------------


class ActivePeriod(NamedTuple):
    profile: ChargingProfile
    period: SchedulePeriod


def _winner(
    items: Sequence[InstalledProfile],
    connector_id: int,
    now: float,
    relative_start: float | None,
) -> ActivePeriod | None:
    """The highest stack level with an active period at `now`; lower levels show through when
    a higher one is outside its validity or schedule. On equal levels a connector's own
    profile beats the station-wide (connector 0) one."""
    best: tuple[int, int] | None = None
    chosen: ActivePeriod | None = None
    for item in items:
        period = active_period(item.profile, now, relative_start)
        if period is None:
            continue
        rank = (item.profile.stack_level, 1 if item.connector_id == connector_id else 0)
        if best is None or rank > best:
            best, chosen = rank, ActivePeriod(item.profile, period)
    return chosen


def _bears_on(item: InstalledProfile, connector_id: int) -> bool:
    if item.connector_id == 0:
        station_wide = item.profile.purpose == CHARGE_POINT_MAX
        return station_wide or (connector_id != 0 and item.profile.purpose == TX_DEFAULT)
    return connector_id != 0 and item.connector_id == connector_id


def _to_watts(active: ActivePeriod, phases: int, voltage: float) -> _Limit:
    period = active.period
    used = None if phases <= 0 else min(period.number_phases or phases, phases)
    return _Limit(in_watts(active, period.limit or 0.0, phases, voltage), used)


def in_watts(active: ActivePeriod, value: float, phases: int, voltage: float) -> float:
    """A value of the period's schedule (a limit, a setpoint) in W: a current times the DC
    voltage (phases 0), or times the phases the connector can use at `voltage` each."""
    if active.profile.charging_rate_unit == WATT:
        return value
    if phases <= 0:
        return value * voltage
    # A connector cannot use more phases than it has, whatever the period asks for.
    return value * min(active.period.number_phases or phases, phases) * voltage


def _in_unit(limit: _Limit, unit: str, voltage: float) -> float:
    per_ampere = voltage * (limit.phases or 1)  # DC (phases None): the DC voltage alone
    value = limit.watts if unit == WATT else limit.watts / per_ampere
    # OCPP limits take at most one decimal.
    return round(value, 1)


__all__ = [
    "ABSOLUTE",
    "ActivePeriod",
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
    "CompositePeriod",
    "CompositeSchedule",
    "InstalledProfile",
    "ProfileError",
    "SchedulePeriod",
]
