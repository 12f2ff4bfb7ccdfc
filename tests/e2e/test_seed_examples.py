"""docs/seeds.md's Python examples, run as written (host and token replaced) against
`voltlab serve`: each answers the status the page documents above it, and does what it says
(the CPO provisions to READY; the session starts on a charger that boots against the strict
ocpp-rpc CSMS)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

SEEDS = Path(__file__).resolve().parents[2] / "docs" / "seeds.md"
EXAMPLE = re.compile(
    r"<!-- seed-example: (?P<name>[a-z-]+), status (?P<status>\d{3}) -->\n"
    r"```python\n(?P<code>.*?)```",
    re.DOTALL,
)
SEED_HOST = "https://host.com"


def examples() -> dict[str, tuple[int, str]]:
    found = {m["name"]: (int(m["status"]), m["code"]) for m in EXAMPLE.finditer(SEEDS.read_text())}
    assert set(found) == {"create-cpo", "start-session"}, found
    return found


def run_example(code: str, base: str) -> tuple[Any, str]:
    """Executes the example's code, host and token replaced; returns its `response` and what it
    printed."""
    assert code.count(SEED_HOST) == 1 and code.count("<token>") == 1
    source = code.replace(SEED_HOST, base).replace("<token>", API_KEY)
    namespace: dict[str, Any] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, str(SEEDS), "exec"), namespace)  # the page's own code
    return namespace["response"], printed.getvalue()


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(tmp_path, free_port())
    yield server
    server.stop()


async def test_create_cpo_example(serve: ServeProcess) -> None:
    status, code = examples()["create-cpo"]
    serve.start()
    await serve.wait_healthy()
    response, printed = await asyncio.to_thread(run_example, code, serve.base)
    assert response.status_code == status == 202, response.text
    body = response.json()
    assert printed.strip() == str(body)
    assert body["party"] == {"country_code": "FR", "party_id": "ABC", "role": "CPO"}
    assert body["name_prefix"] == "alice" and body["status"] == "PENDING"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http:
        final = await wait_ready(http, body["status_url"])
        assert final["status"] == "READY", final
        cpo = (await http.get(f"/ocpi/cpos/{body['cpo_id']}")).json()
        assert len(cpo["location_ids"]) == 2 and len(cpo["charger_ids"]) == 6


async def test_start_session_example(serve: ServeProcess) -> None:
    status, code = examples()["start-session"]
    headers = {"Authorization": f"Bearer {API_KEY}"}
    serve.start()
    await serve.wait_healthy()
    async with (
        OcppRpcPeer(protocols=("ocpp1.6",), strict=True) as csms,
        httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=15) as http,
    ):
        # Without charger dep-789 the example answers 404 naming it.
        response, _ = await asyncio.to_thread(run_example, code, serve.base)
        assert response.status_code == 404 and "dep-789" in response.json()["detail"]

        # A stopped charger, renamed dep-789 in the database, then started.
        created = await http.post(
            "/ocpp/chargers",
            json={
                "identity": "CP-TEST-001",
                "csms_url": csms.url,
                "ocpp_version": "ocpp1.6",
                "model": "ac-22kw-2c",
                "auto_start": False,
            },
        )
        assert created.status_code == 201, created.text
        with sqlite3.connect(serve.workdir / "voltlab.db") as db:
            db.execute(
                "UPDATE chargers SET id = 'dep-789' WHERE id = ?", (created.json()["charger_id"],)
            )
        assert (await http.post("/ocpp/chargers/dep-789/start")).status_code in (200, 202)
        deadline = time.monotonic() + 20
        while True:
            state = (await http.get("/ocpp/chargers/dep-789")).json()
            if state["registration"] == "Accepted" and state["connection"] == "connected":
                break
            assert time.monotonic() < deadline, state
            await asyncio.sleep(0.1)

        response, printed = await asyncio.to_thread(run_example, code, serve.base)
        assert response.status_code == status == 202, response.text
        body = response.json()
        assert printed.strip() == str(body)
        assert (body["targeted_count"], body["queued_count"], body["failed"]) == (1, 1, [])
        [result] = body["results"]
        assert (result["charger_id"], result["identity"]) == ("dep-789", "CP-TEST-001")
        assert result["command"]["event_type"] == "start_session"
        assert result["command"]["payload"] == {
            "id_tag": "EV-USER-1234",
            "connector_id": 2,
            "duration_seconds": 900,
            "target_energy_kwh": 15.5,
        }
        # It does what the page says: the CSMS sees the transaction start on connector 2.
        start = await csms.wait_for_call("CP-TEST-001", "StartTransaction", timeout=20)
        assert start["connectorId"] == 2 and start["idTag"] == "EV-USER-1234"
        assert not csms.strict_failures
