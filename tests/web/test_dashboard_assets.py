"""How the dashboard's files are served (no browser): `GET /` with a content security policy
that allows this server only, assets under a digest that changes with their content and may be
cached for good, an old digest sent to the current file, and nothing in the page or the
vendored libraries that loads from another host."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from voltlab.api.app import create_app
from voltlab.store.db import Database
from voltlab.web.assets import IMMUTABLE, STATIC_DIR, mount_dashboard, static_digest

REPO = Path(__file__).resolve().parents[2]


def client_for(root: Path = STATIC_DIR) -> tuple[TestClient, str]:
    app = FastAPI()
    base = mount_dashboard(app, root)
    return TestClient(app), base


def test_index_names_the_digest_and_forbids_other_hosts() -> None:
    client, base = client_for()
    assert re.fullmatch(r"/static/[0-9a-f]{12}", base)
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert "{{STATIC}}" not in page.text
    # Static attributes only (Alpine's bound `:href` are expressions, not URLs).
    assets = re.findall(r'(?<=\s)(?:src|href)="([^"]+)"', page.text)
    assert f"{base}/app/main.js" in assets
    # Every asset the page names is this server's: a path, a fragment or inline data.
    for url in assets:
        assert url.startswith(("/", "#", "data:")), url
        if url.startswith("/static/"):
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["cache-control"] == IMMUTABLE


def test_digest_follows_content_and_old_digests_redirect(tmp_path: Path) -> None:
    root = tmp_path / "static"
    shutil.copytree(STATIC_DIR, root)
    before = static_digest(root)
    (root / "app" / "style.css").write_text("body { color: red; }\n")
    after = static_digest(root)
    assert before != after
    client, base = client_for(root)
    assert base == f"/static/{after}"
    assert client.get(f"{base}/app/style.css").text == "body { color: red; }\n"
    moved = client.get(f"/static/{before}/app/style.css", follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == f"{base}/app/style.css"
    assert "immutable" not in moved.headers.get("cache-control", "")
    assert client.get(f"{base}/app/missing.js").status_code == 404
    assert client.get(f"{base}/../../pyproject.toml").status_code == 404


def test_the_app_serves_the_dashboard_beside_the_api(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'voltlab.db'}")
    app = create_app(database, fleet=object(), virtual_cpos=False)  # type: ignore[arg-type]
    client = TestClient(app)  # no lifespan: the dashboard's routes need none
    page = client.get("/")
    assert page.status_code == 200 and 'type="module"' in page.text
    # The dashboard's routes stay out of the API's OpenAPI description.
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(path.startswith("/static") for path in paths)
    database.dispose()


def test_vendored_files_match_the_lock_file() -> None:
    vendor = STATIC_DIR / "vendor"
    lock = json.loads((REPO / "frontend" / "package-lock.json").read_text())
    pinned = {
        name.removeprefix("node_modules/"): entry["version"]
        for name, entry in lock["packages"].items()
        if name.startswith("node_modules/")
    }
    listed = dict(
        line.rsplit(" ", 1)
        for line in (vendor / "VERSIONS").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert listed == {name: pinned[name] for name in listed}
    assert {"alpinejs", "uplot", "@picocss/pico"} <= set(listed)
    # No registry host in the lock file: npm wrote no "resolved" URLs (frontend/.npmrc).
    assert '"resolved"' not in (REPO / "frontend" / "package-lock.json").read_text()
    for folder in ("alpinejs", "uplot", "pico"):
        assert any(p.name.startswith("LICENSE") for p in (vendor / folder).iterdir()), folder
