"""Authorization state of a station: the local authorization list and the authorization cache.

Both hold protocol-neutral `IdTagInfo` records; codecs translate to 1.6 idTagInfo or 2.x
idTokenInfo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voltlab.ocpp.vocabulary.timestamps import parse_timestamp

ACCEPTED = "Accepted"


@dataclass(frozen=True)
class IdTagInfo:
    status: str  # an AuthorizationStatus16 word (ocpp.vocabulary.authorization)
    expiry_date: str | None = None  # RFC 3339
    parent_id_tag: str | None = None

    def is_valid_at(self, now: float) -> bool:
        if self.status != ACCEPTED:
            return False
        if self.expiry_date is None:
            return True
        return parse_timestamp(self.expiry_date) > now

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.expiry_date:
            body["expiry_date"] = self.expiry_date
        if self.parent_id_tag:
            body["parent_id_tag"] = self.parent_id_tag
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> IdTagInfo:
        return cls(body["status"], body.get("expiry_date"), body.get("parent_id_tag"))


class LocalListError(ValueError):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status  # VersionMismatch | Failed


class LocalAuthList:
    def __init__(self, max_length: int = 1000) -> None:
        self.version = 0
        self.entries: dict[str, IdTagInfo] = {}
        self.max_length = max_length

    def update(
        self,
        version: int,
        update_type: str,
        entries: list[tuple[str, IdTagInfo | None]],
    ) -> None:
        """SendLocalList semantics. Full replaces; Differential upserts entries with info and
        removes entries without. Raises LocalListError without changing anything."""
        if update_type == "Differential":
            if version <= self.version:
                raise LocalListError(
                    "VersionMismatch",
                    f"differential update version {version} is not newer than {self.version}",
                )
            merged = dict(self.entries)
            for id_tag, info in entries:
                if info is None:
                    merged.pop(id_tag, None)
                else:
                    merged[id_tag] = info
        elif update_type == "Full":
            if version < 0:
                raise LocalListError("Failed", "list version must be >= 0")
            merged = {id_tag: info for id_tag, info in entries if info is not None}
        else:
            raise LocalListError("Failed", f"unknown update type {update_type!r}")
        if len(merged) > self.max_length:
            raise LocalListError("Failed", f"list would hold {len(merged)} > {self.max_length}")
        self.entries = merged
        self.version = version

    def clear(self) -> None:
        self.entries = {}
        self.version = 0

    def lookup(self, id_tag: str) -> IdTagInfo | None:
        return self.entries.get(id_tag)

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "entries": {tag: info.to_json() for tag, info in self.entries.items()},
        }

    def restore(self, body: dict[str, Any]) -> None:
        self.version = int(body.get("version", 0))
        self.entries = {tag: IdTagInfo.from_json(i) for tag, i in body.get("entries", {}).items()}


class AuthCache:
    """Remembers what the CSMS answered for id tags (Authorize / StartTransaction answers)."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.entries: dict[str, IdTagInfo] = {}

    def learn(self, id_tag: str, info: IdTagInfo) -> None:
        self.entries.pop(id_tag, None)
        self.entries[id_tag] = info
        # Oldest entries go first when the cache is full (dicts keep insertion order).
        while len(self.entries) > self.capacity:
            self.entries.pop(next(iter(self.entries)))

    def lookup(self, id_tag: str) -> IdTagInfo | None:
        return self.entries.get(id_tag)

    def clear(self) -> None:
        self.entries.clear()

    def snapshot(self) -> dict[str, Any]:
        return {tag: info.to_json() for tag, info in self.entries.items()}

    def restore(self, body: dict[str, Any]) -> None:
        self.entries = {tag: IdTagInfo.from_json(info) for tag, info in body.items()}
