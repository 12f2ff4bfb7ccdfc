"""`voltlab logs CHARGER [--follow] [--action X]`: a charger's OCPP frames, coloured by direction.

`--follow` listens on the server's live channel (`GET /events`, topic `charger:{id}`): each
frame arrives as the station sends or receives it, with no polling and no load on the database.
It subscribes first and reads the recent frames (`GET /ocpp/chargers/{id}/messages`, which
flushes the write-behind log) second, so nothing falls between the two; a frame that is in
both is printed once. The live channel is per process: in a cluster, a process that does not
host the charger hears none of its frames, and `--poll` (paging the stored log every second,
from any process) is the way there. Ctrl-C stops following: exit status 0."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.text import Text

from voltlab.cli_client.common import (
    DEFAULT,
    JsonOption,
    KeyOption,
    ServerOption,
    err,
    gateway,
    out,
    print_json_line,
)
from voltlab.cli_client.fleet import resolve_charger
from voltlab.cli_client.http import CliFailure, ExitCode, Gateway, check, segment, unreachable

# OCPP-J message types (2.1 adds CALLRESULTERROR and SEND).
KINDS = {2: "CALL", 3: "RESULT", 4: "ERROR", 5: "RESULTERROR", 6: "SEND"}
DIRECTION = {"out": ("CP → CSMS", "cyan"), "in": ("CP ← CSMS", "magenta")}
POLL_SECONDS = 1.0
# The server says something every 15 s (a keep-alive comment); four times that is a lost server.
STREAM_READ_SECONDS = 60.0
MAX_POLL_PAGES = 10


class FrameLog:
    """Prints frames, naming each answer after the CALL it answers."""

    def __init__(self, actions: list[str], as_json: bool, console: Console) -> None:
        self.wanted = {action.lower() for action in actions}
        self.as_json = as_json
        self.console = console
        self._calls: dict[str, str] = {}

    def _parts(self, frame: Any) -> tuple[str, str | None, str | None]:
        if not isinstance(frame, list) or len(frame) < 3 or frame[0] not in KINDS:
            return "?", None, None
        kind = KINDS[frame[0]]
        message_id = str(frame[1])
        if kind in ("CALL", "SEND") and isinstance(frame[2], str):
            self._calls[message_id] = frame[2]
            if len(self._calls) > 1000:
                del self._calls[next(iter(self._calls))]
            return kind, message_id, frame[2]
        return kind, message_id, self._calls.pop(message_id, None)

    def show(self, item: dict[str, Any], action: str | None = None) -> None:
        """One frame: a `/messages` item or a `frame` event of the live channel."""
        kind, message_id, parsed = self._parts(item.get("frame"))
        action = action or parsed
        if self.wanted and (action or "").lower() not in self.wanted:
            return
        if self.as_json:
            print_json_line(item | {"action": action, "message_id": message_id})
            return
        arrow, colour = DIRECTION.get(item.get("direction", ""), ("?", "white"))
        frame = item.get("frame")
        body: Any = frame  # what the frame carries, shown after its kind and action
        if isinstance(frame, list) and kind in ("CALL", "SEND"):
            body = frame[3] if len(frame) > 3 else None
        elif isinstance(frame, list) and kind == "RESULT":
            body = frame[2]
        elif isinstance(frame, list) and "ERROR" in kind:
            body = frame[2:]
        line = Text()
        line.append(f"{item.get('ts', '')}  ", style="dim")
        line.append(f"{arrow}  ", style=f"bold {colour}")
        line.append(f"{kind:<6} ", style="bold red" if "ERROR" in kind else colour)
        line.append(f"{action or '?':<28} ", style=colour)
        line.append(f"{message_id or ''}  ", style="dim")
        line.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
        self.console.print(line, soft_wrap=True)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item.get("direction", ""), json.dumps(item.get("frame"), sort_keys=True)


def _recent(client: Gateway, charger_id: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` frames, oldest first."""
    page = client.get(f"/ocpp/chargers/{segment(charger_id)}/messages", limit=limit)
    items: list[dict[str, Any]] = page["items"]
    return items[::-1]


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event type, data) of a text/event-stream; comments as ("comment", text)."""
    kind, data = "message", ""
    for line in lines:
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line == "":
            if data:
                yield kind, data
            kind, data = "message", ""
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                kind = value
            elif name == "data":
                data = f"{data}\n{value}" if data else value


def _follow_live(client: Gateway, charger_id: str, limit: int, log: FrameLog) -> None:
    topic = f"charger:{charger_id}"
    timeout = httpx.Timeout(STREAM_READ_SECONDS, connect=5.0)
    try:
        with client.client.stream(
            "GET", "/events", params={"topics": topic}, timeout=timeout
        ) as response:
            if response.status_code >= 400:
                response.read()
                check(response)
            seen: set[tuple[str, str]] | None = None
            for kind, data in _sse_events(response.iter_lines()):
                if kind == "comment" and data == "subscribed" and seen is None:
                    backlog = _recent(client, charger_id, limit)
                    for item in backlog:
                        log.show(item)
                    seen = {_key(item) for item in backlog}
                    err().print(f"following {topic} (Ctrl-C to stop)", highlight=False)
                elif kind == "frame":
                    event = json.loads(data)
                    if seen:
                        if _key(event) in seen:
                            continue
                        seen = set()  # past the overlap: everything from here is new
                    log.show(event, event.get("action"))
                elif kind == "resync":
                    err().print(
                        "[yellow]the server dropped frames this client did not read in time "
                        "(resync); see the stored log with `voltlab logs`[/yellow]"
                    )
    except httpx.TransportError as error:
        raise unreachable(client.server, error) from None
    raise CliFailure(ExitCode.UNREACHABLE, "the server ended the stream (did it shut down?)")


def _follow_polling(client: Gateway, charger_id: str, limit: int, log: FrameLog) -> None:
    path = f"/ocpp/chargers/{segment(charger_id)}/messages"
    backlog = _recent(client, charger_id, limit)
    for item in backlog:
        log.show(item)
    last = max((item["id"] for item in backlog), default=0)
    err().print(f"polling {path} every {POLL_SECONDS:g} s (Ctrl-C to stop)", highlight=False)
    while True:
        time.sleep(POLL_SECONDS)
        fresh: list[dict[str, Any]] = []
        before: int | None = None
        for _ in range(MAX_POLL_PAGES):  # bounded: a burst beyond it is shown from its end
            page = client.get(path, limit=200, before=before)
            newer = [item for item in page["items"] if item["id"] > last]
            fresh.extend(newer)
            before = page.get("next_before")
            if len(newer) < len(page["items"]) or before is None:
                break
        for item in reversed(fresh):
            log.show(item)
        last = max([last, *(item["id"] for item in fresh)])


def logs(
    charger: Annotated[str, typer.Argument(help="charger id (dep-…) or identity")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing frames as they happen")
    ] = False,
    action: Annotated[
        list[str] | None, typer.Option("--action", help="only this OCPP action (repeatable)")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="how many recent frames to show first")
    ] = 50,
    poll: Annotated[
        bool,
        typer.Option("--poll", help="with --follow: page the stored log, not the live channel"),
    ] = False,
    server: ServerOption = DEFAULT,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """A charger's OCPP frames, oldest first: CP → CSMS (cyan) and CP ← CSMS (magenta).

    With --json, one JSON object per frame and line (JSON Lines)."""
    log = FrameLog(action or [], as_json, out())
    with gateway(server, key) as client:
        charger_id = resolve_charger(client, charger)["charger_id"]
        if not follow:
            for item in _recent(client, charger_id, limit):
                log.show(item)
            return
        try:
            if poll:
                _follow_polling(client, charger_id, limit, log)
            else:
                _follow_live(client, charger_id, limit, log)
        except KeyboardInterrupt:
            err().print("stopped following", highlight=False)
