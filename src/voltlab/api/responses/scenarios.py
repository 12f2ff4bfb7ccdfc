"""Scenarios: the library and the runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from voltlab.api.responses.base import ResponseModel, Timestamp

RunStatus = Literal["queued", "running", "finished"]
Verdict = Literal["passed", "failed", "error"]


class ScenarioSummary(ResponseModel):
    name: str = Field(examples=["boot-and-heartbeat"])
    title: str
    target: Literal["ocpp", "emsp"] = Field(description="what it tests: a CSMS or an eMSP")
    description: str
    requires: str
    versions: list[str] = Field(description="OCPP versions it runs on (empty: any)")
    params: dict[str, Any] = Field(description="its parameters with their defaults")
    steps: int


class ScenarioLibrary(ResponseModel):
    scenarios: list[ScenarioSummary]


class ScenarioSource(ScenarioSummary):
    scenario: dict[str, Any] = Field(description="the scenario as written")


class RunAccepted(ResponseModel):
    run_id: str
    status_url: str
    status: Literal["queued"]
    scenario_name: str


class RunStep(ResponseModel):
    index: int
    name: str
    do: str
    status: Literal["pending", "running", "passed", "failed", "error", "skipped"]
    message: str
    started_at: str | None
    duration_seconds: float | None


class RunCharger(ResponseModel):
    as_: str = Field(alias="as", description="the name the scenario calls it by")
    charger_id: str
    identity: str


class RunView(ResponseModel):
    run_id: str
    scenario_name: str
    status: RunStatus
    verdict: Verdict | None
    target: dict[str, Any] = Field(description="the CSMS or the CPO the run tested")
    params: dict[str, Any]
    steps: list[RunStep]
    findings: list[dict[str, Any]] = Field(description="the findings the run produced")
    findings_available: bool | None
    chargers: list[RunCharger]
    message: str | None
    created_at: Timestamp | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    status_url: str
    junit_url: str
    report_url: str


class RunList(ResponseModel):
    items: list[RunView]
