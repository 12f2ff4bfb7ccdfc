"""Request-scoped access to the app's database and fleet, plus the error helpers routes share."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.store.db import Database

T = TypeVar("T")

# The routes' units of work run on at most this many worker threads of their own, the rest
# waiting in turn (first come, first served): more threads only take the GIL from each other
# and from the event loop that also drives the chargers (200 concurrent reads on anyio's 40
# shared threads answered slower than on 4). A plain executor rather than anyio's
# `to_thread`: a quarter of the event loop's CPU per hand-over under load.
API_DB_THREADS = 4
_executor: ThreadPoolExecutor | None = None


def _api_threads() -> ThreadPoolExecutor:
    """One pool for the process (an executor serves any event loop; tests run many)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(API_DB_THREADS, thread_name_prefix="api-session")
    return _executor


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_fleet(request: Request) -> Fleet:
    fleet: Fleet = request.app.state.fleet
    return fleet


async def in_session(database: Database, work: Callable[[Session], T]) -> T:
    """Run `work` in one committed unit of work on a worker thread: the ORM is synchronous and
    must not block the event loop that also drives the virtual chargers. The caller's context
    variables go along (as with `anyio.to_thread`)."""

    def run() -> T:
        with database.session() as session:
            return work(session)

    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_api_threads(), context.run, run)


def not_found(kind: str, ident: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{kind} {ident!r} not found")


def invalid(loc: Sequence[str | int], message: str, value: Any = None) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, for rules pydantic cannot express per field."""
    return RequestValidationError(
        [{"type": "value_error", "loc": tuple(loc), "msg": message, "input": value}]
    )
