"""`/evcharger/templates/locations`: bodies for `POST /evcharger/location`, made from voltlab's
virtual-CPO gallery (`GET /ocpi/cpos/templates`).

A template is a gallery template for one OCPP version and one OCPI version: its site (a French
address the CPO generator places, the same for every call), its default number of chargers in
its model mix, the CPO's name, slug and party id. The chargers' `ws_url` is a placeholder for
the CSMS under test. A location has no OCPI side in voltlab: `ocpi_version`, `cpo_*` and
`party_id` say which `POST /ocpi/cpos` (template = `cpo_slug`) gives the same network with
roaming. Recommended (the default): the first template in the four OCPP x OCPI pairs;
`include_all`: every template, OCPP 2.1 too."""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import JSONResponse

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.ocpplab_compat.catalog import brand_slug, connector_types
from voltlab.api.routing import GatewayRouter
from voltlab.cpo.geo import country_profile, place_site
from voltlab.cpo.templates import TEMPLATES, Template
from voltlab.fleet.model.catalog import CATALOG

router = GatewayRouter(
    prefix="/evcharger/templates", route_class=AuthenticatedRoute, include_in_schema=False
)

PLACEHOLDER_CSMS_URL = "ws://127.0.0.1:9000/ocpp"
COUNTRY = "FR"
OcppName = Literal["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]
OcpiName = Literal["2.2.1", "2.1.1"]
RECOMMENDED_OCPP: tuple[OcppName, ...] = ("ocpp1.6", "ocpp2.0.1")
ALL_OCPP: tuple[OcppName, ...] = ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")
OCPI_VERSIONS: tuple[OcpiName, ...] = ("2.2.1", "2.1.1")


def _chargers(template: Template, ocpp_version: str, ocpi_version: str) -> list[dict[str, Any]]:
    mix = [share.slug for share in template.models for _ in range(share.weight)]
    # Each template's identities its own: posting two of them never collides.
    tag = ocpp_version.removeprefix("ocpp").replace(".", "") + "-" + ocpi_version.replace(".", "")
    chargers = []
    for index in range(template.chargers_per_location.default):
        model = CATALOG[mix[index % len(mix)]]
        chargers.append(
            {
                "identity": f"{template.code}-{tag}-{index + 1:03d}",
                "brand_slug": brand_slug(model.vendor),
                "model": model.slug,
                "connector_type": connector_types(model)[0],
                "ws_url": PLACEHOLDER_CSMS_URL,
                "ocpp_version": ocpp_version,
            }
        )
    return chargers


def location_body(template: Template, ocpp_version: str, ocpi_version: str) -> dict[str, Any]:
    # Seeded by the slug: the same site on every call.
    site = place_site(
        country_profile(COUNTRY), template.site_kind, random.Random(template.slug), set()
    )
    return {
        "name": site.name,
        "address": site.address,
        "city": site.city,
        "country": COUNTRY,
        "coordinates": {"lat": round(site.latitude, 6), "lng": round(site.longitude, 6)},
        "timezone": site.time_zone,
        "owner_name": template.brand,
        "public": True,
        "chargers": _chargers(template, ocpp_version, ocpi_version),
    }


def template_json(template: Template, ocpp_version: str, ocpi_version: str) -> dict[str, Any]:
    body = location_body(template, ocpp_version, ocpi_version)
    tag = f"{ocpp_version.replace('.', '')}-ocpi{ocpi_version.replace('.', '')}"
    return {
        "name": f"{template.title} (OCPP {ocpp_version.removeprefix('ocpp')}, OCPI {ocpi_version})",
        "slug": f"{template.slug}-{tag}",
        "description": template.description,
        "cpo_name": template.brand,
        "cpo_slug": template.slug,
        "party_id": template.code,
        "ocpp_version": ocpp_version,
        "ocpi_version": ocpi_version,
        "connector_type": body["chargers"][0]["connector_type"],
        "body": body,
    }


def gallery(include_all: bool) -> list[dict[str, Any]]:
    chosen = list(TEMPLATES.values()) if include_all else list(TEMPLATES.values())[:1]
    versions = ALL_OCPP if include_all else RECOMMENDED_OCPP
    return [
        template_json(template, ocpp, ocpi)
        for template in chosen
        for ocpp in versions
        for ocpi in OCPI_VERSIONS
    ]


def _connector_types(template: dict[str, Any]) -> set[str]:
    """Every connector type of the template's chargers (a model may have several)."""
    models = {charger["model"] for charger in template["body"]["chargers"]}
    return {kind for model in models for kind in connector_types(CATALOG[model])}


@router.get("/locations")
async def list_templates(
    principal: CurrentPrincipal,
    ocpp_version: OcppName | None = None,
    ocpi_version: OcpiName | None = None,
    connector_type: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    include_all: bool = False,
) -> JSONResponse:
    templates = [
        item
        for item in gallery(include_all)
        if (ocpp_version is None or item["ocpp_version"] == ocpp_version)
        and (ocpi_version is None or item["ocpi_version"] == ocpi_version)
        and (connector_type is None or connector_type in _connector_types(item))
    ]
    filters = {
        "ocpp_version": ocpp_version,
        "ocpi_version": ocpi_version,
        "connector_type": connector_type,
        "include_all": include_all,
    }
    return JSONResponse({"count": len(templates), "filters": filters, "templates": templates})
