"""RFC 3339 timestamps as OCPP carries them, and the CSMS's notion of "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Now = Callable[[], float]  # POSIX seconds; the fleet clock's now() fits when time is scaled


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def format_timestamp(moment: datetime) -> str:
    """UTC with millisecond precision and a ``Z``: what every OCPP peer parses."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str | None, fallback: datetime) -> datetime:
    """Parse an OCPP timestamp; ``fallback`` when absent or unreadable.

    The schema check already enforced the date-time format, but a timestamp Python cannot
    read must still not fail the station's request: the receipt time stands in for it.
    """
    if not text:
        return fallback
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return fallback
    if parsed.tzinfo is None:  # OCPP requires UTC; a naive time is read as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
