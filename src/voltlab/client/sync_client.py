"""`Client`: the Gateway API over httpx, blocking."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType

import httpx

from voltlab.client import fleet_calls as fc
from voltlab.client import models
from voltlab.client import ops_calls as oc
from voltlab.client.command_methods import CommandMethods
from voltlab.client.errors import raise_for_error
from voltlab.client.events import LiveMessage, parse, topics_param
from voltlab.client.fleet_calls import Severity
from voltlab.client.ops_calls import Target
from voltlab.client.transport import DEFAULT_TIMEOUT, SyncTransport, auth_headers
from voltlab.client.waiting import (
    DEFAULT_CPO_TIMEOUT,
    DEFAULT_POLL_SECONDS,
    CommandBatch,
    batch,
    wait_cpo_ready,
    wait_replay,
    wait_run,
)


class Locations:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: models.LocationCreate) -> models.LocationDetail:
        return self._t.send(fc.create_location(body))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> models.LocationPage:
        return self._t.send(fc.list_locations(limit, cursor))

    def iterate(self, *, limit: int | None = None) -> Iterator[models.LocationView]:
        """Every location, page after page."""
        cursor: str | None = None
        while True:
            page = self.list(limit=limit, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get(self, location_id: str) -> models.LocationDetail:
        return self._t.send(fc.get_location(location_id))

    def delete(self, location_id: str) -> None:
        self._t.send(fc.delete_location(location_id))

    def findings(
        self,
        location_id: str,
        *,
        rule: str | None = None,
        severity: Severity | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.FindingsWithCounts:
        return self._t.send(fc.location_findings(location_id, rule, severity, limit, cursor))


class Chargers:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: models.ChargerCreate) -> models.ChargerView:
        return self._t.send(fc.create_charger(body))

    def list(
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
        return self._t.send(call)

    def iterate(
        self, *, location_id: str | None = None, limit: int | None = None
    ) -> Iterator[models.ChargerView]:
        cursor: str | None = None
        while True:
            page = self.list(location_id=location_id, limit=limit, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get(self, charger_id: str) -> models.ChargerView:
        return self._t.send(fc.get_charger(charger_id))

    def start(self, charger_id: str) -> models.ChargerView:
        return self._t.send(fc.start_charger(charger_id))

    def stop(self, charger_id: str) -> models.ChargerView:
        return self._t.send(fc.stop_charger(charger_id))

    def delete(self, charger_id: str) -> None:
        self._t.send(fc.delete_charger(charger_id))

    def configuration(self, charger_id: str) -> models.ChargerConfigurationView:
        return self._t.send(fc.configuration(charger_id))

    def meter_series(
        self, charger_id: str, *, connector_id: int | None = None
    ) -> models.MeterSeries:
        return self._t.send(fc.meter_series(charger_id, connector_id))

    def messages(
        self, charger_id: str, *, limit: int | None = None, before: int | None = None
    ) -> models.FramePage:
        """The frame log, newest first."""
        return self._t.send(fc.messages(charger_id, limit, before))

    def messages_jsonl(self, charger_id: str, *, limit: int | None = None) -> str:
        """The frame log as a capture to replay (JSON lines, oldest first)."""
        return self._t.send(fc.messages_jsonl(charger_id, limit))

    def findings(
        self,
        charger_id: str,
        *,
        rule: str | None = None,
        severity: Severity | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.ChargerFindings:
        return self._t.send(fc.charger_findings(charger_id, rule, severity, limit, cursor))


class Commands(CommandMethods[CommandBatch]):
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def send(
        self, slug: str, target: Target, event: models.EventModel | None = None
    ) -> CommandBatch:
        return batch(self._t.send(oc.command(slug, target, event)), self._t)

    def list(
        self,
        *,
        charger_id: str | None = None,
        location_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.CommandPage:
        return self._t.send(oc.list_commands(charger_id, location_id, limit, cursor))

    def get(self, command_id: str) -> models.CommandView:
        return self._t.send(oc.get_command(command_id))


class Cpos:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def templates(self) -> builtins.list[models.CpoTemplate]:
        return self._t.send(oc.cpo_templates())

    def create(self, body: models.CpoCreate) -> models.CpoCreated:
        """202 at once, with Token A; provisioning goes on (`wait_ready`)."""
        return self._t.send(oc.create_cpo(body))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> models.CpoPage:
        return self._t.send(oc.list_cpos(limit, cursor))

    def get(self, cpo_id: str) -> models.CpoView:
        return self._t.send(oc.get_cpo(cpo_id))

    def status(self, cpo_id: str) -> models.CpoStatusView:
        return self._t.send(oc.cpo_status(cpo_id))

    def wait_ready(
        self,
        cpo_id: str,
        timeout: float = DEFAULT_CPO_TIMEOUT,
        *,
        interval: float = DEFAULT_POLL_SECONDS * 4,
    ) -> models.CpoStatusView:
        """Polls the status until READY; CpoFailed if provisioning ends otherwise."""
        return wait_cpo_ready(self._t, cpo_id, timeout, interval)

    def report(self, cpo_id: str) -> models.CpoReport:
        return self._t.send(oc.cpo_report(cpo_id))

    def traffic(self, cpo_id: str, *, limit: int | None = None) -> models.CpoTraffic:
        return self._t.send(oc.cpo_traffic(cpo_id, limit))

    def findings(
        self,
        cpo_id: str,
        *,
        rule: str | None = None,
        severity: Severity | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.FindingsWithCounts:
        return self._t.send(oc.cpo_findings(cpo_id, rule, severity, limit, cursor))

    def delete(self, cpo_id: str) -> models.CpoDeletion:
        return self._t.send(oc.delete_cpo(cpo_id))


class Scenarios:
    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def library(self) -> models.ScenarioLibrary:
        return self._t.send(oc.scenario_library())

    def get(self, name: str) -> models.ScenarioSource:
        return self._t.send(oc.scenario(name))

    def start_run(self, body: models.RunCreate) -> models.RunAccepted:
        return self._t.send(oc.start_run(body))

    def runs(self, *, limit: int | None = None) -> models.RunList:
        return self._t.send(oc.list_runs(limit))

    def run(self, run_id: str) -> models.RunView:
        return self._t.send(oc.get_run(run_id))

    def wait(self, run_id: str, timeout: float = 300.0, *, interval: float = 0.2) -> models.RunView:
        """Polls the run until it is finished; its `verdict` says how it went."""
        return wait_run(self._t, run_id, timeout, interval)

    def junit(self, run_id: str) -> str:
        return self._t.send(oc.run_junit(run_id))

    def report(self, run_id: str) -> str:
        return self._t.send(oc.run_report(run_id))


class Replays:
    """Captured OCPP-J sessions played as the station against a CSMS (docs/replay.md)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def start(self, body: models.ReplayCreate) -> models.ReplayView:
        return self._t.send(oc.start_replay(body))

    def list(self, *, limit: int | None = None) -> models.ReplayList:
        return self._t.send(oc.list_replays(limit))

    def get(self, run_id: str) -> models.ReplayView:
        return self._t.send(oc.get_replay(run_id))

    def wait(
        self, run_id: str, timeout: float = 300.0, *, interval: float = 0.2
    ) -> models.ReplayView:
        """Polls the run until it is no longer running: passed, diverged or error."""
        return wait_replay(self._t, run_id, timeout, interval)


