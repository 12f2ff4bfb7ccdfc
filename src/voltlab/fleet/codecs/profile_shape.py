"""Charging-profile JSON shapes the 1.6 and 2.x codecs share: a profile's common fields, its
schedule and periods, and the periods of a composite schedule. Each version's module
(`ocpp16_profiles`, `ocpp201_profiles`) adds its own words: the profile's id, its purpose's
name, the transaction id's type, a 2.x schedule's id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from voltlab.fleet.machine.control_messages import CompositeScheduleAnswer, GetCompositeSchedule
from voltlab.fleet.model.charging_profile import (
    KINDS,
    RATE_UNITS,
    REASON_INVALID_PROFILE,
    ChargingProfile,
    ProfileError,
    SchedulePeriod,
)
from voltlab.fleet.model.smart_charging import CompositeSchedule
from voltlab.ocpp.vocabulary.timestamps import format_timestamp, parse_timestamp

Payload = dict[str, Any]


def read_guarded(
    body: Payload, version: str, read: Callable[[Payload], ChargingProfile]
) -> ChargingProfile:
    """`read(body)`, with a body that is not a profile of that shape said as a ProfileError."""
    try:
        return read(body)
    except ProfileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ProfileError(
            REASON_INVALID_PROFILE, f"malformed {version} charging profile: {exc}"
        ) from exc


def known(value: Any, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ProfileError(REASON_INVALID_PROFILE, f"unknown charging profile {what} {value!r}")
    return str(value)


PeriodReader = Callable[[Payload], SchedulePeriod]
PeriodWriter = Callable[[SchedulePeriod], Payload]


def profile_fields(
    body: Payload, schedule: Payload, read_period: PeriodReader | None = None
) -> dict[str, Any]:
    """The `ChargingProfile` fields both versions spell alike, schedule included; a version
    whose periods say more (2.1) reads them with its own `read_period`."""
    return {
        "stack_level": int(body["stackLevel"]),
        "kind": known(body["chargingProfileKind"], KINDS, "kind"),
        "recurrency": body.get("recurrencyKind"),
        "valid_from": _optional_time(body.get("validFrom")),
        "valid_to": _optional_time(body.get("validTo")),
        **_schedule_fields(schedule, read_period or read_period_json),
    }


def profile_head(profile: ChargingProfile, purpose: str) -> Payload:
    """stackLevel, purpose (in the version's word), kind, recurrence and validity."""
    body: Payload = {
        "stackLevel": profile.stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": profile.kind,
    }
    if profile.recurrency is not None:
        body["recurrencyKind"] = profile.recurrency
    if profile.valid_from is not None:
        body["validFrom"] = format_timestamp(profile.valid_from)
    if profile.valid_to is not None:
        body["validTo"] = format_timestamp(profile.valid_to)
    return body


def schedule_json(profile: ChargingProfile, write_period: PeriodWriter | None = None) -> Payload:
    write = write_period or period_json
    schedule: Payload = {}
    if profile.start_schedule is not None:
        schedule["startSchedule"] = format_timestamp(profile.start_schedule)
    if profile.duration is not None:
        schedule["duration"] = profile.duration
    schedule["chargingRateUnit"] = profile.charging_rate_unit
    schedule["chargingSchedulePeriod"] = [write(period) for period in profile.periods]
    if profile.min_charging_rate is not None:
        schedule["minChargingRate"] = profile.min_charging_rate
    return schedule


def period_json(period: SchedulePeriod) -> Payload:
    """A 1.6 / 2.0.1 period (its limit is always there: those versions require it)."""
    body: Payload = {"startPeriod": period.start_period, "limit": period.limit}
    if period.number_phases is not None:
        body["numberPhases"] = period.number_phases
    return body


def read_period_json(period: Payload) -> SchedulePeriod:
    """A 1.6 / 2.0.1 period: its start, limit and phases."""
    phases = period.get("numberPhases")
    return SchedulePeriod(
        int(period["startPeriod"]), float(period["limit"]), None if phases is None else int(phases)
    )


@dataclass(frozen=True)
class CompositeWords:
    """GetCompositeSchedule in a version's words: what names the connector in the request,
    and what an accepted answer says around the schedule's periods."""

    connector: str
    say_accepted: Callable[[CompositeSchedule, list[Payload]], Payload]

    def decode_request(self, payload: Payload) -> GetCompositeSchedule:
        unit = payload.get("chargingRateUnit")
        return GetCompositeSchedule(payload[self.connector], payload["duration"], unit)

    def encode_answer(self, answer: CompositeScheduleAnswer) -> Payload:
        return self.encode(answer.schedule)

    def encode(self, composite: CompositeSchedule | None) -> Payload:
        periods = composite_periods(composite)
        if composite is None or periods is None:
            return {"status": "Rejected"}
        return {"status": "Accepted", **self.say_accepted(composite, periods)}


def composite_schedule_json(composite: CompositeSchedule, periods: list[Payload]) -> Payload:
    """What both versions' composite schedules say alike: its length, unit and periods."""
    return {
        "duration": composite["duration"],
        "chargingRateUnit": composite["unit"],
        "chargingSchedulePeriod": periods,
    }


def composite_periods(composite: CompositeSchedule | None) -> list[Payload] | None:
    """A composite schedule's periods, or None where OCPP cannot say it: no schedule (an
    unknown connector) or an instant nothing limits; the answer is then Rejected."""
    said: list[Payload] = []
    for period in [] if composite is None else composite["periods"]:
        limit = period["limit"]
        if limit is None:
            return None
        said.append(
            period_json(SchedulePeriod(period["start_period"], limit, period["number_phases"]))
        )
    return said or None


def _schedule_fields(schedule: Payload, read_period: PeriodReader) -> dict[str, Any]:
    unit = known(schedule["chargingRateUnit"], RATE_UNITS, "chargingRateUnit")
    periods = tuple(read_period(period) for period in schedule["chargingSchedulePeriod"])
    duration = schedule.get("duration")
    min_rate = schedule.get("minChargingRate")
    return {
        "charging_rate_unit": unit,
        "periods": periods,
        "start_schedule": _optional_time(schedule.get("startSchedule")),
        "duration": None if duration is None else int(duration),
        "min_charging_rate": None if min_rate is None else float(min_rate),
    }


def _optional_time(text: str | None) -> float | None:
    return None if text is None else parse_timestamp(text)
