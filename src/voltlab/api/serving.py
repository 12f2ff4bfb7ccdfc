"""uvicorn, taught to end the live streams when it shuts down.

uvicorn's graceful shutdown waits for every open response to finish before it runs the app's
lifespan shutdown; an event stream never finishes by itself, so a server with a dashboard
open would never stop. `LiveServer` ends the streams first (`LiveHub.close_all`), then shuts
down as usual."""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from voltlab.store.db import Database


class LiveServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, database: Database) -> None:
        super().__init__(config)
        self._database = database

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._database.live.close_all()
        await super().shutdown(sockets)


def live_server(app: FastAPI, host: str, port: int, **options: object) -> LiveServer:
    """A server for `app` (built by `create_app`) whose shutdown ends its event streams."""
    config = uvicorn.Config(app, host=host, port=port, **options)  # type: ignore[arg-type]
    database: Database = app.state.database
    return LiveServer(config, database)
