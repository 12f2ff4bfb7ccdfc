"""The server a CLI run talks to: one embedded on a throw-away database, or a running one
(`--server URL`, key in VOLTLAB_KEY). Shared by `voltlab scenario run` and `voltlab replay`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import typer


@contextlib.asynccontextmanager
async def embedded_server(org_name: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a voltlab app served in this process on a temporary SQLite database, with
    an operator key of org `org_name`."""
    # Imported here, not for a cycle: the server stack is needed only without --server.
    from voltlab.api.app import create_app
    from voltlab.store import repo
    from voltlab.store.db import Database

    with tempfile.TemporaryDirectory(prefix=f"voltlab-{org_name}-") as folder:
        database = Database(f"sqlite:///{Path(folder) / 'voltlab.db'}")
        database.migrate()
        with database.session() as session:
            org = repo.get_or_create_org(session, org_name)
            key = repo.add_api_key(session, org.id, "operator")
        app = create_app(database, virtual_cpos=False)
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://voltlab.embedded",
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=120,
                ) as client,
            ):
                yield client
        finally:
            database.dispose()


def remote_server(url: str) -> httpx.AsyncClient:
    """A client of the server at `url`, with the key in VOLTLAB_KEY."""
    key = os.environ.get("VOLTLAB_KEY")
    if not key:
        raise typer.BadParameter(
            "set VOLTLAB_KEY to an API key of that server", param_hint="--server"
        )
    return httpx.AsyncClient(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, timeout=120
    )
