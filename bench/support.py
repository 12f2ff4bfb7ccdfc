"""What the benchmarks share: a `voltlab serve` process of their own (SQLite in a temporary
directory, loopback only), its CPU and memory read from /proc, the quiet ocpp-rpc peer, and
bounded waits. Every loop here is bounded in count and time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from e2e.cluster_support import fresh_database  # noqa: E402
from peers.ocpp_rpc_peer import OcppRpcPeer  # noqa: E402

API_KEY = "vl_bench_" + "b" * 32
PER_LOCATION = 1000  # the API's cap on chargers per location
DEADLINE = 600.0  # seconds any one phase may take
POLL = 0.1  # seconds between two looks at a counter

__all__ = [
    "DEADLINE",
    "OcppRpcPeer",
    "VoltlabServer",
    "cpu_seconds",
    "create_fleet",
    "fresh_database",
    "free_port",
    "machine",
    "rss_kib",
    "wait_until",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    return _stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


def _stat_cpu_seconds(stat: Path) -> float:
    """utime + stime of a /proc/.../stat file (a process or one of its threads)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> tuple[float, float]:
    """(main thread, all other threads) CPU seconds of a process: the event loop versus the
    database writers and library threads."""
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            used = _stat_cpu_seconds(task / "stat")
        except OSError:
            continue  # the thread ended meanwhile
        if task.name == str(pid):
            main += used
        else:
            others += used
    return main, others


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


async def wait_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = DEADLINE
) -> float:
    """Poll `check` until it is true; returns the perf_counter() when it was seen true."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        await asyncio.sleep(POLL)
    return time.perf_counter()


def _profiled() -> list[str]:
    """BENCH_CPROFILE=FILE: run the server under cProfile (exact call counts, slower)."""
    target = os.environ.get("BENCH_CPROFILE")
    return ["-m", "cProfile", "-o", target] if target else []


class VoltlabServer:
    """`python -m voltlab serve` on a free loopback port, with an API client; on a SQLite file of
    its own, or on `database_url` (several processes on one PostgreSQL: bench/cluster.py).

    With BENCH_PROFILE=FILE in the environment, py-spy samples the server from the moment it
    answers until the benchmark ends and writes collapsed stacks (flamegraph input) to FILE."""

    def __init__(self, database_url: str | None = None, **env: str) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="voltlab-bench-"))
        self.env = dict(
            os.environ,
            VOLTLAB_DATABASE_URL=database_url or f"sqlite:///{self.workdir / 'voltlab.db'}",
            VOLTLAB_API_KEY=API_KEY,
            VOLTLAB_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
            **env,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.http: httpx.AsyncClient | None = None
        self.profiler: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aenter__(self) -> VoltlabServer:
        self._log = open(self.workdir / "serve.log", "wb")  # noqa: SIM115 - closed in __aexit__
        self.proc = subprocess.Popen(
            [sys.executable, *_profiled(), "-m", "voltlab", "serve", "--port", str(self.port)],
            cwd=self.workdir,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}",
            timeout=120,
            headers={"Authorization": f"Bearer {API_KEY}"},
        )

        async def healthy() -> bool:
            assert self.http is not None and self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"voltlab serve exited; see {self.workdir / 'serve.log'}")
            try:
                return (await self.http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(healthy, "voltlab serve answering /health", timeout=60)
        profile = os.environ.get("BENCH_PROFILE")
        if profile:
            self.profiler = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(self.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "100",
                    *(["--nonblocking"] if os.environ.get("BENCH_PROFILE_NONBLOCKING") else []),
                    # only the samples of the thread holding the GIL: where the CPU goes
                    *(["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []),
                    "--output",
                    profile,
                ],
                stdout=subprocess.DEVNULL,
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.profiler is not None:
            self.profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            self.profiler.wait(timeout=60)
        if self.http is not None:
            await self.http.aclose()
        if self.proc is not None:
            if os.environ.get("BENCH_CPROFILE"):
                self.proc.send_signal(signal.SIGINT)  # cProfile writes its file on ^C
            else:
                self.proc.terminate()  # this PID only
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.http is not None
        response = await self.http.post(path, json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:500]}")
        return response.json()


async def create_fleet(
    server: VoltlabServer,
    stations: int,
    *,
    csms_url: str,
    model: str = "ac-7kw-1c",
    version: str = "ocpp1.6",
    name: str = "bench",
) -> list[str]:
    """Locations of up to PER_LOCATION chargers each; returns the location ids."""
    location_ids = []
    remaining, index = stations, 0
    while remaining > 0:
        count = min(PER_LOCATION, remaining)
        body = await server.post(
            "/ocpp/locations",
            {
                "name": f"{name}-{index}",
                "csms_url": csms_url,
                "ocpp_version": version,
                "chargers": count,
                "model": model,
                "identity_prefix": f"{name.upper()}{index:02d}-",
            },
        )
        location_ids.append(body["location_id"])
        remaining -= count
        index += 1
    return location_ids


def calls_of(counts: dict[str, Any], method: str) -> int:
    return int(counts.get("calls", {}).get(method, 0))


async def python_child(code: str, *args: str) -> asyncio.subprocess.Process:
    """`python -c CODE ARGS...` in a process of its own (a bare baseline), stdout piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, *args, stdout=asyncio.subprocess.PIPE
    )


async def child_json(proc: asyncio.subprocess.Process, timeout: float = DEADLINE) -> Any:
    """The next stdout line of a child started by python_child, parsed as JSON."""
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    if not line:
        raise RuntimeError(f"child {proc.pid} exited ({await proc.wait()}) without a result")
    return json.loads(line)


async def stop_child(proc: asyncio.subprocess.Process) -> None:
    """Terminate a child started by python_child (this PID only) and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
