"""The report's time series (the dashboard's charts): sessions started, and energy and revenue
of the CDRs issued, per time bucket. The bucket is the smallest of a few round sizes that
covers the CPO's activity in at most `MAX_BUCKETS` buckets, so a CPO an hour old shows minutes
and one a week old shows hours."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BUCKET_SIZES = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)  # seconds
MAX_BUCKETS = 60


@dataclass
class _Bucket:
    sessions: int = 0
    energy_kwh: float = 0.0
    excl_vat: float = 0.0
    incl_vat: float = 0.0


def _moment(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return aware.timestamp()


def _amount(cost: Any, key: str) -> float:
    if isinstance(cost, dict):
        value: Any = cost.get(key, cost.get("excl_vat", 0) if key == "incl_vat" else 0)
        try:
            return float(value)
        except (TypeError, ValueError):
            return 0.0
    try:  # OCPI 2.1.1: total_cost is a plain number (excl. VAT)
        return float(cost)
    except (TypeError, ValueError):
        return 0.0


def report_series(
    sessions: list[dict[str, Any]], cdrs: list[dict[str, Any]], currency: str | None
) -> dict[str, Any]:
    starts = [t for t in (_moment(s.get("start_date_time")) for s in sessions) if t is not None]
    issued = [
        (t, c)
        for t, c in ((_moment(c.get("end_date_time") or c.get("last_updated")), c) for c in cdrs)
        if t is not None
    ]
    moments = starts + [t for t, _ in issued]
    if not moments:
        return {"bucket_seconds": BUCKET_SIZES[0], "currency": currency, "points": []}
    first, last = min(moments), max(moments)
    size = next((b for b in BUCKET_SIZES if (last - first) / b < MAX_BUCKETS), BUCKET_SIZES[-1])
    origin = int(first // size) * size
    count = int((last - origin) // size) + 1
    buckets = [_Bucket() for _ in range(count)]
    for moment in starts:
        buckets[int((moment - origin) // size)].sessions += 1
    for moment, cdr in issued:
        bucket = buckets[int((moment - origin) // size)]
        with contextlib.suppress(TypeError, ValueError):
            bucket.energy_kwh += float(cdr.get("total_energy", 0))
        bucket.excl_vat += _amount(cdr.get("total_cost"), "excl_vat")
        bucket.incl_vat += _amount(cdr.get("total_cost"), "incl_vat")
    points = [
        {
            "start": datetime.fromtimestamp(origin + i * size, UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "sessions": bucket.sessions,
            "energy_kwh": round(bucket.energy_kwh, 3),
            "revenue_excl_vat": round(bucket.excl_vat, 2),
            "revenue_incl_vat": round(bucket.incl_vat, 2),
        }
        for i, bucket in enumerate(buckets)
    ]
    return {"bucket_seconds": size, "currency": currency, "points": points}
