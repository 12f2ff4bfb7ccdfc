"""Shared plumbing of the OCPI layer: database access off the event loop, URLs, the outgoing
HTTP client and traffic counting. One instance per OcpiService; modules receive it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
import httpx
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.ocpi import traffic as traffic_repo
from voltlab.ocpi.envelope import SUPPORTED_VERSIONS
from voltlab.ocpi.peer_address import PeerAddressPolicy, env_refuses_private_peers
from voltlab.store.db import Database

P = ParamSpec("P")
T = TypeVar("T")

# Per request: the whole exchange must fit in 8 s so 5 push attempts plus backoff stay < 60 s.
DEFAULT_TIMEOUT = httpx.Timeout(8.0, connect=3.0)


class OcpiCore:
    def __init__(
        self,
        database: Database,
        public_url: str,
        http: httpx.AsyncClient | None,
        *,
        refuse_private_peers: bool | None = None,
    ) -> None:
        self.database = database
        self.public_url = public_url.rstrip("/")
        self._http = http
        self._owns_http = http is None
        # Where eMSP-given URLs may lead (VOLTLAB_OCPI_REFUSE_PRIVATE_PEERS unless told).
        self.peer_policy = PeerAddressPolicy(
            env_refuses_private_peers() if refuse_private_peers is None else refuse_private_peers
        )
        # The clock every OCPI timestamp is read from: the fleet's (simulated) clock once the
        # virtual CPO stack wires it in (OcpiService.use_clock), the wall clock until then.
        self.now: Callable[[], datetime] = wall_now

    # --- database -------------------------------------------------------------------------

    def db_sync(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self.database.session() as session:
            return fn(session, *args, **kwargs)

    async def db(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        # SQLAlchemy sessions are blocking; keep them off the event loop (PostgreSQL latency).
        return await anyio.to_thread.run_sync(lambda: self.db_sync(fn, *args, **kwargs))

    async def count(
        self,
        cpo_id: str,
        direction: str,
        module: str,
        http_status: int | None,
        ocpi_status: int | None,
    ) -> None:
        await self.db(
            traffic_repo.count_request, cpo_id, direction, module, http_status, ocpi_status
        )

    # --- URLs -----------------------------------------------------------------------------

    def versions_url(self, version: str) -> str:
        check_version(version)
        return f"{self.public_url}/ocpi/{version}/versions"

    def details_url(self, version: str) -> str:
        check_version(version)
        return f"{self.public_url}/ocpi/{version}/details"

    def module_url(self, version: str, module: str) -> str:
        check_version(version)
        return f"{self.public_url}/ocpi/{version}/{module}"

    # --- outgoing HTTP --------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        return self._http

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None


def check_version(version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported OCPI version {version!r}; use one of {SUPPORTED_VERSIONS}")


def ocpi_status_of(payload: Any) -> int | None:
    """The `status_code` of an OCPI envelope, if the payload is one."""
    if isinstance(payload, dict) and isinstance(payload.get("status_code"), int):
        return int(payload["status_code"])
    return None
