"""/ocpp/replays: a captured OCPP-J session played as the station against a CSMS, every answer
compared with the captured one (issue 16, docs/replay.md). The run goes on in the background;
its row in `replay_runs` says how it went."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, Query, Request

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import invalid, not_found
from voltlab.api.openapi_examples import REPLAY_EXAMPLES, request_examples
from voltlab.api.replay_schemas import ReplayCreate
from voltlab.api.responses.declare import READ, WRITE, answers
from voltlab.api.responses.replays import ReplayList, ReplayView
from voltlab.api.routing import GatewayRouter
from voltlab.replay.capture import CaptureInvalid
from voltlab.replay.plan import plan_replay
from voltlab.replay.player import ReplayPacing
from voltlab.replay.service import ReplayRuns

MAX_SHOWN_LINE = 200


@asynccontextmanager
async def _replay_runs(app: FastAPI) -> AsyncIterator[None]:
    """The runs of this process: started after the app's own start (the schema is migrated
    by then), stopped before the app's own stop."""
    runs = ReplayRuns(app.state.database)
    await anyio.to_thread.run_sync(runs.abandon_unfinished)
    app.state.replay_runs = runs
    try:
        yield
    finally:
        await runs.shutdown()


router = GatewayRouter(
    prefix="/ocpp/replays",
    tags=["replays"],
    route_class=AuthenticatedRoute,
    lifespan=_replay_runs,
)


def _runs(request: Request) -> ReplayRuns:
    runs: ReplayRuns = request.app.state.replay_runs
    return runs


def _line_text(capture: str, line: int | None) -> str | None:
    if line is None:
        return None
    lines = capture.splitlines()
    return lines[line - 1][:MAX_SHOWN_LINE] if 0 < line <= len(lines) else None


@router.post(
    "",
    summary="Replay a captured session against a CSMS",
    openapi_extra=request_examples(REPLAY_EXAMPLES),
    **answers(ReplayView, *WRITE, status=202, description="The run, started; follow status_url."),
)
async def start_replay(
    body: ReplayCreate, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    pacing = ReplayPacing(body.speed, body.answer_timeout_seconds, body.csms_call_timeout_seconds)
    security = body.security.model_dump(exclude_none=True) if body.security else None

    def plan() -> Any:
        return plan_replay(
            body.capture,
            csms_url=body.csms_url,
            format=body.format,
            identity=body.identity,
            ocpp_version=body.ocpp_version,
            pacing=pacing,
            security=security,
        )

    try:
        # Reading a capture of thousands of frames (and their schema checks) off the loop.
        replay = await anyio.to_thread.run_sync(plan)
    except CaptureInvalid as exc:
        value = _line_text(body.capture, exc.line) if exc.field == "capture" else None
        raise invalid(("body", exc.field), str(exc), value) from None
    return await _runs(request).start(principal.org_id, replay)


@router.get(
    "",
    summary="Recent replay runs, newest first",
    **answers(ReplayList, *READ, description="The newest runs."),
)
async def list_replays(
    principal: CurrentPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    return {"items": await _runs(request).recent(principal.org_id, limit)}


@router.get(
    "/{run_id}",
    summary="A replay run: status, counts and divergences",
    **answers(ReplayView, *READ, 404, description="The run."),
)
async def get_replay(run_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    run = await _runs(request).get(principal.org_id, run_id)
    if run is None:
        raise not_found("replay run", run_id)
    return run
