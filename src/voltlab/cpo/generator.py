"""Seeded generator of a virtual CPO's network: OCPI 2.2.1 Locations (with EVSEs and
Connectors) and Tariffs, plus the virtual chargers to create for each location.

Determinism is the contract (CI pipelines pin seeds): the same template, seed, country,
party, prefix, overrides and created_at give byte-identical canonical JSON. So the only
randomness is one `random.Random(seed)` consumed in a fixed order, every timestamp derives
from `created_at`, and nothing iterates a set or calls hash()."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voltlab.cpo.geo import (
    CountryProfile,
    country_profile,
    is_supported_country,
    normalize_country_code,
    offset_point,
    place_site,
)
from voltlab.cpo.network_objects import (
    build_connector,
    build_evse,
    build_location,
    build_tariff,
    evse_capabilities,
    ocpi_timestamp,
    tariff_ids_for,
)
from voltlab.cpo.templates import Template
from voltlab.fleet.model.catalog import CATALOG

__all__ = [
    "GeneratedCharger",
    "GeneratedLocation",
    "Network",
    "NetworkInputError",
    "OverrideError",
    "check_overrides",
    "generate_network",
    "is_supported_country",
    "network_fingerprint",
    "sanitize_identity_prefix",
]

OVERRIDE_KEYS: tuple[str, ...] = ("locations", "chargers_per_location")
IDENTITY_PATTERN = re.compile(r"^[A-Za-z0-9._~\-]{1,48}$")
_PARTY_PATTERN = re.compile(r"^[A-Za-z0-9]{3}$")
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # stored as BIGINT
_PREFIX_MAX = 32  # API limit on name_prefix; with the suffix an identity stays ≤ 48
_EVSE_SPACING_M = 4.0
# Latin letters NFKD does not decompose into a base letter and a mark.
_LATIN_LETTERS = str.maketrans(
    {"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "Ł": "L"}
    | {"ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th", "þ": "th", "ı": "i"}
)  # bays are a car width apart along the kerb / row


class NetworkInputError(ValueError):
    """A generator input the API must answer with 422; `field` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class OverrideError(NetworkInputError):
    """An override key the template does not know, or a value outside 1..cap."""


@dataclass(frozen=True)
class GeneratedCharger:
    identity: str
    model_slug: str
    location_id: str
    evse_uids: tuple[str, ...]  # evse_uids[i] is the EVSE of OCPP connector i + 1
    evse_ids: tuple[str, ...]  # eMI3 EVSE ids, same order

    def evse_uid(self, connector_id: int) -> str:
        return self.evse_uids[connector_id - 1]

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "model_slug": self.model_slug,
            "location_id": self.location_id,
            "evse_uids": list(self.evse_uids),
            "evse_ids": list(self.evse_ids),
        }


@dataclass(frozen=True)
class GeneratedLocation:
    location: dict[str, Any]  # OCPI 2.2.1 Location
    chargers: list[GeneratedCharger] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.location["id"])


@dataclass(frozen=True)
class Network:
    template_slug: str
    template_version: int
    seed: int
    country_code: str
    party_id: str
    currency: str
    locations: list[GeneratedLocation]
    tariffs: list[dict[str, Any]]  # OCPI 2.2.1 Tariffs

    @property
    def chargers(self) -> list[GeneratedCharger]:
        return [charger for location in self.locations for charger in location.chargers]

    def to_json(self) -> dict[str, Any]:
        return {
            "template": self.template_slug,
            "template_version": self.template_version,
            "seed": self.seed,
            "country_code": self.country_code,
            "party_id": self.party_id,
            "currency": self.currency,
            "locations": [generated.location for generated in self.locations],
            "chargers": [charger.to_json() for charger in self.chargers],
            "tariffs": self.tariffs,
        }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def network_fingerprint(network: Network) -> str:
    """sha256 over the canonical JSON of everything generated: equal iff byte-identical."""
    return hashlib.sha256(canonical_json(network.to_json()).encode("ascii")).hexdigest()


def check_overrides(
    template: Template, overrides: Mapping[str, int | None] | None
) -> tuple[int, int]:
    """Resolve overrides to (locations, chargers_per_location); None means the default."""
    limits = {
        "locations": template.locations,
        "chargers_per_location": template.chargers_per_location,
    }
    resolved = {key: limit.default for key, limit in limits.items()}
    for key, value in (overrides or {}).items():
        if key not in limits:
            raise OverrideError(
                str(key), f"unknown override {key!r}; supported: {', '.join(OVERRIDE_KEYS)}"
            )
        if value is None:
            continue
        # bool is an int subclass; `true` is not a count.
        if isinstance(value, bool) or not isinstance(value, int):
            raise OverrideError(key, f"{key} must be an integer or null")
        cap = limits[key].cap
        if not 1 <= value <= cap:
            raise OverrideError(key, f"{key} must be between 1 and {cap} for {template.slug}")
        resolved[key] = value
    return resolved["locations"], resolved["chargers_per_location"]


def sanitize_identity_prefix(name_prefix: str) -> str:
    """Map a free-text label onto the OCPP identity alphabet [A-Za-z0-9._~-], ≤ 32 chars:
    accents dropped ('Zoë' -> 'Zoe'), every other run of characters outside it -> '-'."""
    # NFKD splits 'ë' into 'e' + a combining mark, which the substitution below then drops.
    decomposed = unicodedata.normalize("NFKD", name_prefix.strip().translate(_LATIN_LETTERS))
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char))
    cleaned = re.sub(r"[^A-Za-z0-9._~\-]+", "-", ascii_text)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-")[:_PREFIX_MAX].strip("-")
    return cleaned or "cpo"


