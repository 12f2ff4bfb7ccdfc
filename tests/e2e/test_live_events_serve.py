"""The live channel of `voltlab serve` (a real process): a CPO's provisioning steps arrive as
`cpo` events until READY, and SIGTERM with a stream open still stops the server at once
(uvicorn alone waits for open responses; `LiveServer` ends the streams first)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.sse_support import EventStream  # noqa: E402

from .serve_support import API_KEY, ServeProcess, free_port  # noqa: E402

CPO = {
    "template": "small-urban-ac",
    "country_code": "FR",
    "party_id": "LIV",
    "name_prefix": "live",
    "overrides": {"locations": 1, "chargers_per_location": 2},
}


async def test_cpo_steps_live_and_shutdown_with_open_stream(tmp_path: Path) -> None:
    serve = ServeProcess(tmp_path, free_port())
    serve.start()
    try:
        await serve.wait_healthy()
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with (
            httpx.AsyncClient(base_url=serve.base, timeout=30) as http,
            EventStream(http, "cpos,fleet", headers) as live,
        ):
            response = await http.post("/ocpi/cpos", json=CPO, headers=headers)
            assert response.status_code == 202, response.text
            cpo_id = response.json()["cpo_id"]
            await live.wait_for(
                lambda s: any(e["status"] == "READY" for e in s.of("cpo")), timeout=60
            )
            events = [e for e in live.of("cpo") if e["cpo_id"] == cpo_id]
            seen = {(step["name"], step["state"]) for e in events for step in e["steps"]}
            assert ("generate_network", "running") in seen or ("generate_network", "done") in seen
            assert ("wait_until_booted", "done") in seen
            last = events[-1]
            assert last["status"] == "READY" and last["at"].endswith("Z")
            status = (await http.get(f"/ocpi/cpos/{cpo_id}/status", headers=headers)).json()
            assert [s["state"] for s in status["steps"]] == [s["state"] for s in last["steps"]]
            # The CPO's chargers are fleet chargers: their boot arrived on `fleet` too.
            await live.wait_for(
                lambda s: sum(1 for d in s.of("charger") if d["registration"] == "Accepted") >= 2
            )
            # SIGTERM with the stream open: exit 0 well within the bound, the stream ends.
            started = time.monotonic()
            await asyncio.to_thread(serve.stop)
            assert time.monotonic() - started < 10
            await live.wait_for(lambda s: s.ended, timeout=5)
    finally:
        if serve.proc is not None:
            serve.kill()
