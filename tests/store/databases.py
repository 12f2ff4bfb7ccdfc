"""Databases for the migration tests: the local PostgreSQL (a fresh schema per test, dropped
after), and a database as the previous release left it (`previous_release/`: its DDL, frozen,
and rows in its main tables)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import DateTime, MetaData, create_engine, insert, text

PREVIOUS_RELEASE = Path(__file__).parent / "previous_release"
# The admin key of the previous release's org "default" (its sha256 is in rows.json).
API_KEY = "vl_previous_release_" + "p" * 24
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def find_postgres() -> str | None:
    """VOLTLAB_TEST_POSTGRES_URL, else the local server if one answers ("off": none), as the
    API tests choose it."""
    configured = os.environ.get("VOLTLAB_TEST_POSTGRES_URL")
    if configured == "off":
        return None
    url = configured or DEFAULT_POSTGRES_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure means: no PostgreSQL here
        if configured:
            raise
        return None
    return url


@contextmanager
def fresh_schema(base_url: str, prefix: str = "m_") -> Iterator[str]:
    """A new, empty schema; the URL selects it through the connection's search_path."""
    schema = prefix + uuid.uuid4().hex[:12]
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def previous_release_ddl(dialect: str) -> list[str]:
    """The statements of `previous_release/<dialect>.sql`, comments left out."""
    path = PREVIOUS_RELEASE / f"{dialect}.sql"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def previous_release_rows() -> dict[str, list[dict[str, Any]]]:
    rows = json.loads((PREVIOUS_RELEASE / "rows.json").read_text())
    return {table: value for table, value in rows.items() if not table.startswith("_")}


def make_previous_release(url: str) -> dict[str, int]:
    """Create the previous release's tables at `url` from its DDL and insert its rows, through
    the tables as the database reflects them (not today's models). Returns rows per table."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in previous_release_ddl(engine.dialect.name):
                connection.exec_driver_sql(statement)
        tables = MetaData()
        tables.reflect(engine)
        rows = previous_release_rows()
        with engine.begin() as connection:
            for name in ("orgs", "api_keys", "locations", "chargers", "commands", "frames"):
                table = tables.tables[name]
                values = [
                    {
                        column: datetime.fromisoformat(value)
                        if isinstance(table.c[column].type, DateTime) and value is not None
                        else value
                        for column, value in row.items()
                    }
                    for row in rows[name]
                ]
                connection.execute(insert(table), values)
        return {name: len(values) for name, values in rows.items()}
    finally:
        engine.dispose()


def row_counts(url: str, names: Iterator[str] | list[str]) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                for name in names
            }
    finally:
        engine.dispose()


async def assert_previous_release_served(http: httpx.AsyncClient) -> None:
    """The previous release's rows, read back through the Gateway API with its own key."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    location = await http.get("/ocpp/locations/loc-prev0001", headers=headers)
    assert location.status_code == 200, location.text
    body = location.json()
    assert (body["name"], body["charger_count"]) == ("depot before the upgrade", 2)
    assert body["created_at"] == "2026-11-30T09:15:02.250Z"
    assert [c["identity"] for c in body["chargers"]] == ["CP-PREV-001", "CP-PREV-002"]
    assert [c["desired_running"] for c in body["chargers"]] == [False, False]

    command = await http.get("/ocpp/commands/a1b2c3d4e5f6", headers=headers)
    assert command.status_code == 200, command.text
    assert command.json() | {"created_at": None, "updated_at": None} == {
        "id": "a1b2c3d4e5f6",
        "charger_id": "dep-prev0001",
        "identity": "CP-PREV-001",
        "location_id": "loc-prev0001",
        "event_type": "start-session",
        "ocpp_version": "ocpp1.6",
        "payload": {"id_tag": "EV-USER-1234", "connector_id": 1, "duration_seconds": 900},
        "status": "succeeded",
        "result": {"transaction_id": 42},
        "error": None,
        "created_at": None,
        "updated_at": None,
    }

    frames = await http.get("/ocpp/chargers/dep-prev0001/messages", headers=headers)
    assert frames.status_code == 200, frames.text
    items = frames.json()["items"]
    assert [(f["id"], f["direction"]) for f in items] == [(2, "in"), (1, "out")]
    assert items[1]["frame"][2] == "BootNotification"
