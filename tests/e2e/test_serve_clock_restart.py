"""Simulated time never goes backwards across a restart of `voltlab serve`
(VOLTLAB_TIME_SCALE=100, stopped by SIGTERM or kill -9), as the strict ocpp-rpc CSMS sees it:
every timestamp it receives after the restart is at or after every one it received before,
and the PowerLoss stop of the transaction the restart interrupted comes after its last
MeterValues. Without the stored clock the restarted process would start simulated time again
at the wall clock, hundreds of simulated seconds in the past."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from peers.ocpp_rpc_peer import OcppRpcPeer

from .crash_support import HEADERS, create_location, wait_booted
from .serve_support import ServeProcess, free_port


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _timestamps(frame: list[Any]) -> list[datetime]:
    """The timestamps an OCPP 1.6 CALL from a station carries."""
    action, payload = frame[2], frame[3]
    stamps = [payload["timestamp"]] if "timestamp" in payload else []
    if action in ("MeterValues", "StopTransaction"):
        key = "meterValue" if action == "MeterValues" else "transactionData"
        stamps += [mv["timestamp"] for mv in payload.get(key, [])]
    return [_ts(s) for s in stamps]


def _calls(peer: OcppRpcPeer, identity: str) -> list[list[Any]]:
    return [f for f in peer.frames(identity, direction="in") if f[0] == 2]


async def _wait(check, what: str, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s")


@pytest.mark.parametrize("stop", ["sigterm", "kill"])
async def test_timestamps_never_go_back_across_a_restart(
    tmp_path: Path, peer16: OcppRpcPeer, stop: str
) -> None:
    serve = ServeProcess(tmp_path, free_port())  # VOLTLAB_TIME_SCALE=100
    serve.start()
    try:
        await serve.wait_healthy()
        async with httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=20) as http:
            location = await create_location(http, peer16, 1, "ocpp1.6", f"CP-CLK-{stop}-")
            identity = location["chargers"][0]["identity"]
            await wait_booted(peer16, [identity])
            target = {"location_id": location["location_id"]}
            for slug, event in (
                ("plug-connector", {"connector_id": 1}),
                ("start-session", {"id_tag": "CLOCK-TAG", "connector_id": 1}),
            ):
                response = await http.post(
                    f"/ocpp/commands/{slug}", json={"target": target, "event": event}
                )
                assert response.status_code == 202, response.text
            await _wait(
                lambda: len(peer16.calls(identity, "MeterValues")) >= 4, "4 MeterValues", 30
            )
        # A few real seconds at scale 100: simulated time runs minutes ahead of the wall clock.
        await asyncio.sleep(2.0)
        serve.stop() if stop == "sigterm" else serve.kill()
        await peer16.sync()
        before = _calls(peer16, identity)
        serve.start()
        await serve.wait_healthy()
        await _wait(
            lambda: peer16.calls(identity, "StopTransaction"), "the PowerLoss StopTransaction", 30
        )
        async with httpx.AsyncClient(base_url=serve.base, headers=HEADERS, timeout=20) as http:
            # A new session after the restart: its start and samples are stamped too.
            response = await http.post(
                "/ocpp/commands/start-session",
                json={"target": target, "event": {"id_tag": "CLOCK-TAG", "connector_id": 1}},
            )
            assert response.status_code == 202, response.text
            await _wait(
                lambda: (
                    len(_calls(peer16, identity)) > len(before)
                    and len(peer16.calls(identity, "MeterValues"))
                    >= len([f for f in before if f[2] == "MeterValues"]) + 2
                ),
                "MeterValues of the new session",
                30,
            )
        await peer16.sync()
    finally:
        serve.stop()
    after = _calls(peer16, identity)[len(before) :]
    stamped_before = [t for f in before for t in _timestamps(f)]
    stamped_after = [t for f in after for t in _timestamps(f)]
    assert stamped_before and stamped_after
    latest_before = max(stamped_before)
    went_back = [(f[2], t.isoformat()) for f in after for t in _timestamps(f) if t < latest_before]
    print(
        f"{stop}: {len(stamped_before)} timestamps before, {len(stamped_after)} after; latest "
        f"before {latest_before.isoformat()}, earliest after {min(stamped_after).isoformat()}"
    )
    assert went_back == [], f"after the restart, before {latest_before.isoformat()}: {went_back}"
    stops = [f[3] for f in after if f[2] == "StopTransaction"]
    assert stops and stops[0].get("reason") == "PowerLoss", stops
    first_tx = stops[0]["transactionId"]
    samples = [
        _ts(mv["timestamp"])
        for f in before + after
        if f[2] == "MeterValues" and f[3].get("transactionId") == first_tx
        for mv in f[3]["meterValue"]
    ]
    assert samples and _ts(stops[0]["timestamp"]) > max(samples)
    assert peer16.strict_failures == []
