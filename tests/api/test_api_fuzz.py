"""Random bodies and ids never produce a 5xx: bad input is a 4xx (docs/api.md: no 500 for bad
input)."""

from __future__ import annotations

import json
import warnings
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltlab.api.app import create_app
from voltlab.api.command_events import COMMAND_KINDS
from voltlab.store import repo
from voltlab.store.db import Database

from .conftest import FakeFleet

FIELD_NAMES = [
    "charger_id",
    "location_id",
    "charger_ids",
    "connector_id",
    "id_tag",
    "duration_seconds",
    "target_energy_kwh",
    "power_kw",
    "soc_percent",
    "fault_type",
    "reason",
    "action",
    "payload",
    "key",
    "value",
    "list_version",
    "update_type",
    "entries",
    "status",
    "expiry_date",
    "name",
    "csms_url",
    "chargers",
    "model",
    "identity",
    "identity_prefix",
    "security",
    "profile",
    "password",
    "ocpp_version",
    "auto_start",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    # Lone surrogates ("\ud800" on the wire), NUL and other control characters (issue 10).
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Ll"]), max_size=12),
    st.sampled_from(["ws://127.0.0.1:1/x", "GroundFault", "Full", "ocpp1.6", "2030-01-01T00Z"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(FIELD_NAMES)
            | st.text(max_size=10)
            | st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc"]), max_size=3),
            inner,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@pytest.fixture
def http(database: Database) -> Any:
    # starlette's TestClient (sync, runs the lifespan) lets hypothesis drive the app; it warns
    # about its httpx backend on import, which is not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    app = create_app(database, FakeFleet())  # type: ignore[arg-type]
    with TestClient(app) as client:
        with database.session() as session:
            org = repo.get_or_create_org(session, "fuzz")
            key = repo.add_api_key(session, org.id, "admin")
        client.headers["Authorization"] = f"Bearer {key}"
        body = {"name": "fuzz", "csms_url": "ws://127.0.0.1:1/ocpp", "chargers": 2}
        location = client.post("/ocpp/locations", json=body).json()
        client.location_id = location["location_id"]  # type: ignore[attr-defined]
        client.charger_id = location["chargers"][0]["charger_id"]  # type: ignore[attr-defined]
        yield client


def post_json(http: Any, path: str, body: Any) -> Any:
    # Python's json writes NaN/Infinity (as many clients do); httpx's json= would refuse them.
    content = json.dumps(body).encode()
    return http.post(path, content=content, headers={"Content-Type": "application/json"})


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_command_bodies_never_5xx(http: Any) -> None:
    targets = st.one_of(
        json_values,
        st.fixed_dictionaries({"charger_id": st.just(http.charger_id) | st.text(max_size=50)}),
        st.fixed_dictionaries(
            {
                "location_id": st.just(http.location_id),
                "charger_ids": st.lists(st.just(http.charger_id) | st.text(max_size=50)),
            }
        ),
    )

    @SETTINGS
    @given(
        slug=st.sampled_from([kind.slug for kind in COMMAND_KINDS]),
        target=targets,
        event=json_values,
    )
    def check(slug: str, target: Any, event: Any) -> None:
        response = post_json(http, f"/ocpp/commands/{slug}", {"target": target, "event": event})
        assert response.status_code in (202, 404, 422), response.text

    check()


def test_location_and_charger_bodies_never_5xx(http: Any) -> None:
    @SETTINGS
    @given(path=st.sampled_from(["/ocpp/locations", "/ocpp/chargers"]), body=json_values)
    def check(path: str, body: Any) -> None:
        response = post_json(http, path, body)
        assert response.status_code in (201, 404, 409, 422), response.text

    check()


def test_ids_and_queries_never_5xx(http: Any) -> None:
    @SETTINGS
    @given(
        raw_ident=st.text(min_size=1, max_size=80),
        query=st.dictionaries(
            st.sampled_from(["limit", "cursor", "location_id", "charger_id", "before"]),
            st.text(max_size=80),
            max_size=3,
        ),
    )
    def check(raw_ident: str, query: dict[str, str]) -> None:
        ident = quote(raw_ident, safe="")
        for path in (
            f"/ocpp/chargers/{ident}",
            f"/ocpp/chargers/{ident}/messages",
            f"/ocpp/locations/{ident}",
            f"/ocpp/commands/{ident}",
            "/ocpp/chargers",
            "/ocpp/commands",
            "/ocpp/locations",
        ):
            response = http.get(path, params=query)
            assert response.status_code in (200, 404, 422), (path, response.text)

    check()
