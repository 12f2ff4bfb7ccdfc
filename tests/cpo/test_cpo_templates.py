"""The template gallery: shape of GET /ocpi/cpos/templates and sanity of every template."""

from __future__ import annotations

import json
import re

import pytest

from voltlab.cpo.templates import TEMPLATES, Template, gallery_json, tariff_id
from voltlab.fleet.model.catalog import CATALOG

REQUIRED_SLUGS = {"small-urban-ac", "highway-dc-hub", "mixed-city", "workplace-depot"}
PARKING_TYPES = {
    "ALONG_MOTORWAY",
    "PARKING_GARAGE",
    "PARKING_LOT",
    "ON_DRIVEWAY",
    "ON_STREET",
    "UNDERGROUND_GARAGE",
}
FACILITIES = {
    "HOTEL",
    "RESTAURANT",
    "CAFE",
    "MALL",
    "SUPERMARKET",
    "SPORT",
    "RECREATION_AREA",
    "NATURE",
    "MUSEUM",
    "BIKE_SHARING",
    "BUS_STOP",
    "TAXI_STAND",
    "TRAM_STOP",
    "METRO_STATION",
    "TRAIN_STATION",
    "AIRPORT",
    "PARKING_LOT",
    "CARPOOL_PARKING",
    "FUEL_STATION",
    "WIFI",
}
TARIFF_TYPES = {"AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"}
DIMENSIONS = {"ENERGY", "FLAT", "PARKING_TIME", "TIME"}
RESTRICTION_KEYS = {
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    "min_kwh",
    "max_kwh",
    "min_current",
    "max_current",
    "min_power",
    "max_power",
    "min_duration",
    "max_duration",
    "day_of_week",
    "reservation",
}
CLOCK = re.compile(r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")
ALL_TEMPLATES = list(TEMPLATES.values())


def test_gallery_lists_the_four_required_templates() -> None:
    assert set(TEMPLATES) >= REQUIRED_SLUGS
    assert {entry["slug"] for entry in gallery_json()} == set(TEMPLATES)


def test_gallery_entries_carry_what_the_api_promises() -> None:
    for entry in gallery_json():
        for key in (
            "slug",
            "title",
            "description",
            "template_version",
            "defaults",
            "caps",
            "models",
            "tariffs",
        ):
            assert key in entry, (entry["slug"], key)
        assert set(entry["defaults"]) == {"locations", "chargers_per_location"}
        assert set(entry["caps"]) == {"locations", "chargers_per_location"}
        assert isinstance(entry["template_version"], int) and entry["template_version"] >= 1
        for tariff in entry["tariffs"]:
            assert tariff["summary"] and all(isinstance(line, str) for line in tariff["summary"])
    json.dumps(gallery_json())  # must serialise as is


@pytest.mark.parametrize("template", ALL_TEMPLATES, ids=lambda t: t.slug)
def test_sizes_defaults_within_caps_and_networks_stay_small(template: Template) -> None:
    for limit in (template.locations, template.chargers_per_location):
        assert 1 <= limit.default <= limit.cap
    # A CPO is a test fixture, not a country-wide network: a few hundred chargers at most.
    assert template.max_chargers <= 300
    # Identities encode L01..L99 and C01..C99.
    assert template.locations.cap <= 99 and template.chargers_per_location.cap <= 99


@pytest.mark.parametrize("template", ALL_TEMPLATES, ids=lambda t: t.slug)
def test_model_mix_uses_catalog_models(template: Template) -> None:
    assert template.models
    for share in template.models:
        assert share.slug in CATALOG
        assert share.weight > 0


@pytest.mark.parametrize("template", ALL_TEMPLATES, ids=lambda t: t.slug)
def test_site_description_uses_ocpi_enums(template: Template) -> None:
    assert template.parking_type in PARKING_TYPES
    assert set(template.facilities) <= FACILITIES
    assert 1 <= template.max_facilities_per_location <= len(template.facilities)
    hours = template.opening_hours.to_ocpi()
    if hours["twentyfourseven"]:
        assert "regular_hours" not in hours
    else:
        assert hours["regular_hours"]
        for period in hours["regular_hours"]:
            assert 1 <= period["weekday"] <= 7
            assert CLOCK.match(period["period_begin"]) and CLOCK.match(period["period_end"])
            assert period["period_begin"] < period["period_end"]


@pytest.mark.parametrize("template", ALL_TEMPLATES, ids=lambda t: t.slug)
def test_tariffs_are_well_formed_ocpi(template: Template) -> None:
    assert 1 <= len(template.tariffs) <= 3
    ids = [tariff_id(template, tariff) for tariff in template.tariffs]
    assert len(set(ids)) == len(ids)
    for tariff, identifier in zip(template.tariffs, ids, strict=True):
        assert len(identifier) <= 36
        assert tariff.tariff_type is None or tariff.tariff_type in TARIFF_TYPES
        assert set(tariff.applies_to) <= {"AC", "DC"} and tariff.applies_to
        assert len(tariff.alt_text) <= 512
        assert tariff.elements
        for element in tariff.elements:
            assert element["price_components"]
            for component in element["price_components"]:
                assert component["type"] in DIMENSIONS
                assert component["price"] >= 0
                assert isinstance(component["step_size"], int) and component["step_size"] >= 1
                assert "vat" not in component  # the generator adds the country's VAT
            restrictions = element.get("restrictions", {})
            assert set(restrictions) <= RESTRICTION_KEYS
            for key in ("start_time", "end_time"):
                if key in restrictions:
                    assert CLOCK.match(restrictions[key])


@pytest.mark.parametrize("template", ALL_TEMPLATES, ids=lambda t: t.slug)
def test_every_connector_type_has_a_regular_tariff_listed_first(template: Template) -> None:
    current_types = {CATALOG[share.slug].current_type for share in template.models}
    for current in current_types:
        applicable = [t for t in template.tariffs if current in t.applies_to]
        assert applicable, (template.slug, current)
        # Consumers that bill with one tariff take tariff_ids[0]: it must be the REGULAR one.
        assert applicable[0].tariff_type == "REGULAR"
        kinds = [t.tariff_type for t in applicable]
        assert len(kinds) == len(set(kinds)), "OCPI: one active tariff per type per connector"


def test_templates_use_a_realistic_mix_of_dimensions_and_restrictions() -> None:
    dimensions: set[str] = set()
    restriction_keys: set[str] = set()
    for template in ALL_TEMPLATES:
        for tariff in template.tariffs:
            for element in tariff.elements:
                dimensions.update(c["type"] for c in element["price_components"])
                restriction_keys.update(element.get("restrictions", {}))
    assert dimensions == DIMENSIONS
    assert {
        "start_time",
        "end_time",
        "day_of_week",
        "max_power",
        "min_duration",
        "min_kwh",
        "max_kwh",
    } <= restriction_keys
