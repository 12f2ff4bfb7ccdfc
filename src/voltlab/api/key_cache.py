"""API keys remembered in memory for a bounded time, so that a request costs no database session
and no worker thread to say who is calling.

Each process keeps its own cache, keyed by the key's sha256 (never the plaintext). An entry
answers for at most `KEY_CACHE_SECONDS` after the lookup that made it *started*: a lookup that
starts after a revocation committed reads the revoked row, so a revoked key stops working in
every process (SQLite or PostgreSQL, whatever process or `voltlab keys revoke` wrote it) at most
`KEY_CACHE_SECONDS` after the commit. A key in use is looked up again in the background once
half of that passed, so its requests never wait for the lookup; a lookup that finds it revoked
drops it at once. Unknown and revoked keys are not remembered: a new key works at once, and a
wrong one is looked up every time, as without a cache. Concurrent requests share one lookup
per key, run as a task of its own (a caller that goes away does not cancel it for the others)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from voltlab.clock import monotonic

# The staleness bound of a revocation (docs/api.md, Auth): short, since a lookup per key and
# half-second costs nothing next to one per request.
KEY_CACHE_SECONDS = 1.0
# More distinct live keys than any installation has; past it, expired entries are dropped
# and, should that not free room, everything (the next requests look their keys up again).
MAX_ENTRIES = 10_000

P = TypeVar("P")


def key_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class _Entry(Generic[P]):
    principal: P
    refresh: float  # from then on a request also starts a lookup in the background
    expires: float  # from then on it is not used: the lookup's start + ttl


def _retrieve(task: asyncio.Task[object]) -> None:
    # A lookup whose callers all went away: its failure is theirs, not an unretrieved error.
    if not task.cancelled():
        task.exception()


class KeyCache(Generic[P]):
    """`lookup(token)` reads the key's row (None: unknown or revoked); it runs for a miss and
    for a refresh only. `now` is the monotonic clock (a test advances its own)."""

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[P | None]],
        *,
        ttl: float = KEY_CACHE_SECONDS,
        now: Callable[[], float] = monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._lookup = lookup
        self.ttl = ttl
        self._now = now
        self._max_entries = max_entries
        self._entries: dict[str, _Entry[P]] = {}
        self._pending: dict[str, asyncio.Task[P | None]] = {}

    async def principal(self, token: str) -> P | None:
        digest = key_digest(token)
        entry = self._entries.get(digest)
        if entry is not None:
            now = self._now()
            if now < entry.expires:
                if now >= entry.refresh:
                    self._looking_up(digest, token)
                return entry.principal
        # shield: one caller's cancellation (its client left) must not cancel the others'.
        return await asyncio.shield(self._looking_up(digest, token))

    def _looking_up(self, digest: str, token: str) -> asyncio.Task[P | None]:
        task = self._pending.get(digest)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(digest, token))
            task.add_done_callback(_retrieve)
            self._pending[digest] = task
        return task

    async def _fetch(self, digest: str, token: str) -> P | None:
        started = self._now()
        try:
            principal = await self._lookup(token)
        finally:
            del self._pending[digest]
        if principal is None or self.ttl <= 0:
            self._entries.pop(digest, None)
        else:
            self._remember(digest, _Entry(principal, started + self.ttl / 2, started + self.ttl))
        return principal

    def _remember(self, digest: str, entry: _Entry[P]) -> None:
        if digest not in self._entries and len(self._entries) >= self._max_entries:
            now = self._now()
            self._entries = {d: e for d, e in self._entries.items() if e.expires > now}
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
        self._entries[digest] = entry
