"""The CLI's client commands against a live server: `voltlab serve` as a child process (real
uvicorn on a loopback port, the real fleet, time scale 100) and the strict ocpp-rpc CSMS on a
thread of its own, so the tests stay synchronous: typer's CliRunner runs each command in the
test's thread, as a user's shell would, while the server and the peer run elsewhere.

One server and one peer for the folder: its modules mark themselves `xdist_group("cli")`, so
pytest-xdist keeps them on one worker (and they start one server, not one per worker)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from e2e.serve_support import API_KEY, ServeProcess, free_port
from voltlab.cli import app
from web.browser_support import ThreadedCsms


@dataclass
class LiveServer:
    url: str
    key: str
    process: ServeProcess

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=10
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        with self.http() as http:
            return http.get(path, params=params)

    def env(self) -> dict[str, str]:
        """What a user exports before using the CLI (and a wide table for the assertions)."""
        return {"VOLTLAB_URL": self.url, "VOLTLAB_KEY": self.key, "COLUMNS": "250"}


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    process = ServeProcess(tmp_path_factory.mktemp("cli-serve"), free_port())
    process.start()
    try:
        asyncio.run(process.wait_healthy())
        yield LiveServer(process.base, API_KEY, process)
    finally:
        process.stop()


@pytest.fixture(scope="package")
def csms() -> Iterator[ThreadedCsms]:
    peer = ThreadedCsms(protocols=("ocpp1.6", "ocpp2.0.1"))
    peer.start()
    yield peer
    failures = list(peer.peer.strict_failures)
    peer.stop()
    assert failures == [], failures


@pytest.fixture
def voltlab(server: LiveServer):
    """`voltlab ARGS...` through typer's runner with the server's URL and key in the
    environment; returns the result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(app, list(args), env=server.env() | (env or {}))
        # Only typer.Exit / SystemExit: a traceback is a defect whatever the exit status.
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.output, result.output
        return result

    return invoke


# The worktree's sources, for a `python -m voltlab` child process.
SRC = Path(__file__).resolve().parents[2] / "src"
