"""`AsyncClient`: the Gateway API over httpx, for asyncio."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Iterable
from contextlib import asynccontextmanager
from types import TracebackType

import httpx

from voltlab.client import fleet_calls as fc
from voltlab.client import models
from voltlab.client import ops_calls as oc
from voltlab.client.command_methods import CommandMethods
from voltlab.client.errors import raise_for_error
from voltlab.client.events import LiveMessage, aparse, topics_param
from voltlab.client.fleet_calls import Severity
from voltlab.client.ops_calls import Target
from voltlab.client.transport import DEFAULT_TIMEOUT, AsyncTransport, auth_headers
from voltlab.client.waiting import (
    DEFAULT_CPO_TIMEOUT,
    DEFAULT_POLL_SECONDS,
    AsyncCommandBatch,
    async_batch,
    await_cpo_ready,
    await_replay,
    await_run,
)


class Locations:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, body: models.LocationCreate) -> models.LocationDetail:
        return await self._t.send(fc.create_location(body))

    async def list(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> models.LocationPage:
        return await self._t.send(fc.list_locations(limit, cursor))

    async def iterate(self, *, limit: int | None = None) -> AsyncIterator[models.LocationView]:
        """Every location, page after page."""
        cursor: str | None = None
        while True:
            page = await self.list(limit=limit, cursor=cursor)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get(self, location_id: str) -> models.LocationDetail:
        return await self._t.send(fc.get_location(location_id))

    async def delete(self, location_id: str) -> None:
        await self._t.send(fc.delete_location(location_id))

    async def findings(
        self,
        location_id: str,
        *,
        rule: str | None = None,
        severity: Severity | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.FindingsWithCounts:
        return await self._t.send(fc.location_findings(location_id, rule, severity, limit, cursor))


class Chargers:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def create(self, body: models.ChargerCreate) -> models.ChargerView:
        return await self._t.send(fc.create_charger(body))

    async def list(
        self,
        *,
        location_id: str | None = None,
        q: str | None = None,
        connection: str | None = None,
        registration: str | None = None,
        status: str | None = None,
        ocpp_version: str | None = None,
        model: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.ChargerPage:
        call = fc.list_chargers(
            location_id, q, connection, registration, status, ocpp_version, model, limit, cursor
        )
        return await self._t.send(call)

    async def iterate(
        self, *, location_id: str | None = None, limit: int | None = None
    ) -> AsyncIterator[models.ChargerView]:
        cursor: str | None = None
        while True:
            page = await self.list(location_id=location_id, limit=limit, cursor=cursor)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get(self, charger_id: str) -> models.ChargerView:
        return await self._t.send(fc.get_charger(charger_id))

    async def start(self, charger_id: str) -> models.ChargerView:
        return await self._t.send(fc.start_charger(charger_id))

    async def stop(self, charger_id: str) -> models.ChargerView:
        return await self._t.send(fc.stop_charger(charger_id))

    async def delete(self, charger_id: str) -> None:
        await self._t.send(fc.delete_charger(charger_id))

    async def configuration(self, charger_id: str) -> models.ChargerConfigurationView:
        return await self._t.send(fc.configuration(charger_id))

    async def meter_series(
        self, charger_id: str, *, connector_id: int | None = None
    ) -> models.MeterSeries:
        return await self._t.send(fc.meter_series(charger_id, connector_id))

    async def messages(
        self, charger_id: str, *, limit: int | None = None, before: int | None = None
    ) -> models.FramePage:
        """The frame log, newest first."""
        return await self._t.send(fc.messages(charger_id, limit, before))

    async def messages_jsonl(self, charger_id: str, *, limit: int | None = None) -> str:
        """The frame log as a capture to replay (JSON lines, oldest first)."""
        return await self._t.send(fc.messages_jsonl(charger_id, limit))

    async def findings(
        self,
        charger_id: str,
        *,
        rule: str | None = None,
        severity: Severity | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.ChargerFindings:
        return await self._t.send(fc.charger_findings(charger_id, rule, severity, limit, cursor))


class Commands(CommandMethods[Awaitable[AsyncCommandBatch]]):
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    def send(
        self, slug: str, target: Target, event: models.EventModel | None = None
    ) -> Awaitable[AsyncCommandBatch]:
        return self._send(slug, target, event)

    async def _send(
        self, slug: str, target: Target, event: models.EventModel | None
    ) -> AsyncCommandBatch:
        return async_batch(await self._t.send(oc.command(slug, target, event)), self._t)

    async def list(
        self,
        *,
        charger_id: str | None = None,
        location_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.CommandPage:
        return await self._t.send(oc.list_commands(charger_id, location_id, limit, cursor))

    async def get(self, command_id: str) -> models.CommandView:
        return await self._t.send(oc.get_command(command_id))


class Cpos:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def templates(self) -> builtins.list[models.CpoTemplate]:
        return await self._t.send(oc.cpo_templates())

    async def create(self, body: models.CpoCreate) -> models.CpoCreated:
        """202 at once, with Token A; provisioning goes on (`wait_ready`)."""
        return await self._t.send(oc.create_cpo(body))

    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> models.CpoPage:
        return await self._t.send(oc.list_cpos(limit, cursor))

    async def get(self, cpo_id: str) -> models.CpoView:
        return await self._t.send(oc.get_cpo(cpo_id))

    async def status(self, cpo_id: str) -> models.CpoStatusView:
        return await self._t.send(oc.cpo_status(cpo_id))

    async def wait_ready(
        self,
        cpo_id: str,
        timeout: float = DEFAULT_CPO_TIMEOUT,
        *,
        interval: float = DEFAULT_POLL_SECONDS * 4,
    ) -> models.CpoStatusView:
        """Polls the status until READY; CpoFailed if provisioning ends otherwise."""
        return await await_cpo_ready(self._t, cpo_id, timeout, interval)

    async def report(self, cpo_id: str) -> models.CpoReport:
        return await self._t.send(oc.cpo_report(cpo_id))

    async def traffic(self, cpo_id: str, *, limit: int | None = None) -> models.CpoTraffic:
        return await self._t.send(oc.cpo_traffic(cpo_id, limit))

    async def findings(
        self,
        cpo_id: str,
        *,
        rule: str | None = None,
        severity: Severity | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.FindingsWithCounts:
        return await self._t.send(oc.cpo_findings(cpo_id, rule, severity, limit, cursor))

    async def delete(self, cpo_id: str) -> models.CpoDeletion:
        return await self._t.send(oc.delete_cpo(cpo_id))


class Scenarios:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def library(self) -> models.ScenarioLibrary:
        return await self._t.send(oc.scenario_library())

    async def get(self, name: str) -> models.ScenarioSource:
        return await self._t.send(oc.scenario(name))

    async def start_run(self, body: models.RunCreate) -> models.RunAccepted:
        return await self._t.send(oc.start_run(body))

    async def runs(self, *, limit: int | None = None) -> models.RunList:
        return await self._t.send(oc.list_runs(limit))

    async def run(self, run_id: str) -> models.RunView:
        return await self._t.send(oc.get_run(run_id))

    async def wait(
        self, run_id: str, timeout: float = 300.0, *, interval: float = 0.2
    ) -> models.RunView:
        """Polls the run until it is finished; its `verdict` says how it went."""
        return await await_run(self._t, run_id, timeout, interval)

    async def junit(self, run_id: str) -> str:
        return await self._t.send(oc.run_junit(run_id))

    async def report(self, run_id: str) -> str:
        return await self._t.send(oc.run_report(run_id))


class Replays:
    """Captured OCPP-J sessions played as the station against a CSMS (docs/replay.md)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def start(self, body: models.ReplayCreate) -> models.ReplayView:
        return await self._t.send(oc.start_replay(body))

    async def list(self, *, limit: int | None = None) -> models.ReplayList:
        return await self._t.send(oc.list_replays(limit))

    async def get(self, run_id: str) -> models.ReplayView:
        return await self._t.send(oc.get_replay(run_id))

    async def wait(
        self, run_id: str, timeout: float = 300.0, *, interval: float = 0.2
    ) -> models.ReplayView:
        """Polls the run until it is no longer running: passed, diverged or error."""
        return await await_replay(self._t, run_id, timeout, interval)


