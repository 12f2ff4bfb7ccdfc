"""`voltlab serve` as a child process for a test session: a free loopback port, a temporary
SQLite database, an admin key. One server per time scale, since the simulated clock is one per
process (VOLTLAB_TIME_SCALE, voltlab/clock.py): a test marked with another scale gets its own
server, started on first use and kept for the rest of the session."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from voltlab.client import Client
from voltlab.clock import monotonic

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
# Another process may take the free port between choosing it and the server's bind.
PORT_ATTEMPTS = 3


class ServerFailed(RuntimeError):
    """The server did not start, or exited; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LabServer:
    """A running `voltlab serve`: `url`, `api_key` (admin of org `default`), `time_scale`,
    `client` (a `voltlab.client.Client` with that key), `log_path`."""

    def __init__(self, time_scale: float, workdir: Path) -> None:
        self.time_scale = time_scale
        self.workdir = workdir
        self.api_key = "vl_pytest_" + secrets.token_hex(16)
        self.port = 0
        self.url = ""
        self.log_path = workdir / "serve.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, self.api_key)
        return self._client

    @property
    def csms_url(self) -> str:
        """The server's own CSMS WebSocket endpoint is per virtual CPO; this is its base."""
        return f"ws://127.0.0.1:{self.port}/csms"

    def start(self) -> None:
        for _ in range(PORT_ATTEMPTS):
            self._spawn(free_port())
            if self._wait_healthy():
                return
            if b"address already in use" not in self._log_bytes():
                break
        raise ServerFailed("voltlab serve did not start:\n" + self.log_tail())

    def _spawn(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.update(
            VOLTLAB_DATABASE_URL=f"sqlite:///{self.workdir / 'voltlab.db'}",
            VOLTLAB_API_KEY=self.api_key,
            VOLTLAB_TIME_SCALE=repr(self.time_scale),
            VOLTLAB_PUBLIC_URL=self.url,
        )
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "voltlab", "serve", "--host", "127.0.0.1"]
                + ["--port", str(port)],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def _wait_healthy(self) -> bool:
        deadline = monotonic() + START_TIMEOUT
        with httpx.Client(timeout=2.0) as http:
            while monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    return False
                try:
                    if http.get(self.url + "/health").status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        return False

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """SIGTERM, as an operator stops it (the chargers close their connections), then
        SIGKILL after STOP_TIMEOUT seconds."""
        if self._client is not None:
            self._client.close()
            self._client = None
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def _log_bytes(self) -> bytes:
        return self.log_path.read_bytes() if self.log_path.exists() else b""

    def log_tail(self, chars: int = 4000) -> str:
        return self._log_bytes()[-chars:].decode(errors="replace")


class ServerPool:
    """The session's servers, one per time scale, started on first use."""

    def __init__(self, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="voltlab-"))
        self._servers: dict[float, LabServer] = {}

    def get(self, time_scale: float) -> LabServer:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be above 0, got {time_scale!r}")
        server = self._servers.get(time_scale)
        if server is not None and server.running():
            return server
        workdir = self.root / f"scale-{time_scale:g}"
        workdir.mkdir(parents=True, exist_ok=True)
        server = LabServer(time_scale, workdir)
        server.start()
        self._servers[time_scale] = server
        return server

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
