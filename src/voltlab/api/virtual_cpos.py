"""The composition root of the virtual-CPO stack: the one place that builds the OCPI interface,
the built-in CSMS, the CPO services and the durable engine, and hands each exactly the typed
collaborators it uses. Kept apart from app.py so the gateway can run without it (tests with a
fake fleet).

Two steps, because the app's routes exist before its lifespan runs and the fleet only then:
`build_virtual_cpos` (at app creation) makes the OCPI interface and mounts its routes and the
CSMS endpoint; `VirtualCpos.start(fleet, clock)` (in the lifespan) builds the rest around the
fleet and opens the CSMS endpoint."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI, WebSocket

from voltlab.clock import monotonic, wall_now
from voltlab.cpo.commander import CommandBridge
from voltlab.cpo.driver import VirtualDriver
from voltlab.cpo.durable import LOCAL_EXECUTOR, DurableEngine
from voltlab.cpo.housekeeping import Housekeeping
from voltlab.cpo.networks import CpoNetworks
from voltlab.cpo.provisioner import Provisioner
from voltlab.cpo.roaming import RoamingBridge
from voltlab.cpo.service import CpoService
from voltlab.cpo.smart_charging_bridge import SmartChargingBridge
from voltlab.cpo.workflow_services import WorkflowServices
from voltlab.csms.persistence import DatabaseTransactions
from voltlab.csms.server import BuiltinCsms
from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.ocpi.service import OcpiService
from voltlab.store.csms_models import station_password_hash
from voltlab.store.db import Database

# Seconds the virtual-CPO stack gets at shutdown to finish OCPI commands and the push attempts
# in flight (unsent pushes stay in the outbox).
SHUTDOWN_GRACE = 3.0


def csms_url_for(port: int | None) -> str:
    configured = os.environ.get("VOLTLAB_CSMS_URL")
    if configured:
        return configured.rstrip("/")
    return f"ws://127.0.0.1:{port or 8000}/csms"


@dataclass(frozen=True)
class CpoRuntime:
    """The virtual-CPO objects that need the fleet, wired together."""

    service: CpoService
    csms: BuiltinCsms
    provisioner: Provisioner
    commander: CommandBridge
    smart_charging: SmartChargingBridge
    driver: VirtualDriver


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, not {raw!r}") from exc
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {raw!r}")
    return value


def push_settings_from_env() -> dict[str, float]:
    """How long the outbox keeps trying a push: VOLTLAB_OCPI_PUSH_MAX_ATTEMPTS (default 20)
    attempts per request, waits from VOLTLAB_OCPI_PUSH_RETRY_BASE_DELAY (0.5 s) doubling up to
    VOLTLAB_OCPI_PUSH_RETRY_MAX_DELAY (300 s): about 1.5 hours of an eMSP being down."""
    return {
        "push_max_attempts": int(_env_number("VOLTLAB_OCPI_PUSH_MAX_ATTEMPTS", 20)),
        "push_retry_base_delay": _env_number("VOLTLAB_OCPI_PUSH_RETRY_BASE_DELAY", 0.5),
        "push_retry_max_delay": _env_number("VOLTLAB_OCPI_PUSH_RETRY_MAX_DELAY", 300.0),
    }


class VirtualCpos:
    def __init__(
        self,
        database: Database,
        ocpi: OcpiService,
        csms_url: str,
        executor_id: str = LOCAL_EXECUTOR,
    ) -> None:
        self.database = database
        self.ocpi = ocpi
        self.csms_url = csms_url
        self.engine = DurableEngine(database.url, executor_id)
        self.housekeeping = Housekeeping(database, ocpi.presence, self.engine, ocpi)
        # Set once the stack runs: until then the CSMS endpoint answers 1013 (try again later).
        self.running: CpoRuntime | None = None

    async def _station_password_hash(self, cpo_id: str, identity: str) -> str | None:
        """The CSMS's credential for a station: the hash of its profile-1 password."""

        def lookup() -> str | None:
            with self.database.session() as session:
                return station_password_hash(session, cpo_id, identity)

        return await asyncio.to_thread(lookup)

    def _wire(self, fleet: Fleet, clock: Callable[[], float] | None) -> CpoRuntime:
        database, ocpi = self.database, self.ocpi
        networks = CpoNetworks(database)
        driver = VirtualDriver(database, fleet)
        roaming = RoamingBridge(database, ocpi, networks, driver)
        csms = BuiltinCsms(
            roaming,
            station_password_hash=self._station_password_hash,
            max_power_w=networks.connector_max_power_w,
            station_clock=clock,
            now=clock,
            transactions=DatabaseTransactions(database),
        )
        provisioner = Provisioner(database, ocpi, fleet, networks, csms, self.csms_url)
        return CpoRuntime(
            service=CpoService(database, ocpi, networks, now=wall_now, lead=ocpi.presence.lead),
            csms=csms,
            provisioner=provisioner,
            commander=CommandBridge(ocpi, csms, roaming, driver),
            smart_charging=SmartChargingBridge(ocpi, csms, roaming),
            driver=driver,
        )

    async def start(self, fleet: Fleet, clock: Callable[[], float] | None) -> CpoService:
        """`clock` is the fleet's (simulated POSIX seconds, VOLTLAB_TIME_SCALE): the chargers,
        the CSMS and every OCPI timestamp share it. None: the wall clock."""
        wired = self._wire(fleet, clock)
        # Before the CSMS endpoint opens: chargers of CPOs created before station
        # authentication get their credentials first.
        await wired.provisioner.issue_missing_credentials()
        if clock is not None:
            self.ocpi.use_clock(lambda: datetime.fromtimestamp(clock(), UTC))
        self.ocpi.set_command_handler(wired.commander)
        self.ocpi.set_charging_profile_handler(wired.smart_charging)
        self.running = wired
        # On the loop's own thread: DBOS resumes unfinished async workflows on the running loop,
        # where the fleet and the CSMS they act on live.
        self.engine.start(WorkflowServices(database=self.database, provisioner=wired.provisioner))
        wired.service.start_reaper()
        self.housekeeping.start()
        # What the outbox holds from before (a crash, another process's rows) goes out now.
        await asyncio.to_thread(self.ocpi.presence.join)
        self.ocpi.start_pushes()
        return wired.service

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Let the work in flight finish for at most `grace` seconds in all, then cancel it: an
        eMSP that stopped answering must not hold the shutdown through its push retries."""
        deadline = monotonic() + grace

        def left() -> float:
            return max(0.0, deadline - monotonic())

        wired = self.running
        if wired is not None:
            await wired.commander.drain(left())
            await wired.smart_charging.drain(left())
            await wired.driver.drain(left())
            await wired.service.stop_reaper()
            await self.housekeeping.stop()
            await asyncio.to_thread(self.engine.stop)
        # Pushes are durable: the attempts in flight get what is left of the grace, the rest
        # stay in the outbox for the next process.
        await self.ocpi.drain(left())
        await self.ocpi.aclose()
        # On the loop's thread: the durable engine's stop shut the default executor down, and
        # closing one connection is quick.
        self.ocpi.presence.leave()


def build_virtual_cpos(
    app: FastAPI,
    database: Database,
    public_url: str,
    csms_url: str,
    executor_id: str = LOCAL_EXECUTOR,
) -> VirtualCpos:
    """Mount the OCPI interface and the built-in CSMS endpoint on `app`; the stack behind them
    starts with `VirtualCpos.start` once the fleet runs. `executor_id`: DBOS's for this process
    (its cluster worker id on PostgreSQL, `cpo.durable`)."""
    ocpi = OcpiService(database, public_url, **push_settings_from_env())  # type: ignore[arg-type]
    stack = VirtualCpos(database, ocpi, csms_url, executor_id)
    # OCPI's own endpoints keep OCPI's contract (its envelope, Token auth, the OCPI 2.2.1 and
    # 2.1.1 texts): they are not part of the Gateway API's OpenAPI description.
    app.include_router(ocpi.router(), include_in_schema=False)

    @app.websocket("/csms/{cpo_id}/{identity}")
    async def csms_endpoint(websocket: WebSocket, cpo_id: str, identity: str) -> None:
        running = stack.running
        if running is None:
            await websocket.close(code=1013)  # try again later: the engine is starting
            return
        await running.csms.serve(websocket, cpo_id, identity)

    return stack
