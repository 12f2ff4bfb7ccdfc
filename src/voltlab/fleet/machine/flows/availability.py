"""ChangeAvailability: the station model applies it at once or schedules it for the end of the
running transaction; the changed statuses are reported once the answer is on the wire."""

from __future__ import annotations

from typing import cast

from voltlab.fleet.machine.effects import Answer, Effect, ReportStatus
from voltlab.fleet.machine.messages import (
    AvailabilityStatus,
    ChangeAvailability,
    ChangeAvailabilityAnswer,
)
from voltlab.fleet.model.station import Station


def change_availability(station: Station, request: ChangeAvailability, now: float) -> list[Effect]:
    connector_id = request.connector_id
    if connector_id != 0 and connector_id not in station.connectors:
        return [Answer(ChangeAvailabilityAnswer("Rejected"))]
    status = station.change_availability(connector_id, request.operative, now)
    # Reporting the status also stores the change (the runner's publish_status).
    return [Answer(ChangeAvailabilityAnswer(cast(AvailabilityStatus, status))), ReportStatus()]
