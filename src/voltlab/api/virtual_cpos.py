"""Wiring of the virtual-CPO stack into the app: the OCPI interface, the built-in CSMS
WebSocket endpoint and the durable engine. Kept apart from app.py so the gateway can run
without it (tests with a fake fleet)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, WebSocket

from voltlab.store.csms_models import station_password_hash
from voltlab.store.db import Database


def csms_url_for(port: int | None) -> str:
    configured = os.environ.get("VOLTLAB_CSMS_URL")
    if configured:
        return configured.rstrip("/")
    return f"ws://127.0.0.1:{port or 8000}/csms"


class VirtualCpoStack:
    def __init__(self, app: FastAPI, database: Database, public_url: str, csms_url: str) -> None:
        from voltlab.cpo.durable import DurableEngine
        from voltlab.csms.server import BuiltinCsms
        from voltlab.ocpi.service import OcpiService

        self.database = database
        self.ocpi = OcpiService(database, public_url)
        self.engine = DurableEngine(database.url)
        self.csms_url = csms_url
        self.public_url = public_url
        self.services: Any = None
        self._csms_factory = BuiltinCsms
        self.csms: Any = None
        app.include_router(self.ocpi.router())

        @app.websocket("/csms/{cpo_id}/{identity}")
        async def csms_endpoint(websocket: WebSocket, cpo_id: str, identity: str) -> None:
            if self.csms is None:
                await websocket.close(code=1013)  # try again later: the engine is starting
                return
            await self.csms.serve(websocket, cpo_id, identity)

    async def _station_password_hash(self, cpo_id: str, identity: str) -> str | None:
        """The CSMS's credential for a station: the hash of its profile-1 password."""

        def lookup() -> str | None:
            with self.database.session() as session:
                return station_password_hash(session, cpo_id, identity)

        return await asyncio.to_thread(lookup)

    async def start(self, fleet: Any) -> Any:
        from voltlab.cpo.service import CpoServices

        services = CpoServices(
            database=self.database,
            fleet=fleet,
            ocpi=self.ocpi,
            csms=None,
            csms_url=self.csms_url,
            public_url=self.public_url,
            engine=self.engine,
        )
        # Before the CSMS exists (the endpoint answers 1013 until then): chargers of CPOs
        # created before station authentication get their credentials first.
        await services.provisioner.issue_missing_credentials()
        clock = getattr(fleet, "clock", None)
        # One clock for the chargers, the CSMS and every OCPI timestamp: the fleet's, whose
        # simulated time (VOLTLAB_TIME_SCALE) the chargers stamp sessions and statuses with.
        if clock is not None:
            self.ocpi.use_clock(lambda: datetime.fromtimestamp(clock.now(), UTC))
        self.csms = self._csms_factory(
            services.roaming,
            station_password_hash=self._station_password_hash,
            max_power_w=services.provisioner.connector_max_power_w,
            station_clock=clock.now if clock is not None else None,
            now=clock.now if clock is not None else None,
        )
        services.csms = self.csms
        await services.start()
        self.services = services
        return services

    async def stop(self) -> None:
        if self.services is not None:
            await self.services.stop()
        await self.ocpi.drain()
        await self.ocpi.aclose()
