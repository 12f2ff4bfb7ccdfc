"""Adapter handlers for the CSMS requests the station machine answers: decoded by the
version's codec, handled by the machine, the answer encoded back (until the adapters' handler
classes give way to a table per version, docs/station-machine.md step 7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from voltlab.ocpp.connection import Reply

Handler = Callable[[Any, dict[str, Any]], Awaitable[Reply | dict[str, Any]]]


def machine_request(
    decode: Callable[[dict[str, Any]], Any], encode: Callable[[Any], Any]
) -> Handler:
    """An adapter's `on_<Action>`: answered at once, what follows the answer after it."""

    async def handle(adapter: Any, payload: dict[str, Any]) -> Reply:
        return adapter.runner.answer_request(decode(payload), encode)  # type: ignore[no-any-return]

    return handle


def machine_request_after_calls(
    decode: Callable[[dict[str, Any]], Any], encode: Callable[[Any], dict[str, Any]]
) -> Handler:
    """An adapter's `on_<Action>` whose answer waits for the station's own calls
    (UnlockConnector finishes the transaction first)."""

    async def handle(adapter: Any, payload: dict[str, Any]) -> dict[str, Any]:
        return encode(await adapter.runner.answer_after_calls(decode(payload)))

    return handle
