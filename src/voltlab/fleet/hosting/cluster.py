"""This process as a member of an installation of several `voltlab serve` processes on one
PostgreSQL (issue 14): its `workers` row, the leases of the chargers it hosts, the commands it
claims, and what it settles for the dead.

- **Heartbeat in a thread**, on a connection of its own: one UPDATE renews the worker and every
  lease it holds (not one per charger, not per frame), so renewal does not wait for a busy
  event loop. The loop proves it is alive by ticking; a loop stalled past `stall_limit_s`
  stops the renewals, and the leases expire as if the process had died.
- **The fence**: a renewal that began at monotonic `t0` makes this process the owner until
  `t0 + lease - margin` at most (the database's `now()` in the UPDATE is later than `t0`, so
  its expiry is later). Past that instant no frame leaves (`may_send`, checked by every
  station's RPC connection before each frame) and the chargers are stopped at once; a taker
  only takes a lease whose expiry has passed in the database. So two processes never send for
  one charger, even when this one was frozen (SIGSTOP, a swap storm) and wakes up.
- **Acquisition** on the event loop, at every heartbeat and at once on a NOTIFY: up to this
  worker's fair share (`ceil(chargers that should run / live fleet workers)`), expired leases
  first. The chargers resume from their stored state and continue their transactions.
- **Commands**: the queued commands of the chargers it holds are claimed here, whatever
  process accepted them; a dead worker's are handed on (queued) or ended `worker_lost`
  (running), by whichever live worker sweeps first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import threading
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from typing import Protocol

from voltlab.clock import monotonic
from voltlab.store import cluster_repo
from voltlab.store.cluster_listen import Listener
from voltlab.store.db import Database

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 10
UNCLAIMED_TIMEOUT = 120.0  # real seconds a command may wait for an owner of its charger
STALL_LIMIT = 30.0  # real seconds the event loop may be silent before renewals stop


@dataclass(frozen=True)
class ClusterSettings:
    role: str = "all"  # api | fleet | all
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    heartbeat_seconds: float = DEFAULT_LEASE_SECONDS / 4
    stall_limit_s: float = STALL_LIMIT
    unclaimed_timeout_s: float = UNCLAIMED_TIMEOUT

    @property
    def hosts_chargers(self) -> bool:
        return self.role in cluster_repo.FLEET_ROLES

    @classmethod
    def from_env(cls, role: str) -> ClusterSettings:
        """VOLTLAB_LEASE_SECONDS (whole seconds, at least 2) and VOLTLAB_HEARTBEAT_SECONDS
        (default a quarter of the lease) tune takeover speed against database load."""
        lease = _number("VOLTLAB_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
        lease_seconds = max(2, int(lease))
        beat = _number("VOLTLAB_HEARTBEAT_SECONDS", lease_seconds / 4)
        return cls(role, lease_seconds, min(max(beat, 0.1), lease_seconds / 2))


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        log.warning("%s=%r is not a number; using %g", name, raw, default)
        return default


class Hosting(Protocol):
    """What the member asks of the fleet runtime."""

    def hosted(self) -> Collection[str]: ...

    async def host(self, charger_ids: list[str]) -> None:
        """Start these chargers from their stored state (their leases are ours)."""

    async def drop(self, charger_ids: list[str], *, graceful: bool) -> None:
        """Stop and forget them: `graceful`, with a final flush (their lease was still ours);
        otherwise at once, writing nothing more (another process may hold them now)."""

    def run_commands(self, command_ids: list[str]) -> None:
        """Hand claimed commands to the dispatcher, in this order."""


class ClusterMember:
    def __init__(self, database: Database, settings: ClusterSettings) -> None:
        self.database = database
        self.settings = settings
        self.worker_id = f"wrk-{secrets.token_hex(6)}"
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.valid_until = 0.0  # monotonic instant until which our leases are certainly ours
        self._margin = min(1.0, settings.lease_seconds * 0.1)
        self._loop_tick = monotonic()
        self._acquired_mark: dict[str, float] = {}
        self._hosting: Hosting | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._stopping = threading.Event()
        self._beat_thread: threading.Thread | None = None
        self._listener: Listener | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropping: set[asyncio.Task[None]] = set()
        self._stall_logged = False
        # Declared dead by the others (frozen past the lease): whatever it hosts is theirs
        # now. Fenced until every charger is dropped, even once the worker joined again,
        # and dropped without a final flush (that would write stale state over theirs).
        self._evicted = False

    # -- the fence ----------------------------------------------------------------------------

    def may_send(self) -> bool:
        return not self._evicted and monotonic() < self.valid_until

    # -- lifecycle ----------------------------------------------------------------------------

    async def join(self, hosting: Hosting | None) -> None:
        """Register this process and start the heartbeat; with `hosting` (a fleet role), also
        the acquisition of chargers and the claims of commands."""
        self._hosting = hosting
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._register)
        await asyncio.to_thread(self._beat_once)
        self._beat_thread = threading.Thread(
            target=self._beat_loop, name="cluster-heartbeat", daemon=True
        )
        self._beat_thread.start()
        if hosting is not None:
            self._listener = Listener(self.database.url, self._notified)
            self._listener.start()
            self._task = asyncio.create_task(self._run(), name="cluster-member")

    async def stop_acquiring(self) -> None:
        """The first step of a graceful stop: take no more chargers or commands."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*self._dropping, return_exceptions=True)

    async def leave(self) -> None:
        """Graceful stop, after the runtime stopped its chargers and wrote their last state:
        hand every lease back at once and wake the others, so they take over now instead of
        at the expiry; unstarted claims go back to the pool; the worker row goes."""
        await self.stop_acquiring()
        self._stopping.set()
        if self._beat_thread is not None:
            await asyncio.to_thread(self._beat_thread.join, 5)
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        await asyncio.to_thread(self._leave)
        self.valid_until = 0.0

    def wake(self) -> None:
        """Acquire and claim now (a command or a charger for this process may be waiting)."""
        self._wake.set()

    # -- heartbeat (its own thread) -----------------------------------------------------------

    def _register(self) -> None:
        with self.database.engine.begin() as conn:
            cluster_repo.register_worker(
                conn,
                self.worker_id,
                self.settings.role,
                self.host,
                self.pid,
                self.settings.lease_seconds,
            )

    def _beat_loop(self) -> None:
        while not self._stopping.wait(self.settings.heartbeat_seconds):
            if self._hosting is not None and monotonic() - self._loop_tick > (
                self.settings.stall_limit_s
            ):
                if not self._stall_logged:
                    log.error(
                        "event loop silent for over %gs: leases left to expire",
                        self.settings.stall_limit_s,
                    )
                    self._stall_logged = True
                continue
            self._stall_logged = False
            try:
                held, began = self._beat_once()
            except Exception:  # noqa: BLE001 - the fence stops the chargers if this lasts
                log.warning("cluster heartbeat failed", exc_info=True)
                continue
            loop = self._loop
            if loop is not None and self._hosting is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(self._renewed, held, began)

    def _beat_once(self) -> tuple[set[str], float]:
        began = monotonic()
        with self.database.engine.begin() as conn:
            alive, held = cluster_repo.heartbeat(conn, self.worker_id, self.settings.lease_seconds)
        if not alive:
            # Swept as dead (frozen past the lease): its leases are gone; join again. The
            # fence stays shut (not renewed here) until `_run` dropped what it hosted.
            self._evicted = True
            log.warning("this worker was declared dead by the others; joining again")
            self._register()
            return held, began
        self.valid_until = began + self.settings.lease_seconds - self._margin
        return held, began

    def _renewed(self, held: set[str], began: float) -> None:
        """On the loop: what we host and the renewal did not find is no longer ours (deleted,
        stopped, or the lease ran out); chargers acquired after the renewal began wait for
        the next one."""
        hosting = self._hosting
        if hosting is None:
            return
        gone = [
            cid
            for cid in hosting.hosted()
            if cid not in held and self._acquired_mark.get(cid, 0.0) < began
        ]
        if gone:
            self._drop(gone, graceful=self.may_send())

    def _drop(self, charger_ids: list[str], *, graceful: bool) -> None:
        for cid in charger_ids:
            self._acquired_mark.pop(cid, None)
        task = asyncio.create_task(self._drop_then_release(charger_ids, graceful))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def _drop_then_release(self, charger_ids: list[str], graceful: bool) -> None:
        assert self._hosting is not None
        await self._hosting.drop(charger_ids, graceful=graceful)
        if graceful:  # still ours: hand them back now (a restart need not wait for expiry)
            await asyncio.to_thread(self._release, charger_ids)

    def _release(self, charger_ids: list[str]) -> None:
        with self.database.engine.begin() as conn:
            cluster_repo.release(conn, self.worker_id, charger_ids)

    def _leave(self) -> None:
        with self.database.engine.begin() as conn:
            released = cluster_repo.release(conn, self.worker_id)
            cluster_repo.leave(conn, self.worker_id)
            cluster_repo.notify(conn, cluster_repo.CHARGERS_CHANNEL)
            cluster_repo.notify(conn, cluster_repo.COMMANDS_CHANNEL)
        log.info("left the cluster; %d leases handed back", released)

    def _notified(self, channel: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

    # -- acquisition, claims, sweeps (the event loop) ------------------------------------------

    async def _run(self) -> None:
        hosting = self._hosting
        assert hosting is not None
        while True:
            notified = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.heartbeat_seconds)
                notified = True
            self._wake.clear()
            self._loop_tick = monotonic()
            if not self.may_send():
                hosted = list(hosting.hosted())
                if hosted:
                    log.error("leases not renewed in time: stopping %d chargers", len(hosted))
                    self._drop(hosted, graceful=False)
                elif self._evicted and not self._dropping:
                    log.warning("chargers of the lost leases stopped; taking work again")
                    self._evicted = False
                continue
            try:
                acquired, claimed = await asyncio.to_thread(
                    self._pass, len(hosting.hosted()), notified
                )
            except Exception:  # noqa: BLE001 - the next pass tries again
                log.warning("cluster pass failed", exc_info=True)
                continue
            if acquired:
                await hosting.host(acquired)
            if claimed:
                hosting.run_commands(claimed)

    def _pass(self, hosted: int, notified: bool) -> tuple[list[str], list[str]]:
        settings = self.settings
        if notified:
            # Woken by another process's NOTIFY: a renewal of our own first, so a charger
            # stopped or deleted there leaves now, not at the heartbeat thread's next beat. A
            # periodic pass leaves renewing to that thread (each renewal writes every lease).
            held, began = self._beat_once()
            loop = self._loop
            if loop is not None:
                loop.call_soon_threadsafe(self._renewed, held, began)
        with self.database.engine.begin() as conn:
            counts = cluster_repo.sweep(conn, settings.unclaimed_timeout_s)
        if counts["dead_workers"]:
            log.warning("settled after dead workers: %s", counts)
        acquired: list[str] = []
        # Only with time left on our leases: a charger taken now must be able to speak.
        if self.valid_until - monotonic() > settings.heartbeat_seconds:
            with self.database.engine.begin() as conn:
                wanted, workers = cluster_repo.fair_share(conn)
                target = math.ceil(wanted / max(workers, 1))
                acquired = cluster_repo.acquire(
                    conn, self.worker_id, settings.lease_seconds, target - hosted
                )
            mark = monotonic()  # after the commit: a renewal that began later sees them
            for cid in acquired:
                self._acquired_mark[cid] = mark
        with self.database.engine.begin() as conn:
            claimed = cluster_repo.claim_commands(conn, self.worker_id)
        return acquired, claimed

    def unclaim(self, command_id: str) -> Awaitable[None]:
        """A claimed command whose charger left this process goes back to the pool."""

        def run() -> None:
            with self.database.engine.begin() as conn:
                cluster_repo.unclaim_command(conn, command_id, self.worker_id)
                cluster_repo.notify(conn, cluster_repo.COMMANDS_CHANNEL)

        return asyncio.to_thread(run)


class Notifier:
    """NOTIFYs from this process (a charger to host, a command to claim), coalesced: one
    statement per channel for whatever was asked since the last one went out (a fan-out of a
    thousand commands wakes the workers once, not a thousand times)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def notify(self, channel: str) -> None:
        self._pending.add(channel)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._send(), name="cluster-notify")

    async def _send(self) -> None:
        while self._pending:
            channels, self._pending = sorted(self._pending), set()
            try:
                await asyncio.to_thread(self._write, channels)
            except Exception:  # noqa: BLE001 - the workers' poll finds the work anyway
                log.warning("NOTIFY %s failed", channels, exc_info=True)

    def _write(self, channels: list[str]) -> None:
        with self.database.engine.begin() as conn:
            for channel in channels:
                cluster_repo.notify(conn, channel)

    async def drain(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
