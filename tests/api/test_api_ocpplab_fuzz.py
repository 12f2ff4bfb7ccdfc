"""Random bodies, ids and queries on the OCPPLAB SDK's `/evcharger/*` routes never produce a
5xx, nor an undocumented status: they are out of the schema the schemathesis run fuzzes
(docs/ocpplab-sdk.md), so they are fuzzed here, with the SDK's field names."""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltlab.api.app import create_app
from voltlab.api.ocpplab_compat.payloads import SDK_COMMANDS
from voltlab.store import repo
from voltlab.store.db import Database

from .conftest import FakeFleet
from .test_api_fuzz import SETTINGS, post_json, scalars

SDK_FIELDS = [
    "target",
    "payload",
    "deployment_id",
    "identity",
    "location_id",
    "charger_ids",
    "evse_id",
    "connector_id",
    "id_tag",
    "power_w",
    "fault_type",
    "duration_seconds",
    "target_energy_kwh",
    "action",
    "key",
    "value",
    "list_version",
    "update_type",
    "entries",
    "expiry_date",
    "name",
    "address",
    "city",
    "country",
    "coordinates",
    "lat",
    "lng",
    "chargers",
    "brand_slug",
    "model",
    "connector_type",
    "ws_url",
    "ocpp_version",
    "security_profile",
    "authorization_key",
    "charger_name",
    "power_kwh",
]
json_values = st.recursive(
    scalars | st.sampled_from(["voltlab", "ac-22kw-2c", "IEC62196Type2", "restart", "SDK-1"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(SDK_FIELDS) | st.text(max_size=10), inner, max_size=6)
    ),
    max_leaves=20,
)


@pytest.fixture
def http(database: Database) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about its httpx backend
        from fastapi.testclient import TestClient
    app = create_app(database, FakeFleet())  # type: ignore[arg-type]
    with TestClient(app) as client:
        with database.session() as session:
            org = repo.get_or_create_org(session, "fuzz")
            key = repo.add_api_key(session, org.id, "admin")
        client.headers["Authorization"] = f"Bearer {key}"
        charger = {
            "identity": "SDK-1",
            "brand_slug": "voltlab",
            "model": "ac-22kw-2c",
            "connector_type": "IEC62196Type2",
            "ws_url": "ws://127.0.0.1:1/ocpp",
        }
        place = {"address": "a", "city": "c", "country": "FR", "coordinates": {"lat": 0, "lng": 0}}
        body = place | {"name": "fuzz", "chargers": [charger]}
        created = client.post("/evcharger/location", json=body).json()
        client.location_id = created["location_id"]  # type: ignore[attr-defined]
        client.charger_id = created["deployments"][0]["deployment_id"]  # type: ignore[attr-defined]
        yield client


def test_command_bodies_never_5xx(http: Any) -> None:
    targets = st.one_of(
        json_values,
        st.fixed_dictionaries({"deployment_id": st.just(http.charger_id) | st.text(max_size=50)}),
        st.fixed_dictionaries({"identity": st.just("SDK-1") | st.text(max_size=50)}),
        st.fixed_dictionaries(
            {
                "location_id": st.just(http.location_id),
                "charger_ids": st.lists(st.just(http.charger_id) | st.text(max_size=50)),
            }
        ),
    )

    @SETTINGS
    @given(
        slug=st.sampled_from([command.slug for command in SDK_COMMANDS]),
        target=targets,
        payload=json_values,
    )
    def check(slug: str, target: Any, payload: Any) -> None:
        body = {"target": target, "payload": payload}
        response = post_json(http, f"/evcharger/commands/{slug}", body)
        assert response.status_code in (202, 400, 404, 422), response.text

    check()


def test_location_deployment_and_operate_bodies_never_5xx(http: Any) -> None:
    @SETTINGS
    @given(
        path=st.sampled_from(
            ["/evcharger/location", "/evcharger/deployment", "/evcharger/deployment-runtime-ops"]
        ),
        body=json_values,
    )
    def check(path: str, body: Any) -> None:
        response = post_json(http, path, body)
        assert response.status_code in (200, 201, 202, 404, 409, 422), response.text

    check()


def test_ids_and_queries_never_5xx(http: Any) -> None:
    names = [
        "identity",
        "deployment_id",
        "location_id",
        "limit",
        "page",
        "page_size",
        "since",
        "until",
        "level",
        "tail_lines",
        "events",
        "outcome",
        "include_all",
        "ocpp_version",
        "connector_type",
    ]
    values = st.text(max_size=40) | st.sampled_from(
        [http.charger_id, "SDK-1", "true", "2030-01-01"]
    )

    @SETTINGS
    @given(
        raw_ident=st.text(min_size=1, max_size=60),
        query=st.dictionaries(st.sampled_from(names), values, max_size=4),
        removal=st.dictionaries(st.sampled_from(names), st.text(max_size=40), max_size=3),
    )
    def check(raw_ident: str, query: dict[str, str], removal: dict[str, str]) -> None:
        ident = quote(raw_ident, safe="")
        for path in (
            "/evcharger/catalog",
            f"/evcharger/catalog/{ident}/models",
            f"/evcharger/catalog/voltlab/models/{ident}",
            "/evcharger/templates/locations",
            f"/evcharger/commands/{ident}",
            "/evcharger/commands",
            "/evcharger/deployment-runtime-ops/status",
            "/evcharger/deployment-runtime-ops/events",
            "/evcharger/deployment-runtime-ops/diagnostics",
            "/evcharger/logs",
        ):
            response = http.get(path, params=query)
            assert response.status_code in (200, 404, 422), (path, response.text)
        # Deletes with random queries (not the fleet's ids: the reads above keep their charger).
        for path in ("/evcharger/logs", "/evcharger/deployment", "/evcharger/location"):
            response = http.delete(path, params=removal)
            assert response.status_code in (204, 404, 409, 422), (path, response.text)

    check()
