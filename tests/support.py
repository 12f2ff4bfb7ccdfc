"""Helpers the test modules share (a plain module: `conftest` names clash across folders)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(predicate: Callable[[], object], timeout: float = 10.0, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)


def judge_emsp_answers(received: list[dict], version: str) -> list[tuple[str, str, str, str]]:
    """voltlab's rules about an eMSP's answers (voltlab.ocpi.judging.check_answer) applied to
    what an eMSP peer answered (its ``received`` events): (rule, method, path, detail) of each
    error or warning. An answer of 422 with validation errors is left out: py_ocpi (FastAPI)
    refusing a body a test made invalid on purpose (OCPI would answer HTTP 200 and 2001)."""
    from voltlab.ocpi.findings import ocpi_rule
    from voltlab.ocpi.judging import check_answer

    found = []
    for event in received:
        if event.get("status") == 422 and event.get("validation_errors"):
            continue
        sent = {
            name: value
            for name, value in (
                ("X-Request-ID", event["headers"].get("x-request-id")),
                ("X-Correlation-ID", event["headers"].get("x-correlation-id")),
            )
            if value is not None
        }
        answer = check_answer(
            version, sent, event["status"], event["response"], event["response_headers"]
        )
        found += [
            (o.rule, event["method"], event["path"], o.detail)
            for o in answer
            if ocpi_rule(o.rule).severity in ("error", "warning")
        ]
    return found
