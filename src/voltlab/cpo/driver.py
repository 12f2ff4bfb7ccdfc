"""The virtual driver of a virtual CPO's chargers: plugging the cable in before a remote start
and unplugging after the session. Its actions go through the ordinary gateway command path
(a command record, the dispatcher, the station), so they show up in /ocpp/commands."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import select

from voltlab.clock import monotonic, wall_now
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.models import Charger, Command, Location
from voltlab.tasks import BackgroundTasks

TERMINAL = ("succeeded", "failed", "timed_out")


class VirtualDriver:
    def __init__(self, database: Database, fleet: Fleet) -> None:
        self.database = database
        self.fleet = fleet
        self._background = BackgroundTasks("virtual EV driver")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._background.spawn(coro)

    async def drain(self, timeout: float | None = None) -> int:
        """Wait for the work started in the background; see `BackgroundTasks.drain`."""
        return await self._background.drain(timeout)

    def later_unplug(self, cpo_id: str, identity: str, connector_id: int) -> None:
        self._spawn(
            self.station_command(
                cpo_id, identity, "unplug_connector", {"connector_id": connector_id}
            )
        )

    async def station_command(
        self,
        cpo_id: str,
        identity: str,
        event_type: str,
        payload: dict[str, Any],
        timeout: float = 30.0,
    ) -> Command | None:
        command_id = await asyncio.to_thread(
            self._insert_command, cpo_id, identity, event_type, payload
        )
        if command_id is None:
            return None
        self.fleet.submit_command(command_id)
        deadline = monotonic() + timeout
        while True:
            command = await asyncio.to_thread(self._load_command, command_id)
            if command is None or command.status in TERMINAL:
                return command
            if monotonic() > deadline:
                return command
            await asyncio.sleep(0.05)

    def _insert_command(
        self, cpo_id: str, identity: str, event_type: str, payload: dict[str, Any]
    ) -> str | None:
        with self.database.session() as session:
            location_ids = select(Location.id).where(Location.cpo_id == cpo_id)
            charger = session.scalar(
                select(Charger).where(
                    Charger.location_id.in_(location_ids), Charger.identity == identity
                )
            )
            if charger is None:
                return None
            now = wall_now()
            command = Command(
                id=repo.new_id(),
                org_id=charger.org_id,
                charger_id=charger.id,
                identity=identity,
                location_id=charger.location_id,
                event_type=event_type,
                ocpp_version=charger.ocpp_version,
                payload=payload,
                status="queued",
                created_at=now,
                updated_at=now,
            )
            session.add(command)
            return command.id

    def _load_command(self, command_id: str) -> Command | None:
        with self.database.session() as session:
            command = session.get(Command, command_id)
            if command is not None:
                session.expunge(command)
            return command
