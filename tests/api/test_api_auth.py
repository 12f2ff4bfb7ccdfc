"""Health, authentication, roles, readiness and key bootstrap."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select

from voltlab.api.app import bootstrap_keys, create_app
from voltlab.api.auth import api_key_cache
from voltlab.api.command_events import COMMAND_KINDS
from voltlab.api.key_cache import KEY_CACHE_SECONDS
from voltlab.clock import wall_now
from voltlab.store import repo
from voltlab.store.db import Database
from voltlab.store.models import ApiKey, Org

from .conftest import FakeFleet, Headers

WRITE_ROUTES: list[tuple[str, str]] = [
    ("POST", "/ocpp/locations"),
    ("DELETE", "/ocpp/locations/loc-000000000000"),
    ("POST", "/ocpp/chargers"),
    ("POST", "/ocpp/chargers/dep-000000000000/start"),
    ("POST", "/ocpp/chargers/dep-000000000000/stop"),
    ("DELETE", "/ocpp/chargers/dep-000000000000"),
] + [("POST", f"/ocpp/commands/{kind.slug}") for kind in COMMAND_KINDS]

READ_ROUTES = [
    "/ocpp/models",
    "/ocpp/locations",
    "/ocpp/chargers",
    "/ocpp/commands",
]


async def test_health_needs_no_key(client: httpx.AsyncClient, database: Database) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["database"] == ("sqlite" if database.is_sqlite else "postgresql")


async def test_docs_and_openapi_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/ocpp/commands/start-session" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer vl_doesnotexist", "Bearer " + "x" * 300],
)
async def test_missing_or_unknown_key_is_401(
    client: httpx.AsyncClient, keys: dict[str, Headers], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/ocpp/chargers", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_401_comes_before_body_parsing(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/ocpp/locations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401


class ManualClock:
    """The monotonic clock of an app's key cache, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_revoked_key_stops_working_within_the_cache_bound(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, Headers], database: Database
) -> None:
    clock = ManualClock()
    app.state.api_keys = api_key_cache(database, now=clock)
    assert (await client.get("/ocpp/chargers", headers=keys["operator"])).status_code == 200
    # As `voltlab keys revoke` writes it, from this process or any other.
    with database.session() as session:
        for key in session.scalars(select(ApiKey).where(ApiKey.role == "operator")):
            key.revoked_at = wall_now()
    clock.now += KEY_CACHE_SECONDS  # the documented bound (docs/api.md, Auth)
    for _ in range(2):
        response = await client.get("/ocpp/chargers", headers=keys["operator"])
        assert response.status_code == 401
        assert response.json() == {"detail": "unknown or revoked api key"}
    assert (await client.get("/ocpp/chargers", headers=keys["viewer"])).status_code == 200


async def test_a_key_is_read_once_per_cache_bound(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, Headers], database: Database
) -> None:
    clock = ManualClock()
    app.state.api_keys = api_key_cache(database, now=clock)
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "api_keys" in statement:
            reads.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert (await client.get("/ocpp/models", headers=keys["admin"])).status_code == 200
        assert len(reads) == 1
        # An unknown key is not remembered: each request looks it up (and a new key works at
        # once).
        for _ in range(2):
            response = await client.get("/ocpp/models", headers={"Authorization": "Bearer vl_x"})
            assert response.status_code == 401
        assert len(reads) == 3
        clock.now += KEY_CACHE_SECONDS
        assert (await client.get("/ocpp/models", headers=keys["admin"])).status_code == 200
        assert len(reads) == 4
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


async def test_keys_are_stored_hashed(client: httpx.AsyncClient, database: Database) -> None:
    with database.session() as session:
        org = repo.get_or_create_org(session, "hash-check")
        plaintext = repo.add_api_key(session, org.id, "viewer")
    assert plaintext.startswith("vl_") and len(plaintext) == 35
    with database.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.org_id == org.id)).one()
        assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert plaintext not in (row.key_hash, row.prefix, row.id)


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES)
async def test_viewer_cannot_write(
    client: httpx.AsyncClient, keys: dict[str, Headers], method: str, path: str
) -> None:
    response = await client.request(method, path, json={}, headers=keys["viewer"])
    assert response.status_code == 403


