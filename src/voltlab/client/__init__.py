"""voltlab's Python client: the Gateway API, typed, over httpx (sync `Client`, `AsyncClient`).

    from voltlab.client import Client, models

    with Client("http://127.0.0.1:8000", api_key="vl_...") as client:
        location = client.locations.create(models.LocationCreate(
            name="depot", csms_url="ws://127.0.0.1:9000/ocpp", chargers=2))

Request and response bodies are the server's own pydantic models (`voltlab.client.models`);
errors are `voltlab.client.errors` classes. Importing this package loads httpx and pydantic,
never the server (no fleet, database or web framework)."""

from __future__ import annotations

from voltlab.client import errors, models
from voltlab.client.async_client import AsyncClient
from voltlab.client.errors import (
    ApiError,
    CommandFailed,
    Conflict,
    CpoFailed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServerError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
    VoltlabError,
    WaitTimeout,
)
from voltlab.client.events import LiveMessage
from voltlab.client.sync_client import Client
from voltlab.client.waiting import (
    AsyncCommandBatch,
    AsyncQueuedCommand,
    CommandBatch,
    QueuedCommand,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncCommandBatch",
    "AsyncQueuedCommand",
    "Client",
    "CommandBatch",
    "CommandFailed",
    "Conflict",
    "CpoFailed",
    "Forbidden",
    "LiveMessage",
    "NotFound",
    "PayloadTooLarge",
    "QueuedCommand",
    "ServerError",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
    "VoltlabError",
    "WaitTimeout",
    "errors",
    "models",
]
