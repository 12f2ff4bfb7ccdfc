"""`GET /events`: the live channel (Server-Sent Events) read as `LiveMessage`s."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LiveMessage:
    """One event: `event` its type (charger, frame, meter, finding, command, cpo,
    scenario-run), `id` its sequence number, `data` its JSON body."""

    event: str
    id: str | None
    data: Any


def topics_param(topics: Iterable[str]) -> str:
    return ",".join(topics)


class _Parser:
    """SSE lines in, messages out; comment lines (`: keep-alive`) are skipped."""

    def __init__(self) -> None:
        self.event = "message"
        self.id: str | None = None
        self.data: list[str] = []

    def feed(self, line: str) -> LiveMessage | None:
        if line == "":
            if not self.data:
                return None
            text = "\n".join(self.data)
            try:
                data: Any = json.loads(text)
            except ValueError:
                data = text
            message = LiveMessage(self.event, self.id, data)
            self.event, self.id, self.data = "message", None, []
            return message
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.event = value
        elif name == "id":
            self.id = value
        elif name == "data":
            self.data.append(value)
        return None


def parse(lines: Iterable[str]) -> Iterator[LiveMessage]:
    parser = _Parser()
    for line in lines:
        message = parser.feed(line)
        if message is not None:
            yield message


async def aparse(lines: AsyncIterator[str]) -> AsyncIterator[LiveMessage]:
    parser = _Parser()
    async for line in lines:
        message = parser.feed(line)
        if message is not None:
            yield message
