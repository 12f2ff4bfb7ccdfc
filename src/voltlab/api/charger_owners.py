"""The (org, charger) pairs this process has found in the database, so that a frame-log read
by the charger's own org can flush the fleet's buffered frames first and read in one unit of
work, while any other caller is checked (and answered 404) before it causes a write.

A charger never changes org, so a pair stays true until the charger is deleted; a read after
that still answers 404 (its unit of work checks again), it only flushed first. Bounded: past
`MAX_PAIRS` the set starts over (the next reads check again)."""

from __future__ import annotations

MAX_PAIRS = 100_000


class ChargerOwners:
    def __init__(self, max_pairs: int = MAX_PAIRS) -> None:
        self._max_pairs = max_pairs
        self._pairs: set[tuple[str, str]] = set()

    def known(self, org_id: str, charger_id: str) -> bool:
        return (org_id, charger_id) in self._pairs

    def found(self, org_id: str, charger_id: str) -> None:
        """The database showed `charger_id` belonging to `org_id`."""
        if len(self._pairs) >= self._max_pairs:
            self._pairs.clear()
        self._pairs.add((org_id, charger_id))
