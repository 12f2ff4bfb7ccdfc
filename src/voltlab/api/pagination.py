"""Keyset pagination with opaque cursors.

A cursor encodes the sort key of the last row of a page (timestamp + a unique tie-breaker), so
pages stay stable while rows are inserted, and a page costs an index range scan, not an OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from voltlab.api.context import invalid
from voltlab.store.times import as_utc

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
PageCursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page")
]


@dataclass(frozen=True)
class CursorKey:
    created_at: datetime
    tiebreak: str


def encode_cursor(created_at: datetime, tiebreak: str) -> str:
    raw = json.dumps([as_utc(created_at).isoformat(), tiebreak], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> CursorKey | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, tiebreak = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(tiebreak, str):
            raise ValueError("tie-breaker is not a string")
        return CursorKey(as_utc(datetime.fromisoformat(moment)), tiebreak)
    except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
        raise invalid(("query", "cursor"), "invalid cursor", cursor) from exc


def page_body(items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}
