"""Issue 14: kill -9 of `voltlab serve` while OCPI pushes are pending because the eMSP is down.
After the restart and the eMSP's return, every Session and CDR push arrives exactly once, in
order per object.

The eMSP here is a small recording one served in this process (uvicorn on a fixed port), not
the extrawest-ocpi peer: the test must stop it and start it again on the same address, and the
peer process binds a fresh port and forgets its registration when restarted."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .serve_support import API_KEY, ServeProcess, free_port, wait_ready

TOKEN_B = "outbox-emsp-token-b-0123456789"
UID = "OUTBOX-RFID-1"
MODULES = ("sessions", "cdrs", "locations", "commands", "tokens")


def _ocpi(data: Any = None) -> dict[str, Any]:
    return {
        "data": data,
        "status_code": 1000,
        "status_message": "Success",
        "timestamp": "2026-01-01T00:00:00Z",
    }


class RecordingEmsp:
    """Answers versions and details, records every module request, answers 1000."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.received: list[tuple[str, str, Any]] = []  # method, path, body

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def echo_ids(request: Request, call_next: Any) -> Any:
            response = await call_next(request)  # OCPI 2.2.1: the answer repeats the ids
            for name in ("x-request-id", "x-correlation-id"):
                if name in request.headers:
                    response.headers[name] = request.headers[name]
            return response

        @app.get("/emsp/versions")
        async def versions() -> JSONResponse:
            return JSONResponse(
                _ocpi([{"version": "2.2.1", "url": f"{self.base}/emsp/2.2.1/details"}])
            )

        @app.get("/emsp/2.2.1/details")
        async def details() -> JSONResponse:
            endpoints = [
                {"identifier": m, "role": "RECEIVER", "url": f"{self.base}/emsp/2.2.1/{m}"}
                for m in MODULES
            ]
            return JSONResponse(_ocpi({"version": "2.2.1", "endpoints": endpoints}))

        @app.api_route("/emsp/2.2.1/{rest:path}", methods=["POST", "PUT", "PATCH"])
        async def module(request: Request, rest: str) -> JSONResponse:
            raw = await request.body()
            self.received.append(
                (request.method, request.url.path, json.loads(raw) if raw else None)
            )
            return JSONResponse(_ocpi())

        return app

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and not task.done(), "the eMSP did not start"
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            server.should_exit = True
            await task

    def pushes(self, module: str) -> list[tuple[str, str, Any]]:
        return [r for r in self.received if f"/emsp/2.2.1/{module}" in r[1]]


def ocpi_ids() -> dict[str, str]:
    return {"X-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": str(uuid.uuid4())}


