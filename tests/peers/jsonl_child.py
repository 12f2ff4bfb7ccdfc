"""The plumbing both test peers share: a child process that prints JSON lines (events, and
replies carrying `reply_to`) and logs to stderr."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class JsonLinesChild:
    peer_name: str  # for the message when the child dies
    peer_error: type[Exception]  # raised into callers still waiting for a reply
    _proc: asyncio.subprocess.Process | None
    _pending: dict[Any, asyncio.Future[dict]]
    _changed: asyncio.Condition | None
    _stderr: list[str]
    _dead: str | None
    events: list[dict]

    async def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        assert self._changed is not None
        stdout = self._proc.stdout
        try:
            while True:
                line = await stdout.readline()
                if not line:
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = {"event": "unparsed_output", "line": line.decode(errors="replace")}
                if "reply_to" in msg:
                    fut = self._pending.pop(msg["reply_to"], None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    continue
                self.events.append(msg)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            if self._proc.returncode is None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._proc.wait(), 2.0)
            self._dead = (
                f"{self.peer_name} exited (code {self._proc.returncode}); stderr:\n"
                + "".join(self._stderr)[-4000:]
            )
            self._fail_pending(self._dead)
            async with self._changed:
                self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while True:
            line = await self._proc.stderr.readline()
            if not line:
                return
            self._stderr.append(line.decode(errors="replace"))

    def _fail_pending(self, reason: str) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(self.peer_error(reason))
        self._pending.clear()
