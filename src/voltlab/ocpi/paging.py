"""OCPI pagination: offset/limit/date_from/date_to in, X-Total-Count/X-Limit/Link out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from voltlab.ocpi.envelope import invalid, parse_datetime

MAX_LIMIT = 100  # server cap, announced in X-Limit
DEFAULT_LIMIT = MAX_LIMIT


@dataclass(frozen=True)
class PageRequest:
    offset: int
    limit: int
    date_from: datetime | None
    date_to: datetime | None
    # Every query parameter except offset/limit, as sent, repeated in the next-page link.
    filters: tuple[tuple[str, str], ...]


def _int_param(params: QueryParams, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise invalid(f"{name} must be an integer, got {raw!r}") from exc
    if value < 0:
        raise invalid(f"{name} must not be negative")
    return value


def _date_param(params: QueryParams, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_datetime(raw)
    except ValueError as exc:
        raise invalid(f"{name} must be an RFC 3339 DateTime, got {raw!r}") from exc


def parse_page_request(params: QueryParams) -> PageRequest:
    return PageRequest(
        offset=_int_param(params, "offset", 0),
        limit=min(_int_param(params, "limit", DEFAULT_LIMIT), MAX_LIMIT),
        date_from=_date_param(params, "date_from"),
        date_to=_date_param(params, "date_to"),
        filters=tuple(
            (key, value) for key, value in params.multi_items() if key not in ("offset", "limit")
        ),
    )


def page_headers(page: PageRequest, *, total: int, returned: int, base_url: str) -> dict[str, str]:
    headers = {"X-Total-Count": str(total), "X-Limit": str(MAX_LIMIT)}
    next_offset = page.offset + returned
    if returned > 0 and next_offset < total:
        query = urlencode(
            [("offset", str(next_offset)), ("limit", str(page.limit))] + list(page.filters)
        )
        headers["Link"] = f'<{base_url}?{query}>; rel="next"'
    return headers
