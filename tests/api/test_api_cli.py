"""`voltlab keys ...` through typer's CliRunner, and `python -m voltlab`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from voltlab.api.app import create_app
from voltlab.cli import app as cli
from voltlab.store import repo
from voltlab.store.db import Database

from .conftest import SRC, FakeFleet

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("VOLTLAB_DATABASE_URL", url)
    monkeypatch.delenv("VOLTLAB_API_KEY", raising=False)
    return url


async def test_keys_create_prints_only_a_working_key(db_url: str) -> None:
    result = runner.invoke(cli, ["keys", "create", "--org", "lab", "--role", "operator"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert re.fullmatch(r"vl_[A-Za-z0-9_\-]{32}", key)

    database = Database(db_url)
    with database.session() as session:
        row = repo.find_api_key(session, key)
        assert row is not None and row.role == "operator"
        org = repo.get_org_by_name(session, "lab")
        assert org is not None and row.org_id == org.id
    app = create_app(database, FakeFleet())  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/ocpp/chargers", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200
    database.dispose()


def test_keys_create_reuses_the_org_and_defaults_to_admin(db_url: str) -> None:
    first = runner.invoke(cli, ["keys", "create", "--org", "lab"])
    second = runner.invoke(cli, ["keys", "create", "--org", "lab", "--role", "viewer"])
    assert first.exit_code == 0 and second.exit_code == 0
    database = Database(db_url)
    with database.session() as session:
        rows = repo.list_api_keys(session)
    database.dispose()
    assert [(key.role, org) for key, org in rows] == [("admin", "lab"), ("viewer", "lab")]


def test_keys_create_rejects_unknown_role(db_url: str) -> None:
    result = runner.invoke(cli, ["keys", "create", "--org", "lab", "--role", "root"])
    assert result.exit_code != 0


def test_keys_list_and_revoke(db_url: str) -> None:
    key = runner.invoke(cli, ["keys", "create", "--org", "lab"]).stdout.strip()
    listing = runner.invoke(cli, ["keys", "list"])
    assert listing.exit_code == 0
    assert "lab" in listing.stdout and key[:10] in listing.stdout
    assert key not in listing.stdout
    database = Database(db_url)
    with database.session() as session:
        key_id = repo.list_api_keys(session)[0][0].id
    revoked = runner.invoke(cli, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    with database.session() as session:
        row = repo.find_api_key(session, key)
        assert row is not None and row.revoked_at is not None
    database.dispose()
    assert runner.invoke(cli, ["keys", "revoke", "key-nope"]).exit_code != 0


def test_python_dash_m_voltlab() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voltlab", "keys", "--help"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "create" in result.stdout
