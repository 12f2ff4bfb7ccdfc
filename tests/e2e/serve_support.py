"""`voltlab serve` as a child process for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

# Seconds `voltlab serve` may take to exit after SIGTERM (its own grace for work in flight is
# 3 s; the rest is headroom for a loaded machine).
STOP_TIMEOUT = 15.0

API_KEY = "vl_test_" + "k" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """`emsp_misbehaves`: the test's eMSP breaks OCPI rules on purpose. Otherwise `stop()`
    also requires that the server recorded no finding of severity error or warning about an
    eMSP (no false positives against the extrawest-ocpi peers), except of the rules in
    `emsp_breaks` (a test's own hand-written OCPI request that breaks one knowingly)."""

    def __init__(
        self,
        workdir: Path,
        port: int,
        *,
        emsp_misbehaves: bool = False,
        emsp_breaks: tuple[str, ...] = (),
        **env: str,
    ) -> None:
        self.emsp_misbehaves = emsp_misbehaves
        self.emsp_breaks = emsp_breaks
        self.extra_env = env
        self.workdir = workdir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.extra_args: tuple[str, ...] = ()  # after `serve --host --port`, e.g. `--role`
        self._starts = 0

    def start(self) -> None:
        self._starts += 1
        self._log_offset = self._log_size()
        env = dict(os.environ)
        env.update(
            VOLTLAB_DATABASE_URL=f"sqlite:///{self.workdir / 'voltlab.db'}",
            VOLTLAB_API_KEY=API_KEY,
            VOLTLAB_TIME_SCALE="100",
            VOLTLAB_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
        )
        env.update(self.extra_env)
        self.log = open(self.workdir / "serve.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voltlab",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.extra_args,
            ],
            cwd=self.workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def _log_size(self) -> int:
        path = self.workdir / "serve.log"
        return path.stat().st_size if path.exists() else 0

    def _lost_port_race(self) -> bool:
        """The first start exited because another process took the free port between
        `free_port()` and the bind (seen with the suite's parallel servers): nothing used
        the port yet, so another one may be taken."""
        if self._starts != 1 or self.proc is None or self.proc.poll() is None:
            return False
        with open(self.workdir / "serve.log", "rb") as log:
            log.seek(self._log_offset)
            return b"address already in use" in log.read()

    async def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                for _ in range(3):  # bounded: three new ports at the most
                    if not self._lost_port_race():
                        break
                    self.log.close()
                    self._starts = 0
                    self.port = free_port()
                    self.base = f"http://127.0.0.1:{self.port}"
                    self.start()
                assert self.proc is not None and self.proc.poll() is None, self.read_log()
                try:
                    if (await http.get(self.base + "/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("voltlab serve did not become healthy:\n" + self.read_log())

    def read_log(self) -> str:
        return (self.workdir / "serve.log").read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()
        self.proc = None

    def stop(self) -> None:
        """SIGTERM, as an operator stops the server: it must exit 0 within `STOP_TIMEOUT`
        seconds (work in flight gets a bounded grace); otherwise it is killed and the test
        fails with its log."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            code = None
        self.log.close()
        self.proc = None
        if code != 0:
            outcome = "was killed" if code is None else f"exited {code}"
            raise AssertionError(
                f"voltlab serve {outcome} after SIGTERM (expected exit 0 within "
                f"{STOP_TIMEOUT:g} s):\n" + self.read_log()
            )
        if not self.emsp_misbehaves:
            found = [
                f for f in self.emsp_findings(("error", "warning")) if f[0] not in self.emsp_breaks
            ]
            assert found == [], f"findings about an eMSP that keeps the rules: {found}"

    def emsp_findings(self, severities: tuple[str, ...] = ("error", "warning", "info")) -> list:
        """(rule, severity, detail, evidence) of every finding about an eMSP, from the
        server's database (readable while it runs: SQLite, WAL or not)."""
        path = self.workdir / "voltlab.db"
        if not path.exists():
            return []
        with sqlite3.connect(path) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if "findings" not in tables:
                return []
            marks = ",".join("?" for _ in severities)
            return db.execute(
                "SELECT rule, severity, detail, evidence FROM findings "
                f"WHERE cpo_id IS NOT NULL AND severity IN ({marks}) ORDER BY at, id",
                severities,
            ).fetchall()


async def wait_ready(http: httpx.AsyncClient, status_url: str, timeout: float = 60.0) -> dict:
    """Poll a virtual CPO's status until READY or FAILED (bounded); returns the last status."""
    deadline = time.monotonic() + timeout
    while True:
        status = (await http.get(status_url)).json()
        if status["status"] in ("READY", "FAILED"):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"CPO not READY: {status}")
        await asyncio.sleep(0.2)
