"""`import voltlab.client` (and the pytest plugin, which every pytest run in an environment with
voltlab loads) starts nothing heavy: no fleet, store, web framework or durable engine."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "fastapi", "starlette", "uvicorn", "dbos", "websockets", "picows", "ocpp")
# Of voltlab itself: the client, the plugin and the pure pydantic modules they share with the
# server, the protocol vocabulary those use, and the clock.
ALLOWED = {
    "voltlab",
    "voltlab.api",
    "voltlab.api.bounds",
    "voltlab.api.command_events",
    "voltlab.api.contract_events",
    "voltlab.api.cpo_schemas",
    "voltlab.api.replay_schemas",
    "voltlab.api.scenario_schemas",
    "voltlab.api.schemas",
    "voltlab.clock",
    "voltlab.cpo",
    "voltlab.cpo.limits",
    "voltlab.ocpp",
    "voltlab.ocpp.versions",
}
ALLOWED_PACKAGES = (
    "voltlab.client",
    "voltlab.pytest_plugin",
    "voltlab.api.responses",
    "voltlab.ocpp.vocabulary",
)


def _loaded_after(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def _heavy(modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if m.split(".")[0] in HEAVY
        or m.startswith("voltlab.")
        and m not in ALLOWED
        and not m.startswith(ALLOWED_PACKAGES)
    ]


def test_the_client_imports_no_server() -> None:
    assert _heavy(_loaded_after("import voltlab.client")) == []


def test_the_pytest_plugin_imports_no_server() -> None:
    assert _heavy(_loaded_after("import voltlab.pytest_plugin")) == []


def test_the_check_sees_a_server_import() -> None:
    loaded = _heavy(_loaded_after("import voltlab.client, voltlab.api.app"))
    assert "sqlalchemy" in loaded and "voltlab.fleet.hosting.runtime_api" in loaded
