"""The dashboard's own unit tests (tests/web/js/*.test.mjs: the live channel's stream parser,
the schema-driven command forms and their validation, the display helpers), run by Node's
built-in test runner (`node --test`, no npm dependency) so that CI runs them with the rest.

The schema tests read the app's real OpenAPI document, written here to a file. Node missing
fails this test rather than skipping it: a UI test that never runs can never fail."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from voltlab.api.app import create_app
from voltlab.store.db import Database

JS_TESTS = Path(__file__).parent / "js"
# Node 20.10 and later: the dashboard's modules are plain `.js` ES modules (no package.json
# says so), which Node recognises by their syntax with this flag (the default from 20.19).
NODE_FLAGS = ("--experimental-detect-module",)
MIN_TESTS = 15  # as many as the files hold today: a runner that finds fewer lost some


def test_dashboard_js_units(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is missing: the dashboard's unit tests run on Node 20's test runner "
            "(`apt-get install nodejs`)",
            pytrace=False,
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major, minor = (int(part) for part in version.stdout.strip().lstrip("v").split(".")[:2])
    assert (major, minor) >= (20, 10), f"Node {version.stdout.strip()}: 20.10 or later needed"

    database = Database(f"sqlite:///{tmp_path / 'openapi.db'}")
    try:
        openapi = create_app(database, object()).openapi()  # type: ignore[arg-type]
    finally:
        database.dispose()
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(openapi))

    files = sorted(str(path) for path in JS_TESTS.glob("*.test.mjs"))
    assert len(files) >= 3, files
    done = subprocess.run(
        [node, *NODE_FLAGS, "--test", *files],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VOLTLAB_OPENAPI_JSON": str(schema_file)},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    counts = {name: int(n) for name, n in re.findall(r"^# (pass|fail) (\d+)$", output, re.M)}
    assert counts.get("fail") == 0 and counts.get("pass", 0) >= MIN_TESTS, output