def outbox_rows(database: Path) -> list[tuple[int, str, str, str, str, int]]:
    """(id, module, object_key, method, state, attempts) of every outbox row, in id order."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute(
            "SELECT id, module, object_key, method, state, attempts FROM ocpi_outbox ORDER BY id"
        ).fetchall()


async def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


@pytest.fixture
def serve(tmp_path: Path):
    server = ServeProcess(
        tmp_path,
        free_port(),
        # The eMSP is down on purpose: the pushes' findings about it are expected.
        emsp_breaks=("ocpi-push-unreachable",),
        VOLTLAB_OCPI_PUSH_MAX_ATTEMPTS="1000",
        VOLTLAB_OCPI_PUSH_RETRY_BASE_DELAY="0.2",
        VOLTLAB_OCPI_PUSH_RETRY_MAX_DELAY="1.0",
    )
    yield server
    server.stop()


async def _register(http: httpx.AsyncClient, created: dict[str, Any], emsp: RecordingEmsp) -> str:
    """The eMSP's side of the credentials handshake; returns Token C."""
    token_a = base64.b64encode(created["token_a"].encode()).decode()
    base = created["ocpi_peer_url"].rsplit("/ocpi/", 1)[0]
    answer = await http.post(
        f"{base}/ocpi/2.2.1/credentials",
        headers={"Authorization": f"Token {token_a}", **ocpi_ids()},
        json={
            "token": TOKEN_B,
            "url": f"{emsp.base}/emsp/versions",
            "roles": [
                {
                    "role": "EMSP",
                    "party_id": "EMS",
                    "country_code": "NL",
                    "business_details": {"name": "Outbox eMSP"},
                }
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["token"])


async def test_kill_9_with_pushes_pending_and_the_emsp_down(serve: ServeProcess) -> None:
    database = serve.workdir / "voltlab.db"
    emsp = RecordingEmsp(free_port())
    serve.start()
    await serve.wait_healthy()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=serve.base, headers=headers, timeout=20) as http:
        created = (
            await http.post(
                "/ocpi/cpos",
                json={
                    "template": "small-urban-ac",
                    "country_code": "FR",
                    "party_id": "OBX",
                    "name_prefix": "obx",
                    "seed": 7,
                    "overrides": {"locations": 1, "chargers_per_location": 2},
                },
            )
        ).json()
        async with emsp.serving():
            token_c = await _register(http, created, emsp)
            status = await wait_ready(http, created["status_url"])
            assert status["status"] == "READY", status
            token_header = "Token " + base64.b64encode(token_c.encode()).decode()
            pushed = await http.put(
                f"/ocpi/2.2.1/tokens/NL/EMS/{UID}",
                headers={"Authorization": token_header, **ocpi_ids()},
                json={
                    "country_code": "NL",
                    "party_id": "EMS",
                    "uid": UID,
                    "type": "RFID",
                    "contract_id": "NL-EMS-C00000001-X",
                    "issuer": "Outbox eMSP",
                    "valid": True,
                    "whitelist": "ALWAYS",
                    "last_updated": "2026-01-01T00:00:00Z",
                },
            )
            assert pushed.status_code in (200, 201), pushed.text
        # The eMSP is down from here on.
        cpo = (await http.get(f"/ocpi/cpos/{created['cpo_id']}")).json()
        for charger_id in cpo["charger_ids"]:
            answer = await http.post(
                "/ocpp/commands/start-session",
                json={
                    "target": {"charger_id": charger_id},
                    "event": {"id_tag": UID, "connector_id": 1, "duration_seconds": 900},
                },
            )
            assert answer.status_code == 202, answer.text

        def cdrs_pending() -> bool:
            tried = [r for r in outbox_rows(database) if r[1] == "cdrs" and r[5] >= 1]
            return len(tried) == len(cpo["charger_ids"])

        # 900 simulated seconds at the serve fixture's time scale of 100: about 9 s.
        await wait_until(cdrs_pending, 60, "both CDRs in the outbox, tried and failed")
        serve.kill()
    before = outbox_rows(database)
    session_rows = [r for r in before if r[1] == "sessions"]
    cdr_rows = [r for r in before if r[1] == "cdrs"]
    assert session_rows and all(r[4] == "pending" for r in session_rows + cdr_rows), before
    assert all(r[5] >= 1 for r in cdr_rows), "the CDRs were attempted before the kill"
    # No Session or CDR reached the eMSP while it was down.
    assert emsp.pushes("sessions") == [] and emsp.pushes("cdrs") == []

    serve.start()
    await serve.wait_healthy()
    async with emsp.serving():

        def delivered() -> bool:
            rows = outbox_rows(database)
            return all(r[4] != "pending" for r in rows if r[1] in ("sessions", "cdrs"))

        await wait_until(delivered, 60, "the outbox delivered after the restart")
        after = {r[0]: r for r in outbox_rows(database)}

    # Every Session and CDR row succeeded, and each arrived exactly once: as many requests
    # as rows, per object, in row order.
    for row in session_rows + cdr_rows:
        assert after[row[0]][4] == "succeeded", after[row[0]]
    sessions = emsp.pushes("sessions")
    assert len(sessions) == len(session_rows)
    by_session: dict[str, list[tuple[str, Any]]] = {}
    for method, path, body in sessions:
        by_session.setdefault(path.rsplit("/", 1)[1], []).append((method, body))
    assert len(by_session) == len(cpo["charger_ids"])
    for session_id, requests in by_session.items():
        rows = [r for r in session_rows if r[2] == f"session:{session_id}"]
        assert [m for m, _ in requests] == [r[3] for r in rows], session_id
        assert requests[0][0] == "PUT" and requests[0][1]["status"] == "ACTIVE"
        stamps = [body["last_updated"] for _, body in requests]
        assert stamps == sorted(stamps), stamps  # in order per object
        assert requests[-1][1]["status"] == "COMPLETED"
    cdrs = emsp.pushes("cdrs")
    assert len(cdrs) == len(cdr_rows) == len(cpo["charger_ids"])
    assert {body["session_id"] for _, _, body in cdrs} == set(by_session)
    assert len({body["id"] for _, _, body in cdrs}) == len(cdrs)
