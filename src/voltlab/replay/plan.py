"""From a request to a replay that can run: the capture read, the station's identity and OCPP
version settled (given, or taken from the capture), the script built. Every refusal is a
`CaptureInvalid` naming the request field at fault. Sans-I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from voltlab.replay.capture import CaptureInvalid
from voltlab.replay.formats import AUTO, parse_capture
from voltlab.replay.player import ReplayPacing, ReplayTarget
from voltlab.replay.script import Script, build_script, detect_version

# OCPP 2.0.1's rule for a station identity (it travels in the URL): as the chargers' API.
IDENTITY = re.compile(r"^[A-Za-z0-9._~\-]{1,48}$")


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    script: Script
    target: ReplayTarget
    pacing: ReplayPacing
    format: str


def plan_replay(
    capture_text: str,
    *,
    csms_url: str,
    format: str = AUTO,
    identity: str | None = None,
    ocpp_version: str | None = None,
    pacing: ReplayPacing | None = None,
    security: dict[str, Any] | None = None,
) -> ReplayPlan:
    capture = parse_capture(capture_text, format, identity)
    station = identity or capture.identity
    if station is None:
        raise CaptureInvalid(
            "the capture does not name its station: give `identity`", field="identity"
        )
    if IDENTITY.match(station) is None:
        raise CaptureInvalid(
            f"the capture's station {station!r} is not a valid identity (1-48 of A-Z a-z 0-9 "
            ". _ ~ -): give `identity`",
            field="identity",
        )
    if ocpp_version and capture.ocpp_version and ocpp_version != capture.ocpp_version:
        raise CaptureInvalid(
            f"the capture is {capture.ocpp_version}: its frames cannot be replayed as "
            f"{ocpp_version}",
            field="ocpp_version",
        )
    version = ocpp_version or capture.ocpp_version or detect_version(capture)
    if version is None:
        raise CaptureInvalid(
            "no OCPP version's schemas accept the capture's station CALLs: give `ocpp_version`",
            field="ocpp_version",
        )
    script = build_script(capture, version)
    return ReplayPlan(
        script, ReplayTarget(csms_url, station, security), pacing or ReplayPacing(), capture.format
    )
