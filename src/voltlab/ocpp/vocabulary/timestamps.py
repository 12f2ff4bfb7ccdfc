"""RFC 3339 timestamps as OCPP carries them: UTC, millisecond precision, a ``Z``.

Two entry points over one format: POSIX seconds (the station model's clock) and aware
datetimes (the CSMS's records). Parsing reads any RFC 3339 offset and fraction; a time
without an offset is read as UTC, which is what OCPP requires it to be."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

_SECONDS_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"
_DAY: Final = 86_400

# A fleet stamps many frames within one day, and at a fast test clock each in a second of its
# own: the formatted day is kept, the time of day is arithmetic (UTC has no leap seconds in
# POSIX time), instead of a datetime and strftime per frame.
_last_day: tuple[int, str] = (-(2**62), "")


def _stamp(seconds_text: str, micros: int) -> str:
    return f"{seconds_text}.{micros // 1000:03d}Z"


def split_micros(epoch: float) -> tuple[int, int]:
    """POSIX seconds as (whole second, microseconds), the microseconds rounded half to even as
    `datetime.fromtimestamp` rounds them (a rounding up to the next second carries over)."""
    fraction, second = math.modf(epoch)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    elif micros < 0:
        second, micros = second - 1, micros + 1_000_000
    return int(second), micros


def format_timestamp(epoch: float) -> str:
    """POSIX seconds as 2026-01-01T12:00:00.123Z (rounded to the microsecond as datetime
    rounds, then truncated to the millisecond)."""
    global _last_day
    second, micros = split_micros(epoch)
    day, in_day = divmod(second, _DAY)
    cached_day, day_text = _last_day
    if day != cached_day:
        day_text = datetime.fromtimestamp(day * _DAY, UTC).strftime("%Y-%m-%dT")
        _last_day = (day, day_text)
    hours, rest = divmod(in_day, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{day_text}{hours:02d}:{minutes:02d}:{seconds:02d}.{micros // 1000:03d}Z"


def format_datetime(moment: datetime) -> str:
    """An aware datetime in the same format as `format_timestamp`."""
    moment = moment.astimezone(UTC)
    return _stamp(moment.strftime(_SECONDS_FORMAT), moment.microsecond)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def parse_datetime(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime; ValueError when it is not one."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:  # OCPP requires UTC; a naive time is read as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_timestamp(text: str) -> float:
    """An RFC 3339 timestamp as POSIX seconds; ValueError when it is not one."""
    return parse_datetime(text).timestamp()


def parse_datetime_or(text: str | None, fallback: datetime) -> datetime:
    """`parse_datetime`, or ``fallback`` when the text is absent or unreadable.

    The schema check already enforced the date-time format, but a timestamp Python cannot
    read must still not fail the station's request: the receipt time stands in for it."""
    if not text:
        return fallback
    try:
        return parse_datetime(text)
    except ValueError:
        return fallback
