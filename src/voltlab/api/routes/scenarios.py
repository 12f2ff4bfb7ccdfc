"""/scenarios: the scenario library and scenario runs (issue 12, docs/api.md "Scenarios").

A run drives this very server through its public Gateway API (an in-process HTTP client with
the caller's key, so the run can do exactly what its caller may and every command takes the
one command path); its steps and verdict are stored in `scenario_runs`."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Query, Request, Response

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import invalid, not_found
from voltlab.api.responses.declare import AUTHENTICATED, READ, WRITE, answers
from voltlab.api.responses.errors import error_responses
from voltlab.api.responses.scenarios import (
    RunAccepted,
    RunList,
    RunView,
    ScenarioLibrary,
    ScenarioSource,
)
from voltlab.api.routing import GatewayRouter
from voltlab.api.scenario_schemas import RunCreate, RunTarget
from voltlab.scenarios.context import Target
from voltlab.scenarios.format import Scenario, ScenarioInvalid
from voltlab.scenarios.library import library, summary
from voltlab.scenarios.report import junit_xml, markdown
from voltlab.scenarios.service import ScenarioRuns, scenario_from

router = GatewayRouter(prefix="/scenarios", tags=["scenarios"], route_class=AuthenticatedRoute)

# How long one Gateway call of a run may take (a location of many chargers is the slowest).
RUN_HTTP_TIMEOUT = 120.0


def _loc(field: str) -> list[str | int]:
    """`steps[2].within` -> ["steps", 2, "within"], as FastAPI's own 422s name a field."""
    parts = field.replace("[", ".").replace("]", "").split(".")
    return [int(part) if part.isdigit() else part for part in parts if part]


def _target(scenario: Scenario, given: RunTarget) -> Target:
    """The target the scenario needs, or a 422 naming what is missing or out of place."""
    loc = ("body", "target")
    if scenario.target == "emsp":
        if given.cpo_id is None and (given.csms_url is not None or not scenario.creates_cpo):
            creates = " (or none: it creates its CPO)" if scenario.creates_cpo else ""
            raise invalid((*loc, "cpo_id"), f"{scenario.name} tests an eMSP: give cpo_id{creates}")
        if given.csms_url is not None:
            raise invalid((*loc, "csms_url"), f"{scenario.name} tests an eMSP, not a CSMS")
        return Target(cpo_id=given.cpo_id, keep=given.keep)
    if given.cpo_id is not None:
        raise invalid((*loc, "cpo_id"), f"{scenario.name} tests a CSMS: give csms_url")
    if given.csms_url is None:
        raise invalid((*loc, "csms_url"), f"{scenario.name} tests a CSMS: give csms_url")
    version = given.ocpp_version
    if version is None:
        raise invalid((*loc, "ocpp_version"), "give the CSMS's OCPP version")
    if scenario.versions and version not in scenario.versions:
        raise invalid(
            (*loc, "ocpp_version"),
            f"scenario {scenario.name} runs on {', '.join(scenario.versions)}, not {version}",
            version,
        )
    return Target(csms_url=given.csms_url, ocpp_version=version, keep=given.keep)


def _runs(request: Request) -> ScenarioRuns:
    runs: ScenarioRuns = request.app.state.scenario_runs
    return runs


@router.get(
    "",
    summary="The built-in scenario library",
    **answers(ScenarioLibrary, *AUTHENTICATED, description="Every library scenario."),
)
async def list_scenarios(principal: CurrentPrincipal) -> dict[str, Any]:
    return {"scenarios": [summary(scenario) for scenario in library().values()]}


@router.get(
    "/library/{name}",
    summary="One library scenario, as written",
    **answers(ScenarioSource, *READ, 404, description="The scenario and its source."),
)
async def get_scenario(name: str, principal: CurrentPrincipal) -> dict[str, Any]:
    scenario = library().get(name)
    if scenario is None:
        raise not_found("scenario", name)
    return {**summary(scenario), "scenario": scenario.source}


@router.post(
    "/runs",
    summary="Start a run",
    **answers(RunAccepted, *WRITE, status=202, description="Queued; follow status_url."),
)
async def start_run(
    body: RunCreate, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    try:
        scenario = scenario_from(body.scenario)
    except KeyError:
        raise invalid(
            ("body", "scenario"),
            f"no library scenario {body.scenario!r} (GET /scenarios lists them)",
            body.scenario,
        ) from None
    except ScenarioInvalid as exc:
        loc = (
            "body",
            "scenario",
            *[p for p in exc.field.replace("[", ".").replace("]", "").split(".") if p],
        )
        raise invalid(loc, exc.message) from None
    target = _target(scenario, body.target)
    try:
        params = scenario.parameters(body.params)
    except ScenarioInvalid as exc:
        raise invalid(("body", *_loc(exc.field)), exc.message) from None
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=request.app),
        base_url="http://voltlab.internal",
        headers={"Authorization": request.headers["authorization"]},
        timeout=RUN_HTTP_TIMEOUT,
    )
    run = await _runs(request).start(principal.org_id, scenario, target, client, params)
    return {key: run[key] for key in RunAccepted.model_fields}


@router.get(
    "/runs",
    summary="Recent runs, newest first",
    **answers(RunList, *READ, description="The newest runs."),
)
async def list_runs(
    principal: CurrentPrincipal,
    request: Request,
    limit: int = Query(default=50, ge=1, le=200),
) -> dict[str, Any]:
    return {"items": await _runs(request).recent(principal.org_id, limit)}


async def _run(request: Request, org_id: str, run_id: str) -> dict[str, Any]:
    run = await _runs(request).get(org_id, run_id)
    if run is None:
        raise not_found("scenario run", run_id)
    return run


@router.get(
    "/runs/{run_id}",
    summary="A run: its steps, verdict and findings",
    **answers(RunView, *READ, 404, description="The run."),
)
async def get_run(run_id: str, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    return await _run(request, principal.org_id, run_id)


@router.get(
    "/runs/{run_id}/junit",
    summary="A run as JUnit XML",
    response_class=Response,
    responses={
        200: {
            "description": "JUnit XML, one testcase per step.",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        },
        **error_responses(*READ, 404),
    },
)
async def get_run_junit(run_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    run = await _run(request, principal.org_id, run_id)
    return Response(junit_xml(run), media_type="application/xml")


@router.get(
    "/runs/{run_id}/report",
    summary="A run as a Markdown report",
    response_class=Response,
    responses={
        200: {
            "description": "The run as Markdown.",
            "content": {"text/markdown": {"schema": {"type": "string"}}},
        },
        **error_responses(*READ, 404),
    },
)
async def get_run_report(run_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    run = await _run(request, principal.org_id, run_id)
    return Response(markdown(run), media_type="text/markdown; charset=utf-8")