@pytest.mark.parametrize("path", READ_ROUTES)
async def test_every_role_can_read(
    client: httpx.AsyncClient, keys: dict[str, Headers], path: str
) -> None:
    for role in ("admin", "operator", "viewer"):
        assert (await client.get(path, headers=keys[role])).status_code == 200


async def test_operator_can_write(client: httpx.AsyncClient, keys: dict[str, Headers]) -> None:
    body = {"name": "op", "csms_url": "ws://127.0.0.1:9000/ocpp", "chargers": 1}
    response = await client.post("/ocpp/locations", json=body, headers=keys["operator"])
    assert response.status_code == 201, response.text


async def test_not_ready_is_503(client: httpx.AsyncClient, app: FastAPI, admin: Headers) -> None:
    app.state.ready = False
    assert (await client.get("/ocpp/models", headers=admin)).status_code == 503
    assert (await client.get("/health")).status_code == 503
    app.state.ready = True
    assert (await client.get("/ocpp/models", headers=admin)).status_code == 200


async def test_lifespan_drives_the_fleet(database: Database) -> None:
    fleet = FakeFleet()
    app = create_app(database, fleet)  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        assert app.state.ready is True
        assert fleet.lifecycle == ["start"]
    assert fleet.lifecycle == ["start", "shutdown"]
    assert app.state.ready is False


class MinimalFleet:
    """A fleet without start/shutdown: the app must not require them."""

    async def start_charger(self, spec: object) -> None: ...
    async def stop_charger(self, charger_id: str) -> None: ...
    async def remove_charger(self, charger_id: str) -> None: ...
    def live_state(self, charger_id: str) -> None: ...
    def status_view(self, charger_id: str) -> None: ...
    def configuration(self, spec: object) -> None: ...
    def submit_command(self, command_id: str) -> None: ...
    async def flush(self) -> None: ...
    async def flush_log(self) -> None: ...


async def test_fleet_without_lifecycle_methods(database: Database) -> None:
    app = create_app(database, MinimalFleet())  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        assert app.state.ready is True


def _key_count(database: Database) -> int:
    with database.session() as session:
        return repo.count_api_keys(session)


def test_bootstrap_env_key_is_idempotent(database: Database) -> None:
    database.migrate()
    for _ in range(2):
        assert bootstrap_keys(database, "vl_from_env_123", create_if_empty=True) is None
    assert _key_count(database) == 1
    with database.session() as session:
        key = repo.find_api_key(session, "vl_from_env_123")
        assert key is not None and key.role == "admin"
        org = session.get(Org, key.org_id)
        assert org is not None and org.name == "default"


def test_bootstrap_creates_one_key_on_empty_database(database: Database) -> None:
    database.migrate()
    assert bootstrap_keys(database, None, create_if_empty=False) is None
    assert _key_count(database) == 0
    created = bootstrap_keys(database, None, create_if_empty=True)
    assert created is not None and created.startswith("vl_")
    # Printed once: the next start finds a key and creates nothing.
    assert bootstrap_keys(database, None, create_if_empty=True) is None
    assert _key_count(database) == 1


async def test_env_key_registered_at_startup(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOLTLAB_API_KEY", "vl_env_startup_key")
    app = create_app(database, FakeFleet())  # type: ignore[arg-type]
    for _ in range(2):  # two restarts, one key
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                headers = {"Authorization": "Bearer vl_env_startup_key"}
                assert (await http.get("/ocpp/models", headers=headers)).status_code == 200
    assert _key_count(database) == 1


async def test_cluster_is_for_admins(client: httpx.AsyncClient, keys: dict[str, Headers]) -> None:
    # The API tests' fleet is injected, so the process is a single one on either database.
    response = await client.get("/cluster", headers=keys["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "single" and body["this_worker"] == "local"
    assert [w["id"] for w in body["workers"]] == ["local"]
    for role in ("operator", "viewer"):
        denied = await client.get("/cluster", headers=keys[role])
        assert denied.status_code == 403, denied.text
        assert "admin" in denied.json()["detail"]
    assert (await client.get("/cluster")).status_code == 401
    health = (await client.get("/health")).json()
    assert health["workers"][0]["id"] == "local"