class Client:
    """The Gateway API, blocking::

        with Client("http://127.0.0.1:8000", api_key) as client:
            charger = client.chargers.create(ChargerCreate(identity="CP-1", csms_url=url))
            client.commands.start_session(charger.charger_id, StartSessionEvent(
                id_tag="TAG-1", connector_id=1, target_energy_kwh=5)).wait(check=True)

    Errors are `voltlab.client.errors` classes (NotFound, ValidationFailed, ...)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers=auth_headers(api_key),
            timeout=timeout,
            transport=transport,
        )
        sender = SyncTransport(self.http)
        self._t = sender
        self.locations = Locations(sender)
        self.chargers = Chargers(sender)
        self.commands = Commands(sender)
        self.cpos = Cpos(sender)
        self.scenarios = Scenarios(sender)
        self.replays = Replays(sender)

    def health(self) -> models.HealthView:
        """No key needed; `status` is "starting" (503) until the server accepts work."""
        return self._t.send(fc.health())

    def me(self) -> models.MeView:
        return self._t.send(fc.me())

    def charger_models(self) -> list[models.ChargerModelView]:
        """The charger catalog (`GET /ocpp/models`)."""
        return self._t.send(fc.charger_models())

    def fleet_summary(self, *, location_id: str | None = None) -> models.FleetSummary:
        return self._t.send(fc.fleet_summary(location_id))

    def metrics(self) -> str:
        """`GET /metrics`: this process's Prometheus metrics (admin keys; docs/observability.md)."""
        return self._t.send(fc.metrics())

    def cluster(self) -> models.ClusterView:
        return self._t.send(fc.cluster())

    @contextmanager
    def events(
        self, topics: Iterable[str], *, read_timeout: float | None = None
    ) -> Iterator[Iterator[LiveMessage]]:
        """The live channel: `with client.events(["fleet"]) as stream: for m in stream: ...`.
        It is entered once the server subscribed, so whatever happens after that is in the
        stream. The stream ends when the block is left; `read_timeout` bounds each wait for data
        (the server sends a keep-alive every 15 s)."""
        params = {"topics": topics_param(topics)}
        timeout = httpx.Timeout(self.http.timeout.connect, read=read_timeout)
        with self.http.stream("GET", "/events", params=params, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise_for_error(response)
            lines = response.iter_lines()
            # The server's first line (": subscribed") says its subscription is in place:
            # from here on nothing is missed.
            next(lines, None)
            yield parse(lines)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
