"""The seeded network generator: OCPI 2.2.1 validity, determinism, overrides, identities."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltlab.cpo.countries import COUNTRIES
from voltlab.cpo.generator import (
    IDENTITY_PATTERN,
    Network,
    NetworkInputError,
    OverrideError,
    check_overrides,
    generate_network,
    network_fingerprint,
    sanitize_identity_prefix,
)
from voltlab.cpo.geo import is_supported_country
from voltlab.cpo.templates import TEMPLATES, Template
from voltlab.fleet.model.catalog import CATALOG

CREATED = datetime(2026, 4, 21, 19, 0, 0, tzinfo=UTC)
LATITUDE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
LONGITUDE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")
EVSE_ID = re.compile(
    r"^(([A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9\*]{1,30})|(\+?[0-9]{1,3}\*[0-9]{3}\*[0-9\*]{1,32}))$"
)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
STANDARDS = {"IEC_62196_T2", "IEC_62196_T2_COMBO", "CHADEMO"}
POWER_TYPES = {"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"}
CAPABILITIES = {
    "CHARGING_PROFILE_CAPABLE",
    "CHARGING_PREFERENCES_CAPABLE",
    "CHIP_CARD_SUPPORT",
    "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE",
    "DEBIT_CARD_PAYABLE",
    "PED_TERMINAL",
    "REMOTE_START_STOP_CAPABLE",
    "RESERVABLE",
    "RFID_READER",
    "START_SESSION_CONNECTOR_REQUIRED",
    "TOKEN_GROUP_CAPABLE",
    "UNLOCK_CAPABLE",
}
DETAILED = ["FR", "DE", "NL", "BE", "GB", "ES", "IT", "US"]
CURRENCIES = {
    "FR": "EUR",
    "DE": "EUR",
    "NL": "EUR",
    "BE": "EUR",
    "GB": "GBP",
    "ES": "EUR",
    "IT": "EUR",
    "US": "USD",
    "JP": "JPY",
    "CH": "CHF",
}
ALPHA3 = {
    "FR": "FRA",
    "DE": "DEU",
    "NL": "NLD",
    "BE": "BEL",
    "GB": "GBR",
    "ES": "ESP",
    "IT": "ITA",
    "US": "USA",
    "JP": "JPN",
    "CH": "CHE",
}


def generate(
    template: str = "small-urban-ac",
    *,
    seed: int = 42,
    country: str = "FR",
    party: str = "ABC",
    prefix: str = "alice",
    overrides: dict[str, int | None] | None = None,
    created_at: datetime = CREATED,
) -> Network:
    return generate_network(
        TEMPLATES[template],
        seed=seed,
        country_code=country,
        party_id=party,
        name_prefix=prefix,
        overrides=overrides or {},
        created_at=created_at,
    )


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def assert_valid_tariff(tariff: dict[str, Any], network: Network) -> None:
    for key in ("country_code", "party_id", "id", "currency", "elements", "last_updated"):
        assert key in tariff, key
    assert len(tariff["id"]) <= 36 and len(tariff["currency"]) == 3
    assert tariff["currency"] == network.currency
    assert TIMESTAMP.match(tariff["last_updated"])
    for text in tariff["tariff_alt_text"]:
        assert set(text) == {"language", "text"} and len(text["text"]) <= 512
    for element in tariff["elements"]:
        for component in element["price_components"]:
            assert set(component) <= {"type", "price", "vat", "step_size"}
            assert isinstance(component["price"], float) and component["price"] >= 0


def assert_valid_location(location: dict[str, Any], network: Network) -> None:
    required = (
        "country_code",
        "party_id",
        "id",
        "publish",
        "address",
        "city",
        "country",
        "coordinates",
        "time_zone",
        "last_updated",
    )
    for key in required:
        assert key in location, key
    assert len(location["id"]) <= 36
    assert len(location["name"]) <= 255
    assert len(location["address"]) <= 45 and len(location["city"]) <= 45
    assert len(location.get("postal_code", "")) <= 10 and len(location.get("state", "")) <= 20
    assert len(location["country"]) == 3 and location["country"].isupper()
    assert LATITUDE.match(location["coordinates"]["latitude"])
    assert LONGITUDE.match(location["coordinates"]["longitude"])
    assert len(location["operator"]["name"]) <= 100
    assert TIMESTAMP.match(location["last_updated"])
    tariff_ids = {tariff["id"] for tariff in network.tariffs}
    assert location["evses"]
    for evse in location["evses"]:
        assert len(evse["uid"]) <= 36
        assert len(evse["evse_id"]) <= 48 and EVSE_ID.match(evse["evse_id"]), evse["evse_id"]
        assert evse["status"] == "UNKNOWN"
        assert set(evse["capabilities"]) <= CAPABILITIES
        assert len(evse["physical_reference"]) <= 16
        assert LATITUDE.match(evse["coordinates"]["latitude"])
        assert LONGITUDE.match(evse["coordinates"]["longitude"])
        assert TIMESTAMP.match(evse["last_updated"])
        for connector in evse["connectors"]:
            assert len(connector["id"]) <= 36
            assert connector["standard"] in STANDARDS
            assert connector["format"] in {"SOCKET", "CABLE"}
            assert connector["power_type"] in POWER_TYPES
            for key in ("max_voltage", "max_amperage", "max_electric_power"):
                assert isinstance(connector[key], int) and connector[key] > 0
            assert connector["tariff_ids"] and set(connector["tariff_ids"]) <= tariff_ids
            assert TIMESTAMP.match(connector["last_updated"])


def assert_valid_network(network: Network, prefix: str) -> None:
    for tariff in network.tariffs:
        assert_valid_tariff(tariff, network)
    identities: list[str] = []
    uids: list[str] = []
    for generated in network.locations:
        location = generated.location
        assert_valid_location(location, network)
        evse_uids = [evse["uid"] for evse in location["evses"]]
        charger_uids = [uid for charger in generated.chargers for uid in charger.evse_uids]
        # Every EVSE belongs to exactly one connector of one generated charger.
        assert charger_uids == evse_uids
        for charger in generated.chargers:
            assert charger.location_id == location["id"]
            assert len(charger.evse_uids) == len(CATALOG[charger.model_slug].connectors)
            assert IDENTITY_PATTERN.match(charger.identity)
            assert charger.identity.startswith(sanitize_identity_prefix(prefix) + "-")
            identities.append(charger.identity)
        uids.extend(evse_uids)
    assert len(set(identities)) == len(identities)
    assert len(set(uids)) == len(uids)
    assert len({loc.id for loc in network.locations}) == len(network.locations)


@pytest.mark.parametrize("slug", sorted(TEMPLATES))
@pytest.mark.parametrize("country", [*DETAILED, "JP", "CH"])
def test_every_template_generates_valid_ocpi_in_every_country(slug: str, country: str) -> None:
    network = generate(slug, country=country, seed=7)
    assert_valid_network(network, "alice")
    assert network.currency == CURRENCIES[country]
    for generated in network.locations:
        assert generated.location["country"] == ALPHA3[country]


@pytest.mark.parametrize("slug", sorted(TEMPLATES))
def test_template_at_caps_generates_the_requested_size(slug: str) -> None:
    template = TEMPLATES[slug]
    caps = {
        "locations": template.locations.cap,
        "chargers_per_location": template.chargers_per_location.cap,
    }
    network = generate(slug, overrides=caps)
    assert len(network.locations) == template.locations.cap
    assert len(network.chargers) == template.max_chargers
    assert_valid_network(network, "alice")


def test_seed_example_from_the_api_page() -> None:
    network = generate(
        "small-urban-ac",
        seed=42,
        country="FR",
        party="ABC",
        prefix="alice",
        overrides={"chargers_per_location": 3, "locations": 2},
    )
    assert len(network.locations) == 2
    assert all(len(generated.chargers) == 3 for generated in network.locations)
    assert network.chargers[1].identity == "alice-FRABC-L01-C02"
    first = network.locations[0].location
    assert first["country"] == "FRA" and first["parking_type"] == "ON_STREET"
    assert first["evses"][0]["evse_id"].startswith("FR*ABC*E")
    assert network.tariffs[0]["currency"] == "EUR"
    assert network.tariffs[0]["elements"][0]["price_components"][0]["vat"] == 20.0


def test_same_inputs_give_identical_bytes() -> None:
    one, two = generate(seed=1234), generate(seed=1234)
    for a, b in zip(one.locations, two.locations, strict=True):
        assert canonical(a.location) == canonical(b.location)
    for a, b in zip(one.tariffs, two.tariffs, strict=True):
        assert canonical(a) == canonical(b)
    assert network_fingerprint(one) == network_fingerprint(two)


def test_different_seed_gives_a_different_network() -> None:
    assert network_fingerprint(generate(seed=1)) != network_fingerprint(generate(seed=2))
    # random.Random would take -1 as 1: a negative seed is a seed of its own.
    assert network_fingerprint(generate(seed=-1)) != network_fingerprint(generate(seed=1))
    assert network_fingerprint(generate(seed=-1)) == network_fingerprint(generate(seed=-1))
    extremes = {network_fingerprint(generate(seed=s)) for s in (-(2**63), 2**63 - 1, 0, -1)}
    assert len(extremes) == 4
    names_one = [g.location["name"] for g in generate("mixed-city", seed=1).locations]
    names_two = [g.location["name"] for g in generate("mixed-city", seed=2).locations]
    assert names_one != names_two


def test_timestamps_derive_from_created_at_only() -> None:
    later = generate(created_at=CREATED + timedelta(hours=1))
    assert later.locations[0].location["last_updated"] == "2026-04-21T20:00:00Z"
    assert later.tariffs[0]["last_updated"] == "2026-04-21T20:00:00Z"
    naive = generate(created_at=datetime(2026, 4, 21, 19, 0, 0))  # taken as UTC
    assert network_fingerprint(naive) == network_fingerprint(generate())


def test_unused_random_state_does_not_leak_in() -> None:
    import random

    random.seed(1)
    one = network_fingerprint(generate())
    random.seed(2)
    assert network_fingerprint(generate()) == one


def test_overrides_none_means_default_and_values_apply() -> None:
    template = TEMPLATES["small-urban-ac"]
    assert check_overrides(template, None) == (2, 3)
    assert check_overrides(template, {"locations": None, "chargers_per_location": None}) == (2, 3)
    assert check_overrides(template, {"locations": 5}) == (5, 3)
    network = generate(overrides={"locations": 4, "chargers_per_location": 1})
    assert [len(g.chargers) for g in network.locations] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"locations": 0}, "locations"),
        ({"locations": 21}, "locations"),
        ({"chargers_per_location": 11}, "chargers_per_location"),
        ({"chargers_per_location": -1}, "chargers_per_location"),
        ({"chargers_per_location": True}, "chargers_per_location"),
        ({"evses": 2}, "evses"),
    ],
)
def test_overrides_outside_caps_are_rejected(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(OverrideError) as caught:
        generate(overrides=overrides)
    assert caught.value.field == field
    assert str(caught.value)


def test_country_and_party_validation() -> None:
    assert is_supported_country("FR") and is_supported_country("fr")
    assert not is_supported_country("XX") and not is_supported_country("FRA")
    assert not is_supported_country(None)
    with pytest.raises(NetworkInputError) as caught:
        generate(country="XX")
    assert caught.value.field == "country_code"
    with pytest.raises(NetworkInputError) as caught:
        generate(party="A*C")
    assert caught.value.field == "party_id"
    for seed in (2**63, -(2**63) - 1):  # stored as a 64-bit signed integer
        with pytest.raises(NetworkInputError) as caught:
            generate(seed=seed)
        assert caught.value.field == "seed"


def test_lowercase_codes_still_give_ocpi_uppercase_ids() -> None:
    network = generate(country="nl", party="tnm")
    location = network.locations[0].location
    assert location["country"] == "NLD"
    assert location["id"].startswith("NLTNM-")
    assert location["evses"][0]["evse_id"].startswith("NL*TNM*E")
    assert network.chargers[0].identity.startswith("alice-NLTNM-")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("alice", "alice"),
        ("Alice Smith / QA", "Alice-Smith-QA"),
        ("ça va", "ca-va"),
        ("***", "cpo"),
        ("x" * 40, "x" * 32),
        ("v1.2_beta~rc", "v1.2_beta~rc"),
        ("Alice Fleet", "Alice-Fleet"),
        ("Zoë/Ünïcode #1", "Zoe-Unicode-1"),
        ("Straße Øst", "Strasse-Ost"),
        ("日本の充電", "cpo"),
        ("  é  ", "e"),
        ("ﬁnal ½", "final-1-2"),
    ],
)
def test_identity_prefix_is_sanitized(prefix: str, expected: str) -> None:
    assert sanitize_identity_prefix(prefix) == expected
    network = generate(prefix=prefix)
    for charger in network.chargers:
        assert IDENTITY_PATTERN.match(charger.identity) and len(charger.identity) <= 48
        assert charger.identity.startswith(expected + "-")


def test_us_locations_have_states_and_no_vat() -> None:
    network = generate("highway-dc-hub", country="US", overrides={"locations": 5})
    for generated in network.locations:
        assert generated.location["state"] in {"NY", "CA", "IL", "TX", "AZ", "WA", "CO", "MA", "FL"}
        assert generated.location["time_zone"].startswith("America/")
    for tariff in network.tariffs:
        assert tariff["currency"] == "USD"
        for element in tariff["elements"]:
            assert all("vat" not in c for c in element["price_components"])


def test_connectors_follow_the_catalog_and_template_tariffs() -> None:
    network = generate(
        "mixed-city", seed=3, overrides={"locations": 3, "chargers_per_location": 12}
    )
    evses = {evse["uid"]: evse for g in network.locations for evse in g.location["evses"]}
    for charger in network.chargers:
        model = CATALOG[charger.model_slug]
        for connector_id, spec in enumerate(model.connectors, start=1):
            connector = evses[charger.evse_uid(connector_id)]["connectors"][0]
            assert connector["max_electric_power"] == spec.max_power_w
            assert connector["power_type"] == spec.power_type
            expected = "MXC-DC-V1" if model.current_type == "DC" else "MXC-AC-V1"
            assert connector["tariff_ids"] == [expected, "MXC-ADHOC-V1"]
            if spec.power_type == "AC_3_PHASE":
                assert connector["max_voltage"] == 230  # OCPI: line to neutral


def test_model_mix_follows_weights_roughly() -> None:
    network = generate("small-urban-ac", overrides={"locations": 20, "chargers_per_location": 10})
    slugs = [charger.model_slug for charger in network.chargers]
    share_22kw = slugs.count("ac-22kw-2c") / len(slugs)
    assert 0.6 < share_22kw < 0.9  # weight 3 of 4


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    slug=st.sampled_from(sorted(TEMPLATES)),
    seed=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    country=st.sampled_from(sorted(COUNTRIES)),
    prefix=st.text(min_size=1, max_size=32).filter(lambda s: s.strip()),
    locations=st.integers(min_value=1, max_value=5),
    chargers=st.integers(min_value=1, max_value=5),
)
def test_any_valid_input_gives_a_valid_deterministic_network(
    slug: str, seed: int, country: str, prefix: str, locations: int, chargers: int
) -> None:
    template: Template = TEMPLATES[slug]
    overrides = {
        "locations": min(locations, template.locations.cap),
        "chargers_per_location": min(chargers, template.chargers_per_location.cap),
    }
    network = generate(slug, seed=seed, country=country, prefix=prefix, overrides=overrides)
    assert_valid_network(network, prefix)
    again = generate(slug, seed=seed, country=country, prefix=prefix, overrides=overrides)
    assert network_fingerprint(network) == network_fingerprint(again)
