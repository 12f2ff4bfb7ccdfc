"""The client's models against a live server's /openapi.json: each component the client uses
field by field (type, required, bounds, enums, defaults), each route's answer and body, each
command's event. A model changed on one side only fails here."""

from __future__ import annotations

from pathlib import Path

import httpx

from client.drift import (
    builders,
    command_event_drift,
    component_drift,
    route_drift,
    sample_calls,
)
from e2e.serve_support import ServeProcess, free_port


async def test_client_models_match_the_live_openapi(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, free_port())
    server.start()
    try:
        await server.wait_healthy()
        async with httpx.AsyncClient(base_url=server.base) as http:
            spec = (await http.get("/openapi.json")).json()
    finally:
        server.stop()

    assert component_drift(spec) == []
    assert route_drift(spec) == []
    assert command_event_drift(spec) == []


def test_the_samples_cover_every_call_builder() -> None:
    samples = {name.split("/")[0] for name in sample_calls()}
    assert {name for name, _ in builders()} == samples


def test_a_changed_field_is_drift() -> None:
    """The comparison can fail: a server whose ChargerCreate lost a field and whose
    LocationCreate made `name` optional."""
    from client.drift import client_components

    components = client_components()
    charger = dict(components["ChargerCreate"])
    charger["properties"] = {k: v for k, v in charger["properties"].items() if k != "auto_start"}
    location = dict(components["LocationCreate"])
    location["required"] = [f for f in location["required"] if f != "name"]
    spec = {
        "components": {
            "schemas": components
            | {
                "ChargerCreate": charger,
                "LocationCreate": location,
            }
        },
        "paths": {},
    }
    problems = component_drift(spec)
    assert problems == [
        "ChargerCreate: differs in ['properties']",
        "LocationCreate: differs in ['required']",
    ]
