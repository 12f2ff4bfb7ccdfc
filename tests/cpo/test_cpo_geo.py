"""Place tables and site placement: sites sit near their city, on the right side of coasts
and borders, on roads that serve the city, with OCPI-shaped coordinates."""

from __future__ import annotations

import math
import random
import re

import pytest

from voltlab.cpo.countries import COUNTRIES, EUR_RATES
from voltlab.cpo.geo import (
    country_profile,
    format_latitude,
    format_longitude,
    is_supported_country,
    place_site,
)
from voltlab.cpo.geo_data import DETAILED

LATITUDE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
LONGITUDE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")


def distance_and_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> tuple[float, float]:
    """Flat-earth km and compass degrees from point 1 to point 2 (fine for tens of km)."""
    north = (lat2 - lat1) * 111.32
    east = (lon2 - lon1) * 111.32 * math.cos(math.radians(lat1))
    return math.hypot(north, east), math.degrees(math.atan2(east, north)) % 360.0


def in_arc(bearing: float, arc: tuple[float, float]) -> bool:
    low, high = arc
    span = (high - low) % 360.0 or 360.0
    return (bearing - low) % 360.0 <= span + 1e-6


def test_every_supported_country_has_consistent_facts() -> None:
    for code, facts in COUNTRIES.items():
        assert re.fullmatch(r"[A-Z]{2}", code) and re.fullmatch(r"[A-Z]{3}", facts.alpha3)
        assert facts.currency in EUR_RATES, code
        assert is_supported_country(code)
    for code, detail in DETAILED.items():
        assert COUNTRIES[code].alpha3 == detail.alpha3
        for city in detail.cities:
            assert all(len(postal) <= 10 for postal in city.postal_codes)
            assert len(city.name) <= 45


@pytest.mark.parametrize("code", sorted(DETAILED))
@pytest.mark.parametrize("kind", ["street", "motorway", "garage", "workplace"])
def test_sites_stay_near_their_city_and_inside_its_arc(code: str, kind: str) -> None:
    profile = country_profile(code)
    cities = {city.name: city for city in profile.cities}
    rng = random.Random(99)
    taken: set[str] = set()
    for _ in range(60):
        site = place_site(profile, kind, rng, taken)  # type: ignore[arg-type]
        city = cities[site.city]
        distance, bearing = distance_and_bearing(
            city.latitude, city.longitude, site.latitude, site.longitude
        )
        limit = 30.5 if kind == "motorway" else city.radius_km * 1.31
        assert distance <= limit, (site, distance)
        if city.bearings is not None and distance > 0.01:
            assert in_arc(bearing, city.bearings), (site.city, bearing)
        if kind == "motorway" and city.motorways:
            assert site.address.split(" ")[0] in city.motorways
        assert site.postal_code in city.postal_codes
        assert len(site.address) <= 45
    assert len(taken) == 60  # display names are unique within one network


def test_generic_country_uses_its_capital_and_omits_postal_codes() -> None:
    profile = country_profile("jp")
    assert (profile.alpha3, profile.currency, profile.detailed) == ("JPN", "JPY", False)
    site = place_site(profile, "street", random.Random(1), set())
    assert site.city == "Tokyo" and site.postal_code is None
    assert site.time_zone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (48.8566, 2.3522),
        (-33.86882, 151.20929),
        (0.0, -0.000001),
        (64.1466, -21.9426),
        (-89.9999999, 179.9999999),
    ],
)
def test_coordinates_match_the_ocpi_patterns(latitude: float, longitude: float) -> None:
    assert LATITUDE.match(format_latitude(latitude))
    assert LONGITUDE.match(format_longitude(longitude))
    assert LONGITUDE.match(format_longitude(longitude + 360.0))
