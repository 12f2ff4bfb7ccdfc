"""voltlab's pytest plugin (entry point `pytest11: voltlab`): virtual chargers and virtual CPOs
as fixtures, for a CSMS's or an eMSP's own test suite. docs/pytest-plugin.md shows it at work.

- `voltlab_server` (session): `voltlab serve` on a free loopback port, a temporary SQLite
  database, an admin key; `voltlab_client`: a `voltlab.client.Client` for the test's server.
- `virtual_charger(csms_url=..., ocpp_version="ocpp1.6", model=...)`, `virtual_location(...)`,
  `virtual_cpo(template=..., seed=...)`: factories whose objects are deleted after the test.
- `--voltlab-time-scale` and `@pytest.mark.voltlab(time_scale=60)`: how fast simulated time
  runs. The clock is one per server process, so each scale used gets its own server.
- A failed test's report carries each of its chargers' last frames, findings and state.

Loaded automatically once voltlab is installed; it does nothing until a test asks for one of
its fixtures (`-p no:voltlab` turns it off)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
from _pytest.nodes import Node

from voltlab.client import Client, NotFound, models
from voltlab.pytest_plugin.handles import VirtualCharger, VirtualCpo, VirtualLocation, handle
from voltlab.pytest_plugin.reporting import charger_sections, cpo_sections
from voltlab.pytest_plugin.servers import LabServer, ServerPool

__all__ = ["LabServer", "VirtualCharger", "VirtualCpo", "VirtualLocation"]

DEFAULT_REPORT_FRAMES = 25
# What a test created, for the failure report (set by the factories, read by makereport).
_CREATED = pytest.StashKey[list[VirtualCharger | VirtualCpo]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("voltlab", "voltlab virtual chargers and CPOs")
    group.addoption(
        "--voltlab-time-scale",
        type=float,
        default=None,
        help="simulated seconds per real second for the lab server (default: "
        "VOLTLAB_TIME_SCALE, else 1); @pytest.mark.voltlab(time_scale=...) overrides it per test",
    )
    group.addoption(
        "--voltlab-report-frames",
        type=int,
        default=DEFAULT_REPORT_FRAMES,
        help="how many of a charger's last frames a failed test's report shows",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "voltlab(time_scale=N): run this test's virtual chargers and CPOs on a lab server whose "
        "simulated clock runs N times the wall clock",
    )


def session_time_scale(config: pytest.Config) -> float:
    option: float | None = config.getoption("voltlab_time_scale")
    if option is not None:
        return option
    return float(os.environ.get("VOLTLAB_TIME_SCALE") or 1.0)


def test_time_scale(node: Node) -> float:
    marker = node.get_closest_marker("voltlab")
    if marker is not None and "time_scale" in marker.kwargs:
        return float(marker.kwargs["time_scale"])
    return session_time_scale(node.config)


test_time_scale.__test__ = False  # type: ignore[attr-defined]  # not a test despite its name


@pytest.fixture(scope="session")
def voltlab_servers() -> Iterator[ServerPool]:
    """The session's lab servers, one per time scale, stopped at the end of the session."""
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def voltlab_server(voltlab_servers: ServerPool, pytestconfig: pytest.Config) -> LabServer:
    """The lab server at the session's time scale (`--voltlab-time-scale`)."""
    return voltlab_servers.get(session_time_scale(pytestconfig))


@pytest.fixture
def voltlab_test_server(voltlab_servers: ServerPool, request: pytest.FixtureRequest) -> LabServer:
    """The lab server at this test's time scale (its `voltlab` marker, else the session's)."""
    return voltlab_servers.get(test_time_scale(request.node))


@pytest.fixture
def voltlab_client(voltlab_test_server: LabServer) -> Client:
    """A `voltlab.client.Client` with the admin key of this test's lab server."""
    return voltlab_test_server.client


def _created(node: Node) -> list[VirtualCharger | VirtualCpo]:
    created: list[VirtualCharger | VirtualCpo] = node.stash.setdefault(_CREATED, [])
    return created


