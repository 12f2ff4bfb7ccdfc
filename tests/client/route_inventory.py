"""The Gateway API's routes, read from a FastAPI app's `routes` (included routers followed):
what the client must cover."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI


@dataclass(frozen=True, order=True)
class Route:
    method: str
    path: str

    def matches(self, method: str, path: str) -> bool:
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", self.path)
        return method == self.method and re.fullmatch(pattern, path) is not None


def _walk(routes: Iterable[Any]) -> Iterable[tuple[Any, str]]:
    """(route object, full path) of every route, through FastAPI's included routers."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:
            yield from _walk(candidates())
        elif hasattr(route, "original_route"):  # a route of an included router, in context
            yield route.original_route, route.path
        else:
            yield route, getattr(route, "path", "")


def _is_gateway(route: Any, path: str) -> bool:
    if not getattr(route, "methods", None) or not getattr(route, "include_in_schema", False):
        return False  # websockets, mounts, the docs and the dashboard's pages
    # OCPI's own protocol routes are the CPO's interface to an eMSP, not the Gateway API.
    return not (path.startswith("/ocpi/") and not path.startswith("/ocpi/cpos"))


def gateway_routes(app: FastAPI) -> set[Route]:
    found: set[Route] = set()
    for route, path in _walk(app.routes):
        if _is_gateway(route, path):
            found |= {Route(method, path) for method in route.methods if method != "HEAD"}
    return found
