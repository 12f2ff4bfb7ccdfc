"""The gateway in-process (real FleetRuntime on a fast clock) with its scenario API, and the
strict ocpp-rpc CSMS as the system under test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer
from peers.test_ca import CertAuthority
from voltlab.api.app import create_app
from voltlab.clock import Clock
from voltlab.fleet.hosting.runtime import FleetRuntime
from voltlab.store import repo
from voltlab.store.db import Database

# Simulated seconds per real second: a scenario's five-minute partition takes five seconds.
SCENARIO_TIME_SCALE = 60.0


class Lab:
    def __init__(self, http: httpx.AsyncClient, peer: OcppRpcPeer) -> None:
        self.http = http
        self.peer = peer

    async def start(
        self,
        scenario: str | dict[str, Any],
        version: str = "ocpp1.6",
        params: dict[str, Any] | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "scenario": scenario,
            "target": {"csms_url": self.peer.url, "ocpp_version": version},
        }
        if params:
            body["params"] = params
        response = await self.http.post("/scenarios/runs", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["run_id"])

    async def finished(self, run_id: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = (await self.http.get(f"/scenarios/runs/{run_id}")).json()
            if run["status"] == "finished":
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} not finished: {run}")
            await asyncio.sleep(0.1)

    async def run(
        self,
        scenario: str | dict[str, Any],
        version: str = "ocpp1.6",
        params: dict[str, Any] | None = None,
    ) -> dict:
        return await self.finished(await self.start(scenario, version, params))


def failed_step(run: dict[str, Any]) -> dict[str, Any]:
    bad = [step for step in run["steps"] if step["status"] in ("failed", "error")]
    assert bad, f"no failed step in {run}"
    return bad[0]


def explain(run: dict[str, Any]) -> str:
    return "\n".join(f"{s['status']:8} {s['name']}: {s['message']}" for s in run["steps"])


@pytest.fixture(scope="session")
def scenario_ca() -> CertAuthority:
    """The CSMS's root: it signs the peer's TLS certificate, the CSMS installs it."""
    return CertAuthority.generate("Scenario CSMS Root CA")


@pytest.fixture
async def peer(scenario_ca: CertAuthority, tmp_path_factory) -> AsyncIterator[OcppRpcPeer]:
    # Plain ws:// (`url`) and, for the security-profile upgrade, wss:// (`tls_url`).
    cert, key = scenario_ca.issue_server().write(tmp_path_factory.mktemp("tls"), "server")
    async with OcppRpcPeer(
        protocols=("ocpp1.6", "ocpp2.0.1"),
        strict=True,
        tls_cert=cert,
        tls_key=key,
        plain_and_tls=True,
    ) as csms:
        yield csms


@pytest.fixture
async def lab(database: Database, peer: OcppRpcPeer, monkeypatch) -> AsyncIterator[Lab]:
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    fleet = FleetRuntime(database, Clock(SCENARIO_TIME_SCALE))
    app = create_app(database, fleet)
    with database.session() as session:
        org = repo.get_or_create_org(session, "scenarios")
        key = repo.add_api_key(session, org.id, "operator")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://voltlab",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as http,
    ):
        yield Lab(http, peer)
