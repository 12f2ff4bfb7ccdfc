"""The interface the API layer uses to reach the fleet. Implemented by `fleet.runtime.FleetRuntime`.

Kept separate so the API can be written and tested against it while the runtime evolves, and so a
future multi-process deployment can put a remote implementation behind the same calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from voltlab.fleet.driver.configuration_view import ChargerConfiguration
from voltlab.store.models import Charger


@dataclass(frozen=True)
class ChargerSpec:
    charger_id: str
    org_id: str
    identity: str
    csms_url: str
    ocpp_version: str  # ocpp1.6 | ocpp2.0.1 | ocpp2.1
    model: str  # catalog slug
    location_id: str | None = None
    security: dict[str, Any] | None = None  # {"profile": 1, "password": "..."}
    state: dict[str, Any] | None = None  # snapshot restored from the store


@dataclass(frozen=True, slots=True)
class StatusView:
    """What the fleet page counts and filters by: connection, registration (None before an
    answer) and each connector's status, as of the station's last step."""

    connection: str
    registration: str | None
    statuses: tuple[str | None, ...]


class Fleet(Protocol):
    async def start_charger(self, spec: ChargerSpec) -> None:
        """Load (if needed) and connect the charger. Idempotent."""

    async def stop_charger(self, charger_id: str) -> None:
        """Disconnect the charger; its state stays (connection becomes 'stopped')."""

    async def remove_charger(self, charger_id: str) -> None:
        """Disconnect and forget the charger (after its row was deleted)."""

    def live_state(self, charger_id: str) -> dict[str, Any] | None:
        """Live state for GET /ocpp/chargers/{id}: connection, registration, connectors[], faults.
        None when this runtime does not host the charger."""

    def status_view(self, charger_id: str) -> StatusView | None:
        """The charger's connection, registration and connector statuses, cheaply (the fleet
        page reads them for every charger of an org). None when not hosted here."""

    def hosted(self) -> list[str]:
        """The ids of the chargers this runtime hosts (`GET /metrics` counts their states)."""

    def configuration(self, spec: ChargerSpec) -> ChargerConfiguration | None:
        """The charger's OCPP 1.6 keys or 2.x device model: from the station when this runtime
        hosts it, else from `spec.state` (its stored snapshot). None for an unknown model."""

    def submit_command(self, command_id: str) -> None:
        """Hand a queued command record to the dispatcher; returns at once."""

    async def flush(self) -> None:
        """Write buffered frames and state to the store."""

    async def flush_log(self) -> None:
        """Write the frames and findings buffered so far (the API calls this before reading
        the frame log or the findings, so a reader sees every frame sent so far); concurrent
        callers share the write."""


def spec_from_row(row: Charger) -> ChargerSpec:
    return ChargerSpec(
        charger_id=row.id,
        org_id=row.org_id,
        identity=row.identity,
        csms_url=row.csms_url,
        ocpp_version=row.ocpp_version,
        model=row.model,
        location_id=row.location_id,
        security=row.security,
        state=row.state,
    )
