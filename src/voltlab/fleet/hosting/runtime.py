"""FleetRuntime: hosts the virtual charging stations of this process and implements the
`Fleet` interface the API uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from voltlab.clock import Clock, monotonic
from voltlab.fleet.driver.configuration_view import (
    ChargerConfiguration,
    configuration_of,
    stored_configuration,
)
from voltlab.fleet.driver.offline_queue import OfflineQueue
from voltlab.fleet.driver.offline_queue_store import QueueStore
from voltlab.fleet.driver.runner import StationRunner
from voltlab.fleet.hosting.cluster import ClusterMember, Notifier
from voltlab.fleet.hosting.dispatcher import CommandDispatcher
from voltlab.fleet.hosting.heap import HeapKeeper
from voltlab.fleet.hosting.live_events import FleetLiveEvents
from voltlab.fleet.hosting.metrics import FleetMetrics
from voltlab.fleet.hosting.persistence import FleetWriter
from voltlab.fleet.hosting.runtime_api import ChargerSpec, StatusView, spec_from_row
from voltlab.fleet.model.catalog import get_model
from voltlab.fleet.model.station_state import station_snapshot
from voltlab.ocpp.findings import Observation, rule
from voltlab.store.clock_state import load_clock_reading, save_clock_reading
from voltlab.store.cluster_repo import CHARGERS_CHANNEL, COMMANDS_CHANNEL
from voltlab.store.db import Database
from voltlab.store.models import Charger, Frame
from voltlab.store.times import as_utc

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.5  # real seconds between batched writes
# Opening handshakes in flight at once. A thousand stations connecting in the same millisecond
# overflow a CSMS's accept queue (Node's default backlog is 511): the kernel drops the SYNs and
# the stations wait a full second to retry. Fewer at a time is faster.
MAX_CONNECTING = 128
GOING_AWAY = 1001  # WebSocket close code when the server shuts down
RECOVERED_COMMAND_WAIT = 30.0  # real seconds a recovered command waits for its charger
# The p95 of a CSMS's answer times (per action, per station) above which the station records
# the warning csms-slow-responses; milliseconds, VOLTLAB_SLOW_ANSWER_P95_MS overrides it.
DEFAULT_SLOW_ANSWER_P95_MS = 2000.0


def slow_answer_threshold() -> float:
    """The p95 threshold in seconds, from the environment (bad values: the default)."""
    raw = os.environ.get("VOLTLAB_SLOW_ANSWER_P95_MS")
    try:
        value = float(raw) if raw else DEFAULT_SLOW_ANSWER_P95_MS
    except ValueError:
        log.warning("VOLTLAB_SLOW_ANSWER_P95_MS=%r is not a number; using the default", raw)
        value = DEFAULT_SLOW_ANSWER_P95_MS
    return max(value, 0.0) / 1000


class FleetRuntime:
    """`cluster`: this process is one fleet worker of several on one PostgreSQL (issue 14): it
    hosts the chargers whose leases it holds, not every charger that should run; without it,
    every charger that should run is hosted here (one process, the SQLite default)."""

    def __init__(
        self, database: Database, clock: Clock | None = None, cluster: ClusterMember | None = None
    ) -> None:
        self.database = database
        self.clock = clock or Clock.from_env()
        self.runners: dict[str, StationRunner] = {}
        # Counted as things happen; what the fleet holds is read at scrape time (api/metrics.py).
        self.metrics = FleetMetrics()
        self.writer = FleetWriter(
            database, self._snapshot_of, self.clock.reading, metrics=self.metrics
        )
        self.cluster = cluster
        self.notifier = Notifier(database) if cluster is not None else None
        self.dispatcher = CommandDispatcher(
            database,
            self.runners.get,
            handoff=None if cluster is None else cluster.unclaim,
            metrics=self.metrics,
        )
        self.queues = QueueStore(database)
        self.heap = HeapKeeper()
        self.connect_gate = asyncio.Semaphore(MAX_CONNECTING)
        self.slow_answer_s = slow_answer_threshold()
        self._flusher: asyncio.Task[None] | None = None
        # The dashboard's live events (`database.live`): nothing is built while nobody listens.
        self.live = FleetLiveEvents(database.live, self.live_state)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the flusher, reconnect every charger that was running, and settle the
        commands a previous process left behind (see `CommandDispatcher.recover`)."""
        self.heap.tune()
        await asyncio.to_thread(self._resume_clock)
        self._flusher = asyncio.create_task(self._flush_loop(), name="fleet-flush")
        if self.cluster is not None:
            # The chargers come by lease (`host`), and the commands by claim: a dead worker's
            # are settled by the sweep, not by `recover`, which would end the running commands
            # of the live workers too.
            await self.cluster.join(self if self.cluster.settings.hosts_chargers else None)
            return
        specs = await asyncio.to_thread(self._running_specs)
        for spec in specs:
            await self.start_charger(spec)
        interrupted, queued = await self.dispatcher.recover(self._wait_online)
        if interrupted or queued:
            log.info("commands after restart: %d interrupted, %d queued run", interrupted, queued)

    async def shutdown(self) -> None:
        """Stop the stations (close code 1001, going away), end the commands, and write the
        last frames and snapshots. Runs before the event loop's executor goes away. In a
        cluster, then hands the leases back so the others take the chargers over at once."""
        if self.cluster is not None:
            await self.cluster.stop_acquiring()
        await self.dispatcher.shutdown()
        await asyncio.gather(
            *(r.stop(GOING_AWAY) for r in self.runners.values()), return_exceptions=True
        )
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.writer.flush()
        await asyncio.to_thread(self._save_clock)
        self.live.close()
        if self.cluster is not None:
            try:
                await self.cluster.leave()
            except Exception:
                # The leases expire instead: the others take over later, nothing is lost.
                log.exception("leases not handed back at shutdown")
        self.heap.close()

    def _resume_clock(self) -> None:
        """Continue simulated time where the previous process left it (never backwards: a
        transaction that spans the restart has no reading from the future), before anything
        reads the clock; store the new anchor at once."""
        try:
            with self.database.session() as session:
                self.clock.resume(load_clock_reading(session))
                save_clock_reading(session, self.clock.reading())
        except IntegrityError:
            # Processes of a cluster starting together on a new database: another one stored
            # the first reading meanwhile; continue from it.
            with self.database.session() as session:
                self.clock.resume(load_clock_reading(session))
                save_clock_reading(session, self.clock.reading())

    def _save_clock(self) -> None:
        try:
            with self.database.session() as session:
                save_clock_reading(session, self.clock.reading())
        except Exception:
            # The last flush's reading stands; the next process continues from it.
            log.exception("clock reading not written at shutdown")

    async def _wait_online(self, charger_id: str) -> None:
        """A command recovered after a restart waits (bounded) for its charger to be back."""
        runner = self.runners.get(charger_id)
        deadline = monotonic() + RECOVERED_COMMAND_WAIT
        while runner is not None and not runner.link.online:
            if monotonic() >= deadline:
                return  # run anyway: it fails with not_connected, which is the truth
            await asyncio.sleep(0.1)

    def _running_specs(self) -> list[ChargerSpec]:
        with self.database.session() as session:
            rows = session.scalars(select(Charger).where(Charger.desired_running.is_(True))).all()
            return [spec_from_row(row) for row in rows]

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            await self.writer.flush()

    # -- Fleet interface ----------------------------------------------------------------------

    async def start_charger(self, spec: ChargerSpec) -> None:
        if self.cluster is not None and spec.charger_id not in self.runners:
            # Whoever has room takes it (this process too): the row says it should run.
            self._notify(CHARGERS_CHANNEL)
            return
        await self._start_runner(spec)

    async def _start_runner(self, spec: ChargerSpec, *, taken_over: bool = False) -> None:
        runner = self.runners.get(spec.charger_id)
        if runner is None:
            model = get_model(spec.model)
            if model is None:
                raise ValueError(f"unknown charger model {spec.model!r}")
            runner = StationRunner(
                charger_id=spec.charger_id,
                identity=spec.identity,
                model=model,
                csms_url=spec.csms_url,
                version=spec.ocpp_version,
                security=spec.security,
                clock=self.clock,
                on_frame=self._frame,
                on_change=self._changed,
                persist=self.writer.persist,
                stored_meter=self.writer,
                snapshot=(spec.state or {}).get("station"),
                queue=OfflineQueue(self.queues, spec.charger_id),
                frame_log=self.recent_frames,
                connect_gate=self.connect_gate,
                on_finding=partial(self._finding, spec),
                slow_answer_s=self.slow_answer_s,
                continue_transactions=taken_over,
                may_send=None if self.cluster is None else self.cluster.may_send,
                metrics=self.metrics.stations,
            )
            self.runners[spec.charger_id] = runner
            self.heap.stations_added()
        self.live.hosted(spec)
        runner.start()

    async def stop_charger(self, charger_id: str) -> None:
        runner = self.runners.get(charger_id)
        if runner is not None:
            await runner.stop()
        if self.cluster is not None:  # the owner's renewal finds it should not run: it goes
            self._notify(CHARGERS_CHANNEL)

    async def remove_charger(self, charger_id: str) -> None:
        runner = self.runners.pop(charger_id, None)
        if runner is not None:
            await runner.stop()
            self.heap.stations_removed()
        self.writer.forget(charger_id)
        self.live.forget(charger_id)
        if self.cluster is not None:  # the lease went with the row; its owner forgets it
            self._notify(CHARGERS_CHANNEL)

    def live_state(self, charger_id: str) -> dict[str, Any] | None:
        runner = self.runners.get(charger_id)
        return None if runner is None else runner.live_state()

    def status_view(self, charger_id: str) -> StatusView | None:
        runner = self.runners.get(charger_id)
        return None if runner is None else StatusView(*runner.status_view())

    def configuration(self, spec: ChargerSpec) -> ChargerConfiguration | None:
        runner = self.runners.get(spec.charger_id)
        now = self.clock.now()
        if runner is not None:
            return configuration_of(runner.station, runner.version, now, "live")
        return stored_configuration(
            spec.charger_id, spec.identity, spec.model, spec.ocpp_version, spec.state, now
        )

    def submit_command(self, command_id: str) -> None:
        if self.cluster is None:
            self.dispatcher.submit(command_id)
        else:  # claimed from the store by its charger's owner, this process or another
            self._notify(COMMANDS_CHANNEL)

    async def flush(self) -> None:
        await self.writer.flush()

    async def flush_log(self) -> None:
        await self.writer.flush_log()

    # -- cluster hosting (`cluster.Hosting`) ----------------------------------------------------

    def hosted(self) -> list[str]:
        return list(self.runners)

    async def host(self, charger_ids: list[str]) -> None:
        specs = await asyncio.to_thread(self._specs, charger_ids)
        # Their offline queues were filled by the process that hosted them before.
        self.queues.adopt([spec.charger_id for spec in specs])
        for spec in specs:
            try:
                await self._start_runner(spec, taken_over=True)
            except Exception:
                log.exception("charger %s not started", spec.charger_id)

    async def drop(self, charger_ids: list[str], *, graceful: bool) -> None:
        runners = [(cid, r) for cid in charger_ids if (r := self.runners.get(cid)) is not None]
        if not graceful:
            # Not ours any more: nothing of them is written from here on (another process
            # may have started them from their stored state already).
            for cid, _ in runners:
                self.runners.pop(cid, None)
                self.writer.forget(cid)
        await asyncio.gather(*(r.stop(GOING_AWAY) for _, r in runners), return_exceptions=True)
        if graceful:
            await self.writer.flush()  # their last snapshots, while still ours
            for cid, _ in runners:
                self.runners.pop(cid, None)
                self.writer.forget(cid)
        for _ in runners:
            self.heap.stations_removed()

    def run_commands(self, command_ids: list[str]) -> None:
        for command_id in command_ids:
            self.dispatcher.submit(command_id, self._wait_online)

    def _specs(self, charger_ids: list[str]) -> list[ChargerSpec]:
        with self.database.session() as session:
            rows = session.scalars(
                select(Charger).where(Charger.id.in_(charger_ids), Charger.desired_running)
            ).all()
            return [spec_from_row(row) for row in rows]

    def _notify(self, channel: str) -> None:
        assert self.notifier is not None and self.cluster is not None
        self.notifier.notify(channel)
        self.cluster.wake()

    # -- plumbing -----------------------------------------------------------------------------

    def runner(self, charger_id: str) -> StationRunner | None:
        return self.runners.get(charger_id)

    async def recent_frames(self, charger_id: str, limit: int) -> list[tuple[float, str, str]]:
        """The charger's last `limit` frames from the store, oldest first: (ts, dir, text)."""
        await self.writer.flush()  # frames still buffered belong to the log too
        return await asyncio.to_thread(self._read_frames, charger_id, limit)

    def _read_frames(self, charger_id: str, limit: int) -> list[tuple[float, str, str]]:
        with self.database.session() as session:
            rows = session.execute(
                select(Frame.ts, Frame.direction, Frame.frame)
                .where(Frame.charger_id == charger_id)
                .order_by(Frame.id.desc())
                .limit(limit)
            ).all()
        return [(as_utc(ts).timestamp(), direction, text) for ts, direction, text in reversed(rows)]

    def _changed(self, charger_id: str) -> None:
        self.writer.mark_dirty(charger_id)
        self.live.changed(charger_id)

    def _frame(self, charger_id: str, direction: str, text: str) -> None:
        now = self.clock.now()
        self.writer.frame(charger_id, now, direction, text)
        self.live.frame(charger_id, now, direction, text)

    def _finding(self, spec: ChargerSpec, observation: Observation) -> None:
        """A rule about the CSMS was broken: a row for the next batch (write-behind)."""
        found = rule(observation.rule)
        row = {
            "id": f"fnd-{secrets.token_hex(8)}",
            "charger_id": spec.charger_id,
            "location_id": spec.location_id,
            "cpo_id": None,
            "rule": found.slug,
            "severity": found.severity,
            "title": found.title,
            "detail": observation.detail,
            "spec_ref": found.spec_ref(spec.ocpp_version),
            "at": datetime.fromtimestamp(self.clock.now(), UTC),
            "evidence": [frame.as_json() for frame in observation.evidence],
        }
        self.writer.finding(row)
        self.live.finding(spec, row)
        log.info("%s: finding %s: %s", spec.identity, found.slug, observation.detail)

    def _snapshot_of(self, charger_id: str) -> dict[str, Any] | None:
        runner = self.runners.get(charger_id)
        if runner is None:
            return None
        # First: it advances the station to now, so the snapshot stores the register as of this
        # flush (above the last meter value sent, not equal to it: 1.6 rounds meterStop).
        state = runner.stored_state()
        return {
            "station": {
                **station_snapshot(runner.station),
                "maintenance": runner.maintenance.snapshot(),
            },
            **state,
        }
