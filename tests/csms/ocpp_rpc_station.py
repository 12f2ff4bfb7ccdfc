"""An OCPP 2.0.1 station our code did not write: `ocpp-rpc` (Node, strict mode) run as a
subprocess by ``ocpp_rpc_station.js`` next to this file, driven over JSON lines::

    async with OcppRpcStation(url, "CS-1") as station:
        result = await station.call("BootNotification", {...})
        assert not station.strict_failures

Strict mode validates the station's own calls, the CSMS's answers and the CSMS's requests
against the OCA schemas bundled with ocpp-rpc, not the ones voltlab validates with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "ocpp_rpc_station.js"


class StationCallFailed(RuntimeError):
    pass


class OcppRpcStation:
    def __init__(
        self, url: str, identity: str, protocol: str = "ocpp2.0.1", password: str | None = None
    ) -> None:
        # ocpp-rpc appends the identity to the endpoint itself; with a password it sends
        # HTTP Basic credentials (OCPP security profile 1).
        self.args = [shutil.which("node") or "node", str(SCRIPT), url, identity, protocol]
        if password is not None:
            self.args.append(password)
        self.events: list[dict[str, Any]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 1
        self._connected = asyncio.Event()

    @property
    def strict_failures(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") in ("strict_failure", "fatal")]

    def calls(self, method: str) -> list[dict[str, Any]]:
        return [
            e["params"] for e in self.events if e.get("event") == "call" and e["method"] == method
        ]

    async def __aenter__(self) -> OcppRpcStation:
        from peers.ocpp_rpc_peer import ensure_node_modules  # installs ocpp-rpc when missing

        await asyncio.to_thread(ensure_node_modules)
        self._proc = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._connected.wait(), 15)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the script closes its connection and exits
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()  # this PID only
            await proc.wait()
        if self._reader is not None:
            await self._reader

    async def call(self, method: str, params: dict[str, Any], timeout: float = 15) -> Any:
        assert self._proc is not None and self._proc.stdin is not None
        command_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        line = json.dumps({"id": command_id, "method": method, "params": params}) + "\n"
        self._proc.stdin.write(line.encode())
        await self._proc.stdin.drain()
        reply = await asyncio.wait_for(future, timeout)
        if not reply["ok"]:
            raise StationCallFailed(f"{method}: {reply['error']}")
        return reply["result"]

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            message = json.loads(raw)
            self.events.append(message)
            if message.get("event") in ("connected", "fatal"):
                self._connected.set()
            future = self._pending.pop(message.get("reply_to", -1), None)
            if future is not None and not future.done():
                future.set_result(message)
