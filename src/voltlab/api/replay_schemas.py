"""POST /ocpp/replays's body (docs/replay.md). Pure pydantic, shared with `voltlab.client`;
the run's answer is api/responses/replays.py's ReplayView."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from voltlab.api.schemas import CsmsUrl, Identity, SecurityIn, StrictModel

MAX_CAPTURE_CHARS = 1_000_000  # the body limit (1 MiB) bounds it first

# As voltlab.replay.formats.FORMATS.
CaptureFormat = Literal["auto", "jsonl", "python-ocpp-log"]


class ReplayCreate(StrictModel):
    csms_url: CsmsUrl
    capture: str = Field(
        min_length=1,
        max_length=MAX_CAPTURE_CHARS,
        description="the captured session as text, in `format` (docs/replay.md)",
    )
    format: CaptureFormat = Field(
        default="auto",
        description="jsonl ({timestamp, direction, frame} per line; voltlab's export) or "
        "python-ocpp-log (the Python ocpp library's log); auto detects it",
    )
    identity: Identity | None = Field(
        default=None,
        description="the station's identity (default: the capture's); in a log of several "
        "stations, the one replayed",
    )
    ocpp_version: Literal["ocpp1.6", "ocpp2.0.1", "ocpp2.1"] | None = Field(
        default=None, description="default: the capture's, or the version its CALLs validate as"
    )
    speed: float = Field(
        default=1.0, gt=0, le=10_000, description="1: the captured pacing; 60: sixty times faster"
    )
    answer_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="how long the CSMS has to answer a CALL"
    )
    csms_call_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="how late a captured CSMS CALL may come before it is reported missing",
    )
    security: SecurityIn | None = None
