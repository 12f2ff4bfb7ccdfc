"""The API-key cache on its own: how long an entry answers, the background refresh, one lookup
for concurrent callers. The routes' side (401 after a revocation, one read per bound) is in
test_api_auth.py."""

from __future__ import annotations

import asyncio

from voltlab.api.key_cache import KeyCache


class Keys:
    """A lookup over a dict of token -> principal (absent: unknown or revoked), on a clock the
    test moves; `gate`, when set, holds every lookup until the test opens it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.rows: dict[str, str] = {"vl_a": "org-a"}
        self.lookups: list[str] = []
        self.gate: asyncio.Event | None = None
        self.lookup_takes = 0.0  # clock seconds one lookup moves the clock by
        self.fail: Exception | None = None

    def clock(self) -> float:
        return self.now

    async def lookup(self, token: str) -> str | None:
        self.lookups.append(token)
        if self.gate is not None:
            await self.gate.wait()
        self.now += self.lookup_takes
        if self.fail is not None:
            raise self.fail
        return self.rows.get(token)


def cache_of(keys: Keys, ttl: float = 1.0) -> KeyCache[str]:
    return KeyCache(keys.lookup, ttl=ttl, now=keys.clock)


async def settle() -> None:
    for _ in range(5):  # bounded: the background task needs a few loop turns
        await asyncio.sleep(0)


async def test_an_entry_answers_until_its_bound_then_the_key_is_read_again() -> None:
    keys = Keys()
    cache = cache_of(keys)
    assert await cache.principal("vl_a") == "org-a"
    keys.now = 0.49
    assert await cache.principal("vl_a") == "org-a"
    assert keys.lookups == ["vl_a"]
    del keys.rows["vl_a"]  # revoked
    keys.now = 1.0  # the bound: not answered from memory any more
    assert await cache.principal("vl_a") is None
    assert keys.lookups == ["vl_a", "vl_a"]


async def test_the_bound_runs_from_the_lookups_start() -> None:
    keys = Keys()
    keys.lookup_takes = 0.3  # a slow read: the row may have been revoked while it ran
    cache = cache_of(keys)
    assert await cache.principal("vl_a") == "org-a"  # started at 0, ended at 0.3
    del keys.rows["vl_a"]
    keys.now = 1.0
    assert await cache.principal("vl_a") is None


async def test_past_half_the_bound_a_refresh_runs_in_the_background() -> None:
    keys = Keys()
    cache = cache_of(keys)
    assert await cache.principal("vl_a") == "org-a"
    del keys.rows["vl_a"]  # revoked meanwhile
    keys.gate = asyncio.Event()
    keys.now = 0.5
    # Answered at once (the lookup is held), and one refresh for two requests.
    assert await asyncio.wait_for(cache.principal("vl_a"), 1) == "org-a"
    assert await asyncio.wait_for(cache.principal("vl_a"), 1) == "org-a"
    assert keys.lookups == ["vl_a", "vl_a"]
    keys.gate.set()
    await settle()
    # The refresh found it revoked: dropped before its bound.
    assert await cache.principal("vl_a") is None


async def test_unknown_keys_are_not_remembered() -> None:
    keys = Keys()
    cache = cache_of(keys)
    assert await cache.principal("vl_new") is None
    keys.rows["vl_new"] = "org-b"  # created after the first try: works at once
    assert await cache.principal("vl_new") == "org-b"
    assert keys.lookups == ["vl_new", "vl_new"]


async def test_concurrent_callers_share_one_lookup_and_one_leaving_spares_the_others() -> None:
    keys = Keys()
    keys.gate = asyncio.Event()
    cache = cache_of(keys)
    callers = [asyncio.create_task(cache.principal("vl_a")) for _ in range(10)]
    await settle()
    callers[0].cancel()  # its client went away
    await settle()
    keys.gate.set()
    results = await asyncio.gather(*callers[1:])
    assert results == ["org-a"] * 9
    assert callers[0].cancelled()
    assert keys.lookups == ["vl_a"]


async def test_a_failed_lookup_reaches_every_caller_and_is_not_remembered() -> None:
    keys = Keys()
    keys.fail = RuntimeError("database down")
    cache = cache_of(keys)
    results = await asyncio.gather(
        cache.principal("vl_a"), cache.principal("vl_a"), return_exceptions=True
    )
    assert [str(r) for r in results] == ["database down"] * 2
    keys.fail = None
    assert await cache.principal("vl_a") == "org-a"
    assert len(keys.lookups) == 2


async def test_a_full_cache_makes_room() -> None:
    keys = Keys()
    keys.rows = {f"vl_{i}": f"org-{i}" for i in range(5)}
    cache: KeyCache[str] = KeyCache(keys.lookup, ttl=1.0, now=keys.clock, max_entries=3)
    for i in range(5):
        assert await cache.principal(f"vl_{i}") == f"org-{i}"
    for i in range(5):  # still right, whatever was dropped to make room
        assert await cache.principal(f"vl_{i}") == f"org-{i}"
