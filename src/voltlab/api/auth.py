"""Bearer-key authentication, roles and the route class that applies them.

Keys are looked up by their sha256 hash; the plaintext never reaches the database. A key found
is remembered for at most a second (`key_cache`: a revoked key stops working within that). A
viewer may only read. The checks run before FastAPI parses the body (see `AuthenticatedRoute`)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from voltlab.api.key_cache import KeyCache
from voltlab.clock import monotonic
from voltlab.store import repo
from voltlab.store.db import Database

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_ROLES = frozenset({"admin", "operator"})
# Longer than any key we mint by a wide margin; longer headers are not worth hashing.
MAX_KEY_LENGTH = 256


@dataclass(frozen=True)
class Principal:
    key_id: str
    org_id: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def ensure_ready(request: Request) -> None:
    if not getattr(request.app.state, "ready", False):
        raise HTTPException(
            status_code=503, detail="engine not ready", headers={"Retry-After": "1"}
        )


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("missing Authorization: Bearer <api key>")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("expected Authorization: Bearer <api key>")
    if len(token) > MAX_KEY_LENGTH:
        raise _unauthorized("unknown or revoked api key")
    return token


def _lookup(database: Database, token: str) -> Principal | None:
    with database.session() as session:
        key = repo.find_api_key(session, token)
        if key is None or key.revoked_at is not None:
            return None
        return Principal(key_id=key.id, org_id=key.org_id, role=key.role)


def api_key_cache(
    database: Database, *, now: Callable[[], float] = monotonic
) -> KeyCache[Principal]:
    """The app's cache of keys (`app.state.api_keys`); a lookup reads the row on a worker
    thread. `now`: the monotonic clock the bound is measured on."""

    async def lookup(token: str) -> Principal | None:
        return await anyio.to_thread.run_sync(_lookup, database, token)

    return KeyCache(lookup, now=now)


async def authenticate(request: Request) -> Principal:
    """Who is calling, checked once per request (cached on `request.state`)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    ensure_ready(request)
    token = _bearer_token(request)
    keys: KeyCache[Principal] = request.app.state.api_keys
    principal = await keys.principal(token)
    if principal is None:
        raise _unauthorized("unknown or revoked api key")
    if request.method not in READ_METHODS and not principal.can_write:
        raise HTTPException(status_code=403, detail=f"role {principal.role!r} is read-only")
    request.state.principal = principal
    return principal


# Declared so OpenAPI (and the /docs "Authorize" button) knows the scheme; the header itself is
# parsed by `authenticate`, which also runs without FastAPI's dependency machinery.
_bearer_scheme = HTTPBearer(auto_error=False, description="API key: `Bearer vl_...`")


async def current_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Principal:
    return await authenticate(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class AuthenticatedRoute(APIRoute):
    """Authenticates before FastAPI reads the body, so a caller without a valid key learns
    nothing (not even that its JSON is malformed) and a viewer's write is a 403, not a 422.
    Routes still declare `CurrentPrincipal`, which then reads the cached result."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            await authenticate(request)
            return await handler(request)

        return guarded