class AsyncClient:
    """The Gateway API for asyncio::

        async with AsyncClient("http://127.0.0.1:8000", api_key) as client:
            charger = await client.chargers.create(ChargerCreate(identity="CP-1", csms_url=url))
            batch = await client.commands.start_session(charger.charger_id, StartSessionEvent(
                id_tag="TAG-1", connector_id=1, target_energy_kwh=5))
            await batch.wait(check=True)

    Errors are `voltlab.client.errors` classes (NotFound, ValidationFailed, ...)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers=auth_headers(api_key),
            timeout=timeout,
            transport=transport,
        )
        sender = AsyncTransport(self.http)
        self._t = sender
        self.locations = Locations(sender)
        self.chargers = Chargers(sender)
        self.commands = Commands(sender)
        self.cpos = Cpos(sender)
        self.scenarios = Scenarios(sender)
        self.replays = Replays(sender)

    async def health(self) -> models.HealthView:
        """No key needed; `status` is "starting" (503) until the server accepts work."""
        return await self._t.send(fc.health())

    async def me(self) -> models.MeView:
        return await self._t.send(fc.me())

    async def charger_models(self) -> list[models.ChargerModelView]:
        """The charger catalog (`GET /ocpp/models`)."""
        return await self._t.send(fc.charger_models())

    async def fleet_summary(self, *, location_id: str | None = None) -> models.FleetSummary:
        return await self._t.send(fc.fleet_summary(location_id))

    async def metrics(self) -> str:
        """`GET /metrics`: this process's Prometheus metrics (admin keys; docs/observability.md)."""
        return await self._t.send(fc.metrics())

    async def cluster(self) -> models.ClusterView:
        return await self._t.send(fc.cluster())

    @asynccontextmanager
    async def events(
        self, topics: Iterable[str], *, read_timeout: float | None = None
    ) -> AsyncIterator[AsyncIterator[LiveMessage]]:
        """The live channel: `async with client.events(["fleet"]) as stream: async for m in
        stream: ...`. It is entered once the server subscribed, so whatever happens after that is
        in the stream. The stream ends when the block is left; `read_timeout` bounds each wait
        for data (the server sends a keep-alive every 15 s)."""
        params = {"topics": topics_param(topics)}
        timeout = httpx.Timeout(self.http.timeout.connect, read=read_timeout)
        async with self.http.stream("GET", "/events", params=params, timeout=timeout) as response:
            if response.status_code >= 400:
                await response.aread()
                raise_for_error(response)
            lines = response.aiter_lines()
            # The server's first line (": subscribed") says its subscription is in place.
            await anext(lines, None)
            yield aparse(lines)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
