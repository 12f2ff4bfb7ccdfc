"""A CSMS nobody on the project wrote, for the scenarios' third-party run: PyPI `ocpp-csms`, an
asyncio OCPP 1.6J central system, in a virtualenv of its own (its `ocpp` and `aiohttp` pins are
its own business), run as a subprocess on a free loopback port and stopped by its PID.

It answers what stations send (BootNotification Accepted, Authorize, transactions, meter
values, statuses) and starts nothing on its own, so the library scenarios that wait for a
CSMS-initiated operation fail at that step against it, as they should::

    async with ThirdPartyCsms() as csms:
        csms.url  # ws://127.0.0.1:PORT/ocpp
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from pathlib import Path

from . import peer_venv

PEER_DIR = Path(__file__).resolve().parent / "ocpp_csms"
START_TIMEOUT = 30.0  # real seconds for the server to say it listens


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThirdPartyCsms:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ocpp"
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ThirdPartyCsms:
        python = await asyncio.to_thread(peer_venv.ensure_peer_venv, PEER_DIR, "import ocpp_csms")
        server = python.parent / "ocpp-csms"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self._process = await asyncio.create_subprocess_exec(
            str(server),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        assert self._process.stdout is not None
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while b"listening" not in await self._process.stdout.readline():
                    if self._process.returncode is not None:
                        raise RuntimeError("ocpp-csms exited before it listened")
        except BaseException:
            await self._stop()
            raise
        self._drain = asyncio.create_task(self._read_rest())
        return self

    async def _read_rest(self) -> None:
        # Keep reading what it prints (an event per line) so that its pipe never fills up.
        assert self._process is not None and self._process.stdout is not None
        while await self._process.stdout.readline():
            pass

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()

    async def _stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
