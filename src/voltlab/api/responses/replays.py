"""Replays of a captured session against a CSMS (`/ocpp/replays`, docs/replay.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from voltlab.api.responses.base import ResponseModel, Timestamp

ReplayStatus = Literal["running", "passed", "diverged", "error"]


class ReplayDifference(ResponseModel):
    path: str
    problem: str = Field(examples=["value"])
    expected: Any = None
    actual: Any = None
    detail: str | None = None


class ReplayDivergence(ResponseModel):
    """One way the CSMS did not do what the capture shows, with both frames."""

    kind: str = Field(examples=["answer-differs"])
    exchange: int | None
    action: str
    detail: str
    at: str
    expected: dict[str, Any] | None = Field(description="the captured frame, as captured")
    actual: dict[str, Any] | None = Field(description="the CSMS's frame; null when none came")
    request: dict[str, Any] | None = Field(description="the station's CALL, as sent")
    differences: list[ReplayDifference]


class UnusedLine(ResponseModel):
    line: int
    reason: str


class ReplayView(ResponseModel):
    run_id: str
    status: ReplayStatus
    identity: str
    csms_url: str
    ocpp_version: str
    format: str
    speed: float
    settings: dict[str, Any] = Field(description="timeouts and the security profile asked for")
    capture_span_seconds: float
    counts: dict[str, int] = Field(description="exchanges, played, divergences, ...")
    findings: list[ReplayDivergence]
    unused_lines: list[UnusedLine] = Field(description="capture lines the replay did not use")
    bindings: dict[str, Any] = Field(description="ids the replay bound to the CSMS's")
    message: str | None
    duration_seconds: float | None
    created_at: Timestamp | None
    finished_at: Timestamp | None
    status_url: str


class ReplayList(ResponseModel):
    items: list[ReplayView]
