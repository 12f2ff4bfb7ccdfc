"""Request-scoped access to the app's database and fleet, plus the error helpers routes share."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from voltlab.fleet.hosting.runtime_api import Fleet
from voltlab.store.db import Database

T = TypeVar("T")

# The routes' units of work run on at most this many worker threads at once, the rest waiting
# in turn (first come, first served): more threads only take the GIL from each other and from
# the event loop that also drives the chargers (200 concurrent reads on anyio's default 40
# threads answered slower than on 4).
API_DB_THREADS = 4
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _api_threads() -> anyio.CapacityLimiter:
    """The limiter of the running event loop (a limiter belongs to one loop; tests run many)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(API_DB_THREADS)
    return limiter


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_fleet(request: Request) -> Fleet:
    fleet: Fleet = request.app.state.fleet
    return fleet


async def in_session(database: Database, work: Callable[[Session], T]) -> T:
    """Run `work` in one committed unit of work on a worker thread: the ORM is synchronous and
    must not block the event loop that also drives the virtual chargers."""

    def run() -> T:
        with database.session() as session:
            return work(session)

    return await anyio.to_thread.run_sync(run, limiter=_api_threads())


def not_found(kind: str, ident: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{kind} {ident!r} not found")


def invalid(loc: Sequence[str | int], message: str, value: Any = None) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, for rules pydantic cannot express per field."""
    return RequestValidationError(
        [{"type": "value_error", "loc": tuple(loc), "msg": message, "input": value}]
    )
