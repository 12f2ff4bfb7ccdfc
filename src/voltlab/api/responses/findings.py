"""Findings about the system under test (the CSMS or the eMSP) and their evidence."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from voltlab.api.responses.base import ResponseModel, Timestamp
from voltlab.api.responses.chargers import ResponseTimeView

Severity = Literal["error", "warning", "info"]


class FrameEvidence(ResponseModel):
    """An OCPP-J frame as it went over the wire (`in`: CSMS -> station)."""

    direction: Literal["in", "out"]
    action: str | None
    message_id: str | None
    frame: str


class HttpEvidence(ResponseModel):
    """An OCPI exchange between the virtual CPO and the eMSP (`in`: the eMSP called)."""

    direction: Literal["in", "out"]
    method: str
    url: str
    status: int | None = Field(description="null when no answer came")
    request_headers: dict[str, str]
    request_body: Any
    response_headers: dict[str, str]
    body: Any = Field(description="the response body")
    error: str | None = None


class FindingView(ResponseModel):
    id: str
    charger_id: str | None
    location_id: str | None
    cpo_id: str | None
    rule: str
    severity: Severity
    title: str
    detail: str
    spec_ref: str
    at: Timestamp
    evidence: list[FrameEvidence | HttpEvidence]


class ChargerFindings(ResponseModel):
    findings: list[FindingView]
    next_cursor: str | None
    response_times: dict[str, ResponseTimeView] = Field(
        description="how fast the CSMS answered, per action (empty unless this process runs "
        "the charger)"
    )


class FindingsWithCounts(ResponseModel):
    """A location's or a virtual CPO's findings, with how many there are per rule."""

    findings: list[FindingView]
    next_cursor: str | None
    counts: dict[str, int]