def _identity_prefix(node: Node) -> str:
    """Readable in the CSMS's logs: the test's name, then a random part."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", node.name).strip("-").upper()[:24] or "VL"
    return f"{name}-{secrets.token_hex(3).upper()}"


def _forget(delete: Callable[[str], object], ident: str) -> None:
    """Teardown: the test may have deleted it itself."""
    with contextlib.suppress(NotFound):
        delete(ident)


@pytest.fixture
def virtual_charger(
    voltlab_client: Client, request: pytest.FixtureRequest
) -> Generator[Callable[..., VirtualCharger]]:
    """`virtual_charger(csms_url=..., ocpp_version="ocpp1.6", model="ac-22kw-2c",
    identity=None, security=None, connect=True)`: a virtual charger connecting to your CSMS at
    `csms_url` + "/" + identity; deleted after the test."""
    made: list[VirtualCharger] = []

    def make(
        csms_url: str,
        ocpp_version: str = "ocpp1.6",
        model: str | None = None,
        *,
        identity: str | None = None,
        security: models.SecurityIn | dict[str, Any] | None = None,
        connect: bool = True,
    ) -> VirtualCharger:
        body = models.ChargerCreate.model_validate(
            {
                "identity": identity or _identity_prefix(request.node),
                "csms_url": csms_url,
                "ocpp_version": ocpp_version,
                "auto_start": connect,
                **({"model": model} if model is not None else {}),
                **({"security": security} if security is not None else {}),
            }
        )
        charger = handle(voltlab_client, voltlab_client.chargers.create(body))
        made.append(charger)
        _created(request.node).append(charger)
        return charger

    yield make
    for charger in made:
        _forget(voltlab_client.chargers.delete, charger.id)


@pytest.fixture
def virtual_location(
    voltlab_client: Client, request: pytest.FixtureRequest
) -> Generator[Callable[..., VirtualLocation]]:
    """`virtual_location(csms_url=..., chargers=2, ocpp_version="ocpp1.6", model=...,
    name=None, connect=True)`: a location of identical chargers; deleted after the test."""
    made: list[VirtualLocation] = []

    def make(
        csms_url: str,
        chargers: int = 1,
        ocpp_version: str = "ocpp1.6",
        model: str | None = None,
        *,
        name: str | None = None,
        connect: bool = True,
    ) -> VirtualLocation:
        prefix = _identity_prefix(request.node)
        body = models.LocationCreate.model_validate(
            {
                "name": name or prefix.lower(),
                "csms_url": csms_url,
                "ocpp_version": ocpp_version,
                "chargers": chargers,
                "identity_prefix": prefix + "-",
                "auto_start": connect,
                **({"model": model} if model is not None else {}),
            }
        )
        detail = voltlab_client.locations.create(body)
        handles = [handle(voltlab_client, view) for view in detail.chargers]
        location = VirtualLocation(voltlab_client, detail.location_id, detail.name, handles)
        made.append(location)
        _created(request.node).extend(handles)
        return location

    yield make
    for location in made:
        _forget(voltlab_client.locations.delete, location.id)


@pytest.fixture
def virtual_cpo(
    voltlab_client: Client, request: pytest.FixtureRequest
) -> Generator[Callable[..., VirtualCpo]]:
    """`virtual_cpo(template="small-urban-ac", seed=None, ocpi_version="2.2.1",
    country_code="NL", party_id=None, overrides=None, wait_ready=True)`: a virtual CPO whose
    `token_a` and `versions_url` your eMSP registers with; deleted after the test."""
    made: list[VirtualCpo] = []

    def make(
        template: str = "small-urban-ac",
        seed: int | None = None,
        *,
        ocpi_version: str = "2.2.1",
        country_code: str = "NL",
        party_id: str | None = None,
        overrides: dict[str, int | None] | None = None,
        wait_ready: bool = True,
    ) -> VirtualCpo:
        body = models.CpoCreate.model_validate(
            {
                "template": template,
                "country_code": country_code,
                "party_id": party_id or secrets.token_hex(2)[:3].upper(),
                "name_prefix": _identity_prefix(request.node)[-12:],
                "ocpi_version": ocpi_version,
                "seed": seed,
                "overrides": overrides,
            }
        )
        cpo = VirtualCpo(voltlab_client, voltlab_client.cpos.create(body))
        made.append(cpo)
        _created(request.node).append(cpo)
        if wait_ready:
            cpo.wait_ready()
        return cpo

    yield make
    for cpo in made:
        _forget(voltlab_client.cpos.delete, cpo.id)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """A failed test's report gets, for each charger and CPO it made, sections with the
    charger's last frames, its findings and its state (the CPO's findings and status)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    created = item.stash.get(_CREATED, [])
    if not (report.failed and report.when == "call" and created):
        return
    frame_count = int(item.config.getoption("voltlab_report_frames"))
    for thing in created:
        if isinstance(thing, VirtualCharger):
            report.sections.extend(charger_sections(thing, frame_count))
        else:
            report.sections.extend(cpo_sections(thing))
