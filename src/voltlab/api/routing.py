"""The Gateway's routers: FastAPI's `APIRouter` that turns a request away on its path's literal
prefix before matching any route.

FastAPI (0.16x) keeps an included router as a branch: to find a request's route it asks each
branch in turn, and a branch answers by matching every one of its routes, with per-route scope
bookkeeping, twice for the branch that wins. With a dozen routers that was ~70 route matches,
about a fifth of the CPU of a one-row read (`GET /ocpp/commands/{id}`). A route's path regex
starts with the literal text before its first `{`, so a path that starts with none of a
router's literal prefixes cannot match any of its routes: the answer is then "no" at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import BaseRoute, Match
from starlette.types import Scope


def literal_prefix(path: str) -> str:
    """The part of a route path before its first parameter (`/ocpp/chargers/{id}` ->
    `/ocpp/chargers/`)."""
    return path.split("{", 1)[0]


class GatewayRouter(APIRouter):
    """An `APIRouter` whose `matches` checks the request path against its routes' literal
    prefixes first (docstring of the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prefixes: tuple[str, ...] = ()
        self._prefixes_of: int = -1  # len(self.routes) the prefixes were taken from

    def literal_prefixes(self) -> tuple[str, ...]:
        # Routes are added at import time; their count tells when to take the prefixes again.
        if self._prefixes_of != len(self.routes):
            self._prefixes = tuple({literal_prefix(_path_of(route)) for route in self.routes})
            self._prefixes_of = len(self.routes)
        return self._prefixes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket") and not _route_path(scope).startswith(
            self.literal_prefixes()
        ):
            return Match.NONE, {}
        return super().matches(scope)


def _path_of(route: BaseRoute) -> str:
    # Every route of these routers has a path; one without could match anything.
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else ""


def _route_path(scope: Scope) -> str:
    # The path the routes see: without the app's mount point (`root_path`), as Starlette has it.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
