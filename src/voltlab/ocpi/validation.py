"""Field checks for incoming OCPI objects: collect every problem, then fail once with 2001."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from voltlab.ocpi.envelope import invalid, parse_datetime


class FieldChecker:
    def __init__(self, body: dict[str, Any], *, prefix: str = "") -> None:
        self.body = body
        self.prefix = prefix
        self.errors: list[str] = []

    def _missing(self, name: str, required: bool) -> bool:
        if self.body.get(name) is None:
            if required:
                self.errors.append(f"{self.prefix}{name}: required")
            return True
        return False

    def string(
        self,
        name: str,
        *,
        max_len: int,
        required: bool = True,
        exact_len: int | None = None,
    ) -> str | None:
        if self._missing(name, required):
            return None
        value = self.body[name]
        if not isinstance(value, str):
            self.errors.append(f"{self.prefix}{name}: must be a string")
            return None
        if exact_len is not None and len(value) != exact_len:
            self.errors.append(f"{self.prefix}{name}: must be {exact_len} characters")
        elif not value or len(value) > max_len:
            self.errors.append(f"{self.prefix}{name}: must be 1 to {max_len} characters")
        return value

    def enum(self, name: str, allowed: Collection[str], *, required: bool = True) -> str | None:
        if self._missing(name, required):
            return None
        value = self.body[name]
        if value not in allowed:
            self.errors.append(f"{self.prefix}{name}: must be one of {', '.join(sorted(allowed))}")
            return None
        return str(value)

    def boolean(self, name: str, *, required: bool = True) -> bool | None:
        if self._missing(name, required):
            return None
        value = self.body[name]
        if not isinstance(value, bool):
            self.errors.append(f"{self.prefix}{name}: must be a boolean")
            return None
        return value

    def integer(self, name: str, *, required: bool = True) -> int | None:
        if self._missing(name, required):
            return None
        value = self.body[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.append(f"{self.prefix}{name}: must be an integer")
            return None
        return value

    def datetime(self, name: str, *, required: bool = True) -> str | None:
        if self._missing(name, required):
            return None
        value = self.body[name]
        try:
            parse_datetime(value)
        except (ValueError, TypeError):
            self.errors.append(f"{self.prefix}{name}: must be an RFC 3339 DateTime")
            return None
        return str(value)

    def url(self, name: str, *, required: bool = True) -> str | None:
        value = self.string(name, max_len=2048, required=required)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.errors.append(f"{self.prefix}{name}: must be an absolute http(s) URL")
            return None
        return value

    def mapping(self, name: str, *, required: bool = True) -> dict[str, Any] | None:
        if self._missing(name, required):
            return None
        value = self.body[name]
        if not isinstance(value, dict):
            self.errors.append(f"{self.prefix}{name}: must be an object")
            return None
        return value

    def nested(self, name: str, *, required: bool = True) -> FieldChecker | None:
        """A checker for a nested object whose errors land in this checker's list."""
        value = self.mapping(name, required=required)
        if value is None:
            return None
        child = FieldChecker(value, prefix=f"{self.prefix}{name}.")
        child.errors = self.errors
        return child

    def fail_if_errors(self, what: str) -> None:
        if self.errors:
            raise invalid(f"Invalid {what}: " + "; ".join(self.errors[:5]), self.errors)
