"""Shapes the 1.6 and 2.x codecs share: a MeterValue of samples said in a version's words,
and a charging profile read out of a CSMS request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voltlab.fleet.measurands import Sample
from voltlab.fleet.smart_charging import ChargingProfile, ProfileError

Payload = dict[str, Any]


def encode_meter_value(
    timestamp: str, context: str, samples: tuple[Sample, ...], say: Callable[[Sample, str], Payload]
) -> Payload:
    """One MeterValue: each sample said in the version's words by `say`."""
    return {"timestamp": timestamp, "sampledValue": [say(sample, context) for sample in samples]}


def read_profile(
    body: Payload | None, parse: Callable[[Payload], ChargingProfile]
) -> tuple[ChargingProfile | None, str | None]:
    """A charging profile in a CSMS request, or why it could not be read (a reason code)."""
    if not body:
        return None, None
    try:
        return parse(body), None
    except ProfileError as exc:
        return None, exc.reason
