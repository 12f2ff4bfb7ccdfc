"""Where generated sites are: country profiles (detailed or generic) and seeded placement of a
site — name, street address, city, postal code, coordinates, time zone.

Every random choice goes through the `random.Random` handed in, so a seed reproduces the
same places; nothing here reads the clock, the network or global random state."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

from voltlab.cpo.countries import COUNTRIES
from voltlab.cpo.geo_data import DETAILED, City

SiteKind = Literal["street", "motorway", "garage", "workplace"]

# Street names and labels for countries without a detailed table: neutral English, since a
# made-up local-language name would look more wrong than a plain one.
_GENERIC_STREETS: tuple[str, ...] = (
    "Central Avenue",
    "Station Street",
    "Market Square",
    "Harbour Road",
    "Park Avenue",
    "University Road",
    "Airport Road",
    "Garden Street",
    "Ring Road",
    "Industrial Avenue",
)
_GENERIC_MOTORWAYS: tuple[str, ...] = ("National Road 1", "National Road 2", "Ring Motorway")
_GENERIC_NAMES: dict[str, str] = {
    "street": "{city} – {street}",
    "motorway": "{city} Motorway Services",
    "garage": "{street} Car Park",
    "workplace": "{city} Business Park",
}
# How a motorway site's address reads; default "A6 km 213".
_MOTORWAY_ADDRESS: dict[str, str] = {"GB": "{road} J{n}", "US": "{road} Exit {n}"}

_KM_PER_DEGREE_LAT = 111.32
_GENERIC_RADIUS_KM = 8.0  # urban sites around a capital without a detailed table
_MOTORWAY_MAX_KM = 30.0


@dataclass(frozen=True)
class CountryProfile:
    alpha2: str
    alpha3: str
    currency: str
    vat_percent: float | None
    time_zone: str
    number_first: bool
    number_separator: str
    streets: tuple[str, ...]
    motorways: tuple[str, ...]
    cities: tuple[City, ...]
    names: dict[str, str]
    detailed: bool


@dataclass(frozen=True)
class Site:
    name: str
    address: str
    city: str
    postal_code: str | None
    state: str | None
    latitude: float
    longitude: float
    time_zone: str


class UnsupportedCountryError(ValueError):
    """No table for this ISO 3166-1 alpha-2 code: the API answers 422."""


def normalize_country_code(country_code: str) -> str:
    # OCPI country codes are CiStrings: "fr" and "FR" are the same party country.
    return country_code.strip().upper()


def is_supported_country(country_code: object) -> bool:
    if not isinstance(country_code, str):
        return False
    return normalize_country_code(country_code) in COUNTRIES


def supported_countries() -> list[str]:
    return sorted(COUNTRIES)


def alpha3(country_code: str) -> str:
    return country_profile(country_code).alpha3


def country_profile(country_code: str) -> CountryProfile:
    code = normalize_country_code(country_code)
    facts = COUNTRIES.get(code)
    if facts is None:
        raise UnsupportedCountryError(f"unsupported country code {country_code!r}")
    detail = DETAILED.get(code)
    if detail is not None:
        return CountryProfile(
            alpha2=code,
            alpha3=detail.alpha3,
            currency=facts.currency,
            vat_percent=facts.vat_percent,
            time_zone=detail.time_zone,
            number_first=detail.number_first,
            number_separator=detail.number_separator,
            streets=detail.streets,
            motorways=detail.motorways,
            cities=detail.cities,
            names=detail.names,
            detailed=True,
        )
    capital = City(
        facts.capital,
        facts.latitude,
        facts.longitude,
        _GENERIC_RADIUS_KM,
        (),
        1,
        bearings=facts.bearings,
        reach_km=facts.reach_km,
    )
    return CountryProfile(
        alpha2=code,
        alpha3=facts.alpha3,
        currency=facts.currency,
        vat_percent=facts.vat_percent,
        time_zone=facts.time_zone,
        number_first=True,
        number_separator=" ",
        streets=_GENERIC_STREETS,
        motorways=_GENERIC_MOTORWAYS,
        cities=(capital,),
        names=_GENERIC_NAMES,
        detailed=False,
    )


def format_latitude(value: float) -> str:
    # OCPI GeoLocation: -?[0-9]{1,2}\.[0-9]{5,7}; six decimals is ~0.1 m.
    return f"{max(-89.999999, min(89.999999, value)):.6f}"


def format_longitude(value: float) -> str:
    # -?[0-9]{1,3}\.[0-9]{5,7}; wrap into (-180, 180) so the integer part stays ≤ 3 digits.
    wrapped = ((value + 180.0) % 360.0) - 180.0
    return f"{wrapped:.6f}"


def offset_point(
    latitude: float, longitude: float, distance_km: float, bearing_rad: float
) -> tuple[float, float]:
    """A point `distance_km` away on `bearing_rad` (flat-earth; fine for tens of km)."""
    d_lat = distance_km * math.cos(bearing_rad) / _KM_PER_DEGREE_LAT
    cos_lat = max(0.01, math.cos(math.radians(latitude)))
    d_lon = distance_km * math.sin(bearing_rad) / (_KM_PER_DEGREE_LAT * cos_lat)
    return latitude + d_lat, longitude + d_lon


def _pick_city(profile: CountryProfile, rng: random.Random) -> City:
    weights = [city.weight for city in profile.cities]
    return rng.choices(profile.cities, weights=weights, k=1)[0]


def _distance_km(kind: SiteKind, city: City, rng: random.Random) -> float:
    if kind == "motorway":
        # Service areas sit on the motorway outside town, not downtown.
        distance, farthest = rng.uniform(12.0, _MOTORWAY_MAX_KM), _MOTORWAY_MAX_KM
    elif kind == "workplace":
        # Depots and business parks cluster on the outskirts.
        distance, farthest = city.radius_km * rng.uniform(0.6, 1.3), city.radius_km * 1.3
    else:
        # Uniform over the disc: sqrt keeps sites from bunching at the centre.
        distance, farthest = city.radius_km * math.sqrt(rng.random()), city.radius_km
    if city.reach_km is not None and farthest > city.reach_km:
        # Scaled, not clipped: the same draws, the same spread, within the country.
        distance *= city.reach_km / farthest
    return distance


def _street_address(profile: CountryProfile, street: str, rng: random.Random) -> str:
    number = rng.randint(100, 9899) if profile.alpha2 == "US" else rng.randint(1, 180)
    if profile.number_first:
        return f"{number} {street}"
    return f"{street}{profile.number_separator}{number}"


def _motorway_address(profile: CountryProfile, city: City, rng: random.Random) -> str:
    road = rng.choice(city.motorways or profile.motorways)
    pattern = _MOTORWAY_ADDRESS.get(profile.alpha2, "{road} km {n}")
    return pattern.format(road=road, n=rng.randint(5, 480))


def place_site(
    profile: CountryProfile, kind: SiteKind, rng: random.Random, taken_names: set[str]
) -> Site:
    """One site of `kind`; `taken_names` keeps display names unique inside a network."""
    city = _pick_city(profile, rng)
    street = rng.choice(profile.streets)
    distance = _distance_km(kind, city, rng)
    low, high = city.bearings or (0.0, 360.0)
    bearing = math.radians(rng.uniform(low, high))
    latitude, longitude = offset_point(city.latitude, city.longitude, distance, bearing)
    if kind == "motorway":
        address = _motorway_address(profile, city, rng)
    else:
        address = _street_address(profile, street, rng)
    postal_code = rng.choice(city.postal_codes) if city.postal_codes else None
    base_name = profile.names[kind].format(street=street, city=city.name)
    name = base_name
    suffix = 2
    while name in taken_names:
        name = f"{base_name} {suffix}"
        suffix += 1
    taken_names.add(name)
    return Site(
        name=name[:255],
        address=address[:45],
        city=city.name[:45],
        postal_code=postal_code,
        state=city.state,
        latitude=latitude,
        longitude=longitude,
        time_zone=city.time_zone or profile.time_zone,
    )
