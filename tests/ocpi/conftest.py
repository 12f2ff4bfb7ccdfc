"""Fixtures for the OCPI tests: our router in a bare FastAPI app over a temporary SQLite
database, reached through httpx's ASGI transport, and a fake eMSP served by uvicorn on
127.0.0.1 (a real socket: the handshake and the pushes use the real HTTP client).

No ``__init__.py`` here, like tests/ocpp: helpers are handed out through fixtures.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from voltlab.ocpi.service import OcpiService
from voltlab.store.db import Database

PUBLIC_URL = "http://voltlab.test"
TOKEN_B = "emsp-token-b-0123456789"
EMSP_COUNTRY = "NL"
EMSP_PARTY = "EMS"


def ocpi_body(data: Any = None, status_code: int = 1000, message: str = "Success") -> dict:
    return {
        "data": data,
        "status_code": status_code,
        "status_message": message,
        "timestamp": "2024-01-01T00:00:00Z",
    }


def b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    json: Any


@dataclass
class FakeEmsp:
    """An eMSP under test: answers versions/details, records every request, optionally fails."""

    version: str = "2.2.1"
    token_b: str = TOKEN_B
    # "base64" (the 2.2.1 rule) or "plain" (2.1.1, and many 2.2 peers)
    token_encoding: str = "base64"
    offered_versions: list[str] | None = None
    requests: list[Recorded] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)  # "METHOD path" as answers go out
    fail_next: int = 0  # the next N module calls answer HTTP 500
    put_delay: float = 0.0  # slow PUTs, to prove a PATCH waits for its PUT
    status_override: dict[str, int] = field(default_factory=dict)  # method -> HTTP status
    authorize_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_url: str = ""

    def expected_authorization(self) -> str:
        return "Token " + (b64(self.token_b) if self.token_encoding == "base64" else self.token_b)

    def versions_url(self) -> str:
        return f"{self.base_url}/emsp/versions"

    def module_requests(self, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if not r.path.endswith(("/versions", "/details"))
            and (method is None or r.method == method)
        ]

    def build_app(self) -> FastAPI:
        app = FastAPI()

        async def record(request: Request) -> JSONResponse | None:
            raw = await request.body()
            self.requests.append(
                Recorded(
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    headers={k.lower(): v for k, v in request.headers.items()},
                    json=await request.json() if raw else None,
                )
            )
            if request.headers.get("authorization") != self.expected_authorization():
                return JSONResponse(ocpi_body(None, 2000, "Unauthorized"), status_code=401)
            return None

        @app.get("/emsp/versions")
        async def versions(request: Request) -> JSONResponse:
            if (denied := await record(request)) is not None:
                return denied
            offered = self.offered_versions or [self.version]
            data = [{"version": v, "url": f"{self.base_url}/emsp/{v}/details"} for v in offered]
            return JSONResponse(ocpi_body(data))

        @app.get("/emsp/{version}/details")
        async def details(request: Request, version: str) -> JSONResponse:
            if (denied := await record(request)) is not None:
                return denied
            base = f"{self.base_url}/emsp/{version}"
            modules = [
                ("credentials", "RECEIVER"),
                ("locations", "RECEIVER"),
                ("tariffs", "RECEIVER"),
                ("sessions", "RECEIVER"),
                ("cdrs", "RECEIVER"),
                ("tokens", "SENDER"),
                ("commands", "SENDER"),
            ]
            endpoints = [
                {"identifier": m, "role": r, "url": f"{base}/{m}"}
                if version == "2.2.1"
                else {"identifier": m, "url": f"{base}/{m}"}
                for m, r in modules
            ]
            return JSONResponse(ocpi_body({"version": version, "endpoints": endpoints}))

        @app.api_route("/emsp/{version}/{rest:path}", methods=["GET", "POST", "PUT", "PATCH"])
        async def module(request: Request, version: str, rest: str) -> JSONResponse:
            if (denied := await record(request)) is not None:
                return denied
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse(ocpi_body(None, 3000, "boom"), status_code=500)
            if request.method in self.status_override:
                code = self.status_override[request.method]
                return JSONResponse(ocpi_body(None, 2000, "refused"), status_code=code)
            if request.method == "PUT" and self.put_delay:
                await asyncio.sleep(self.put_delay)
            self.completed.append(f"{request.method} {request.url.path}")
            if rest.startswith("tokens/") and rest.endswith("/authorize"):
                uid = rest.split("/")[1]
                answer = self.authorize_answers.get(uid)
                if answer is None:
                    return JSONResponse(ocpi_body(None, 2004, "Unknown token"), status_code=404)
                return JSONResponse(ocpi_body(answer))
            return JSONResponse(ocpi_body(None))

        return app


@contextlib.asynccontextmanager
async def serve_emsp(emsp: FakeEmsp) -> AsyncIterator[FakeEmsp]:
    config = uvicorn.Config(
        emsp.build_app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    emsp.base_url = f"http://127.0.0.1:{port}"
    try:
        yield emsp
    finally:
        server.should_exit = True
        await task


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Harness:
    """Our CPO side: the service, its router in an app, and a client playing the eMSP."""

    def __init__(self, database: Database, service: OcpiService, client: httpx.AsyncClient):
        self.database = database
        self.service = service
        self.client = client

    def register(
        self,
        cpo_id: str = "cpo-1",
        *,
        version: str = "2.2.1",
        country_code: str = "FR",
        party_id: str = "ABC",
    ) -> str:
        with self.database.session() as session:
            return self.service.register_cpo(
                session,
                cpo_id=cpo_id,
                country_code=country_code,
                party_id=party_id,
                ocpi_version=version,
                business_name=f"voltlab {cpo_id}",
            )

    def publish(self, cpo_id: str, kind: str, object_id: str, body: dict[str, Any]) -> None:
        with self.database.session() as session:
            self.service.publish(session, cpo_id, kind, object_id, body)

    @staticmethod
    def auth(token: str, version: str = "2.2.1") -> dict[str, str]:
        return {"Authorization": "Token " + (b64(token) if version == "2.2.1" else token)}

    def credentials_body(self, emsp: FakeEmsp, version: str = "2.2.1") -> dict[str, Any]:
        if version == "2.1.1":
            return {
                "token": emsp.token_b,
                "url": emsp.versions_url(),
                "business_details": {"name": "Fake eMSP"},
                "party_id": EMSP_PARTY,
                "country_code": EMSP_COUNTRY,
            }
        return {
            "token": emsp.token_b,
            "url": emsp.versions_url(),
            "roles": [
                {
                    "role": "EMSP",
                    "party_id": EMSP_PARTY,
                    "country_code": EMSP_COUNTRY,
                    "business_details": {"name": "Fake eMSP"},
                }
            ],
        }

    async def handshake(self, token_a: str, emsp: FakeEmsp, version: str = "2.2.1") -> str:
        response = await self.client.post(
            f"/ocpi/{version}/credentials",
            json=self.credentials_body(emsp, version),
            headers=self.auth(token_a, version),
        )
        body = response.json()
        assert response.status_code == 200, body
        assert body["status_code"] == 1000, body
        return str(body["data"]["token"])

    async def registered_cpo(
        self, emsp: FakeEmsp, cpo_id: str = "cpo-1", version: str = "2.2.1"
    ) -> str:
        """Register a CPO and run the handshake; returns Token C."""
        return await self.handshake(self.register(cpo_id, version=version), emsp, version)


@pytest.fixture
async def harness(database: Database) -> AsyncIterator[Harness]:
    outgoing = httpx.AsyncClient(timeout=httpx.Timeout(3.0, connect=1.0))
    service = OcpiService(database, PUBLIC_URL, http=outgoing, push_retry_base_delay=0.01)
    app = FastAPI()
    app.include_router(service.router())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield Harness(database, service, client)
        await service.drain()
        await service.aclose()
    await outgoing.aclose()


@pytest.fixture
async def emsp() -> AsyncIterator[FakeEmsp]:
    async with serve_emsp(FakeEmsp()) as fake:
        yield fake


@pytest.fixture
async def emsp211() -> AsyncIterator[FakeEmsp]:
    async with serve_emsp(FakeEmsp(version="2.1.1", token_encoding="plain")) as fake:
        yield fake


@pytest.fixture
def emsp_factory() -> Any:
    """`async with emsp_factory(version=..., token_encoding=...) as fake:` for odd peers."""
    return lambda **options: serve_emsp(FakeEmsp(**options))


@pytest.fixture
def unreachable_versions_url() -> str:
    return f"http://127.0.0.1:{closed_port()}/emsp/versions"
