"""Fixtures for the Gateway API tests: a temp database (SQLite, plus PostgreSQL when
VOLTLAB_TEST_POSTGRES_URL is set), a recording fake fleet, an app with its lifespan running,
and API keys for two orgs."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:  # the package may not be installed in this interpreter
    sys.path.insert(0, str(SRC))

from fastapi import FastAPI  # noqa: E402

from store.databases import find_postgres  # noqa: E402
from voltlab.api.app import create_app  # noqa: E402
from voltlab.fleet.driver.configuration_view import (  # noqa: E402
    ChargerConfiguration,
    stored_configuration,
)
from voltlab.fleet.hosting.runtime_api import ChargerSpec, StatusView  # noqa: E402
from voltlab.store import repo  # noqa: E402
from voltlab.store.db import Database  # noqa: E402

# The store runs on SQLite and PostgreSQL; every API test runs on both. PostgreSQL comes from
# VOLTLAB_TEST_POSTGRES_URL, else the local server on 127.0.0.1:5432 if one answers ("off"
# disables it). Without one the PostgreSQL half is reported as skipped, never silently absent.


POSTGRES_URL = find_postgres()
BACKENDS = ["sqlite", "postgresql"]


class FakeFleet:
    """Implements the `Fleet` protocol and records every call."""

    def __init__(self) -> None:
        self.lifecycle: list[str] = []
        self.started: list[ChargerSpec] = []
        self.stopped: list[str] = []
        self.removed: list[str] = []
        self.submitted: list[str] = []
        self.flushes = 0
        self.live: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        self.lifecycle.append("start")

    async def shutdown(self) -> None:
        self.lifecycle.append("shutdown")

    async def start_charger(self, spec: ChargerSpec) -> None:
        self.started.append(spec)
        self.live[spec.charger_id] = {
            "connection": "connecting",
            "registration": None,
            "connectors": [{"connector_id": 1, "status": "Available"}],
            "faults": [],
        }

    async def stop_charger(self, charger_id: str) -> None:
        self.stopped.append(charger_id)
        self.live.pop(charger_id, None)

    async def remove_charger(self, charger_id: str) -> None:
        self.removed.append(charger_id)
        self.live.pop(charger_id, None)

    def live_state(self, charger_id: str) -> dict[str, Any] | None:
        return self.live.get(charger_id)

    def hosted(self) -> list[str]:
        return list(self.live)

    def status_view(self, charger_id: str) -> StatusView | None:
        live = self.live.get(charger_id)
        if live is None:
            return None
        statuses = tuple(c.get("status") for c in live["connectors"])
        return StatusView(live["connection"], live["registration"], statuses)

    def configuration(self, spec: ChargerSpec) -> ChargerConfiguration | None:
        # Hosts nothing: every charger is read from its stored snapshot, as the runtime does
        # for a charger another process runs.
        return stored_configuration(
            spec.charger_id, spec.identity, spec.model, spec.ocpp_version, spec.state, 0.0
        )

    def submit_command(self, command_id: str) -> None:
        self.submitted.append(command_id)

    async def flush(self) -> None:
        self.flushes += 1

    async def flush_log(self) -> None:
        self.flushes += 1


def _psycopg_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class PostgresSchemas:
    """Throw-away PostgreSQL schemas, selected through the connection's search_path; one pool
    per test process (each xdist worker has its own). A test gets an empty schema: a new one,
    or one a finished test used, its tables emptied with TRUNCATE ... RESTART IDENTITY (rows
    and sequences as new). Creating every table again would cost about 0.3 s a test, the drop
    0.1 s more; the TRUNCATE costs 0.04 s."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.admin = create_engine(base)
        self.free: list[str] = []
        self.made: list[str] = []

    def url(self, schema: str) -> str:
        separator = "&" if "?" in self.base else "?"
        return f"{self.base}{separator}options=-csearch_path%3D{schema}"

    def acquire(self) -> str:
        while self.free:
            schema = self.free.pop()
            if self._emptied(schema):
                return schema
        schema = "t_" + uuid.uuid4().hex[:12]
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self.made.append(schema)
        return schema

    def _emptied(self, schema: str) -> bool:
        """TRUNCATE every table of the schema; False (schema left aside) if a connection a
        test leaked still holds a lock on one."""
        try:
            with self.admin.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                # The schema's revision stays: the next test's migration finds it current.
                tables = conn.scalars(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = :schema"
                        " AND tablename <> 'alembic_version'"
                    ),
                    {"schema": schema},
                ).all()
                if tables:
                    names = ", ".join(f'"{schema}"."{table}"' for table in tables)
                    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        except Exception:  # noqa: BLE001 - a schema that cannot be emptied is not reused
            return False
        return True

    def release(self, schema: str) -> None:
        self.free.append(schema)

    def drop_all(self) -> None:
        for schema in self.made:
            try:
                with self.admin.begin() as conn:
                    conn.execute(text("SET LOCAL lock_timeout = '2s'"))
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            except Exception:  # noqa: BLE001 - the remaining schemas are still dropped
                pass
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas | None]:
    if POSTGRES_URL is None:
        yield None
        return
    schemas = PostgresSchemas(_psycopg_url(POSTGRES_URL))
    yield schemas
    schemas.drop_all()


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_schemas: PostgresSchemas | None
) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'voltlab.db'}")
        yield db
        db.dispose()
        return
    if postgres_schemas is None:
        pytest.skip("no PostgreSQL reachable (set VOLTLAB_TEST_POSTGRES_URL)")
    schema = postgres_schemas.acquire()
    db = Database(postgres_schemas.url(schema))
    try:
        yield db
    finally:
        db.dispose()
        postgres_schemas.release(schema)


@pytest.fixture
def fleet() -> FakeFleet:
    return FakeFleet()


@pytest.fixture
def app(database: Database, fleet: FakeFleet, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    return create_app(database, fleet)  # type: ignore[arg-type]


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # ASGITransport does not run the lifespan; enter it by hand so startup really happens.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


Headers = dict[str, str]


@pytest.fixture
def keys(client: httpx.AsyncClient, database: Database) -> dict[str, Headers]:
    """Bearer headers: admin/operator/viewer of org "acme", admin of org "rival"."""
    plain: dict[str, str] = {}
    with database.session() as session:
        acme = repo.get_or_create_org(session, "acme")
        rival = repo.get_or_create_org(session, "rival")
        for role in repo.ROLES:
            plain[role] = repo.add_api_key(session, acme.id, role)
        plain["rival"] = repo.add_api_key(session, rival.id, "admin")
    return {name: {"Authorization": f"Bearer {key}"} for name, key in plain.items()}


@pytest.fixture
def admin(keys: dict[str, Headers]) -> Headers:
    return keys["admin"]


def error_locs(response: httpx.Response) -> list[Any]:
    """The `loc` of every error in a 422 answer."""
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


async def collect_pages(
    client: httpx.AsyncClient, path: str, headers: Headers, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    """Follow `next_cursor` to the end; returns all items and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = dict(params) | ({"cursor": cursor} if cursor else {})
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


LocationMaker = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_location(client: httpx.AsyncClient, admin: Headers) -> LocationMaker:
    async def make(headers: Headers | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "depot", "csms_url": "ws://127.0.0.1:9000/ocpp", "chargers": 2}
        body.update(fields)
        response = await client.post("/ocpp/locations", json=body, headers=headers or admin)
        assert response.status_code == 201, response.text
        return response.json()

    return make
