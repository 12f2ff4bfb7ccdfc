"""What the replay changes in the station's frames so the dialogue stays consistent with the CSMS
it now talks to (docs/replay.md, "Rewriting"). Sans-I/O.

- Message ids: new ones for every CALL (the RPC connection numbers them); answers carry the
  id of the CSMS's CALL they answer.
- Times: every RFC 3339 date-time in a frame the station sends moves by one shift, the
  replay's start minus the capture's, so the offsets between them stay as captured (at a
  speed above 1 they run ahead of the wall clock, as a fast simulated clock does).
- Ids the CSMS assigns (`id_fields`): bound captured -> live the first time the CSMS shows
  its live value (1.6 StartTransaction.conf's transactionId; a 2.x RequestStartTransaction's
  remoteStartId, a GetLog's requestId, ...), and written live into every later frame of the
  station. A 2.x transactionId is the station's own and is sent as captured."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from voltlab.ocpp.versions import OCPP16

DATE_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?$"
)
ID_FIELDS_16: frozenset[str] = frozenset({"transactionId", "reservationId", "chargingProfileId"})
ID_FIELDS_2X: frozenset[str] = frozenset(
    {"remoteStartId", "requestId", "reservationId", "chargingProfileId"}
)


def id_fields(version: str) -> frozenset[str]:
    """The fields whose values the CSMS assigns, in `version`."""
    return ID_FIELDS_16 if version == OCPP16 else ID_FIELDS_2X


def is_date_time(value: Any) -> bool:
    return isinstance(value, str) and DATE_TIME.match(value) is not None


def parse_date_time(text: str) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime (naive: UTC); None when it is not one."""
    match = DATE_TIME.match(text)
    if match is None:
        return None
    fraction = (match["fraction"] or "")[:6]
    zone = match["zone"] or ""
    iso = f"{match['date']}T{match['time']}" + (f".{fraction:0<6}" if fraction else "")
    try:
        moment = datetime.fromisoformat(iso + ("+00:00" if zone in ("", "Z") else zone))
    except ValueError:
        return None
    return moment


def shift_date_time(text: str, seconds: float) -> str:
    """`text` moved by `seconds`, written as it was: its fraction's digits, its zone (Z, an
    offset, or none)."""
    match = DATE_TIME.match(text)
    moment = parse_date_time(text)
    if match is None or moment is None:
        return text
    moved = moment + timedelta(seconds=seconds)
    zone = match["zone"]
    if zone is not None and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        moved = moved.astimezone(timezone(sign * timedelta(hours=hours, minutes=minutes)))
    else:
        moved = moved.astimezone(UTC)
    digits = len(match["fraction"] or "")
    written = moved.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        written += "." + f"{moved.microsecond:06d}"[:digits].ljust(digits, "0")
    return written + (zone or "")


def first_date_time(value: Any) -> datetime | None:
    """The earliest date-time anywhere in `value` (a payload), None without one."""
    found: list[datetime] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)
        elif isinstance(item, str):
            moment = parse_date_time(item) if DATE_TIME.match(item) else None
            if moment is not None:
                found.append(moment)

    walk(value)
    return min(found) if found else None


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class IdBindings:
    """Captured -> live values of the ids the CSMS assigns, one table per field name."""

    def __init__(self, fields: frozenset[str]) -> None:
        self.fields = fields
        self._live: dict[str, dict[str, Any]] = {field: {} for field in fields}
        self._captured: dict[str, dict[str, Any]] = {field: {} for field in fields}

    def live(self, field: str, captured: Any) -> tuple[bool, Any]:
        """(True, the live value) when `captured` is bound, else (False, captured)."""
        table = self._live.get(field)
        key = _key(captured)
        if table is None or key not in table:
            return False, captured
        return True, table[key]

    def check(self, field: str, captured: Any, live: Any) -> str | None:
        """The CSMS shows `live` where the capture has `captured`: bind them the first time;
        afterwards the live value must be the bound one, and no live value may stand for two
        captured ones. Returns what is wrong, or None."""
        if type(captured) is not type(live):
            return f"{field}: the capture has {captured!r}, the CSMS sent {live!r} (another type)"
        bound, expected = self.live(field, captured)
        if bound:
            if _key(expected) != _key(live):
                return (
                    f"{field}: the CSMS gave {expected!r} for the capture's {captured!r} "
                    f"before, now {live!r}"
                )
            return None
        other = self._captured[field].get(_key(live))
        if other is not None:
            return (
                f"{field}: the CSMS gave {live!r} again, for the capture's {captured!r}; "
                f"it stands for the capture's {other!r} already"
            )
        self._live[field][_key(captured)] = live
        self._captured[field][_key(live)] = captured
        return None

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        return {
            field: [
                {"captured": json.loads(key), "live": live}
                for key, live in sorted(self._live[field].items())
            ]
            for field in sorted(self.fields)
            if self._live[field]
        }


def rewrite_station_payload(payload: Any, bindings: IdBindings, shift: float) -> Any:
    """A copy of a payload the station sends, its bound ids live and its date-times shifted."""
    if isinstance(payload, dict):
        rewritten: dict[str, Any] = {}
        for key, value in payload.items():
            if key in bindings.fields and type(value) in (int, str):
                rewritten[key] = bindings.live(key, value)[1]
            else:
                rewritten[key] = rewrite_station_payload(value, bindings, shift)
        return rewritten
    if isinstance(payload, list):
        return [rewrite_station_payload(item, bindings, shift) for item in payload]
    if shift and isinstance(payload, str) and DATE_TIME.match(payload):
        return shift_date_time(payload, shift)
    return payload