def _validate(country_code: str, party_id: str, name_prefix: str, seed: int) -> None:
    if not is_supported_country(country_code):
        raise NetworkInputError(
            "country_code",
            f"country_code {country_code!r} is not an officially assigned ISO 3166-1 alpha-2 code",
        )
    if not isinstance(party_id, str) or not _PARTY_PATTERN.match(party_id):
        # ISO 15118 operator ids are 3 alphanumerics; they also form the eMI3 EVSE id.
        raise NetworkInputError("party_id", "party_id must be 3 letters or digits")
    if not isinstance(name_prefix, str) or not name_prefix.strip():
        raise NetworkInputError("name_prefix", "name_prefix must not be empty")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise NetworkInputError("seed", "seed must be an integer")
    if not SEED_MIN <= seed <= SEED_MAX:
        raise NetworkInputError("seed", "seed must be a 64-bit signed integer")


def _random_for(seed: int) -> random.Random:
    """random.Random seeds an int by its absolute value (-1 and 1 give the same stream), so a
    negative seed is taken as its 64-bit two's complement: 2**63..2**64-1, which no seed in
    range maps to otherwise. Non-negative seeds are used as they are, as they always were."""
    return random.Random(seed if seed >= 0 else seed + 2**64)


def _pick_model(template: Template, rng: random.Random) -> str:
    slugs = [share.slug for share in template.models]
    weights = [share.weight for share in template.models]
    return rng.choices(slugs, weights=weights, k=1)[0]


def _pick_facilities(template: Template, rng: random.Random) -> list[str]:
    count = rng.randint(1, min(template.max_facilities_per_location, len(template.facilities)))
    chosen = rng.sample(template.facilities, count)
    return [facility for facility in template.facilities if facility in chosen]


def _build_location(
    template: Template,
    profile: CountryProfile,
    rng: random.Random,
    *,
    index: int,
    chargers: int,
    country_code: str,
    party_id: str,
    identity_prefix: str,
    operator_name: str,
    taken_names: set[str],
    last_updated: str,
) -> GeneratedLocation:
    cc, party = normalize_country_code(country_code), party_id.upper()
    location_id = f"{cc}{party}-L{index:02d}"
    site = place_site(profile, template.site_kind, rng, taken_names)
    facilities = _pick_facilities(template, rng)
    row_bearing = rng.uniform(0.0, 2.0 * math.pi)
    evses: list[dict[str, Any]] = []
    generated: list[GeneratedCharger] = []
    for number in range(1, chargers + 1):
        slug = _pick_model(template, rng)
        model = CATALOG[slug]
        identity = f"{identity_prefix}-{cc}{party}-L{index:02d}-C{number:02d}"
        latitude, longitude = offset_point(
            site.latitude, site.longitude, number * _EVSE_SPACING_M / 1000.0, row_bearing
        )
        capabilities = evse_capabilities(template, model)
        tariff_ids = tariff_ids_for(template, model.current_type)
        uids: list[str] = []
        evse_ids: list[str] = []
        for connector_id, spec in enumerate(model.connectors, start=1):
            uid = f"{location_id}-C{number:02d}-{connector_id}"
            evse_id = f"{cc}*{party}*E{index:02d}*{number:02d}*{connector_id}"
            evses.append(
                build_evse(
                    uid=uid,
                    evse_id=evse_id,
                    physical_reference=f"{number:02d}-{connector_id}",
                    capabilities=capabilities,
                    connector=build_connector(model, spec, tariff_ids, last_updated),
                    latitude=latitude,
                    longitude=longitude,
                    last_updated=last_updated,
                )
            )
            uids.append(uid)
            evse_ids.append(evse_id)
        generated.append(
            GeneratedCharger(identity, slug, location_id, tuple(uids), tuple(evse_ids))
        )
    location = build_location(
        template=template,
        profile=profile,
        site=site,
        country_code=country_code,
        party_id=party_id,
        location_id=location_id,
        operator_name=operator_name,
        facilities=facilities,
        evses=evses,
        last_updated=last_updated,
    )
    return GeneratedLocation(location, generated)


def generate_network(
    template: Template,
    *,
    seed: int,
    country_code: str,
    party_id: str,
    name_prefix: str,
    overrides: Mapping[str, int | None] | None,
    created_at: datetime,
) -> Network:
    """Build the whole network. Raises NetworkInputError (OverrideError for overrides)."""
    _validate(country_code, party_id, name_prefix, seed)
    location_count, chargers_per_location = check_overrides(template, overrides)
    profile = country_profile(country_code)
    last_updated = ocpi_timestamp(created_at)
    rng = _random_for(seed)
    identity_prefix = sanitize_identity_prefix(name_prefix)
    operator_name = f"{name_prefix.strip()} {template.brand}"
    tariffs = [
        build_tariff(
            template,
            tariff,
            profile,
            country_code=country_code,
            party_id=party_id,
            last_updated=last_updated,
        )
        for tariff in template.tariffs
    ]
    taken_names: set[str] = set()  # membership only; never iterated, so order cannot leak
    locations = [
        _build_location(
            template,
            profile,
            rng,
            index=index,
            chargers=chargers_per_location,
            country_code=country_code,
            party_id=party_id,
            identity_prefix=identity_prefix,
            operator_name=operator_name,
            taken_names=taken_names,
            last_updated=last_updated,
        )
        for index in range(1, location_count + 1)
    ]
    return Network(
        template_slug=template.slug,
        template_version=template.template_version,
        seed=seed,
        country_code=country_code,
        party_id=party_id,
        currency=profile.currency,
        locations=locations,
        tariffs=tariffs,
    )
