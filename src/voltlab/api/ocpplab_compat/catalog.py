"""`/evcharger/catalog`: the SDK's brands and models, read from voltlab's charger catalog
(`GET /ocpp/models`). A brand is a catalog vendor (its slug: the name in lower case, dashes for
the rest); a model's `slug` and `id` are the catalog slug that `model` takes everywhere else
(`POST /evcharger/deployment`, a location's chargers, `POST /ocpp/locations`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import not_found
from voltlab.api.routing import GatewayRouter
from voltlab.fleet.model.catalog import CATALOG, ChargerModel

router = GatewayRouter(
    prefix="/evcharger/catalog", route_class=AuthenticatedRoute, include_in_schema=False
)

Page = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")]
Limit = Annotated[int, Query(ge=1, le=100)]


def brand_slug(vendor: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", vendor.lower()).strip("-")


def brands() -> dict[str, str]:
    """slug -> vendor name, in catalog order."""
    return {brand_slug(model.vendor): model.vendor for model in CATALOG.values()}


def models_of(slug: str) -> list[ChargerModel]:
    return [model for model in CATALOG.values() if brand_slug(model.vendor) == slug]


def connector_types(model: ChargerModel) -> list[str]:
    return list(dict.fromkeys(c.connector_type for c in model.connectors))


def connector_ratings_kw(model: ChargerModel) -> list[float]:
    return sorted({c.max_power_w / 1000 for c in model.connectors})


def model_json(model: ChargerModel) -> dict[str, Any]:
    slug = brand_slug(model.vendor)
    return {
        "id": model.slug,
        "slug": model.slug,
        "name": model.model,
        "brand_slug": slug,
        "brand_id": slug,
        "connector_count": len(model.connectors),
        "current_type": model.current_type,
        # The SDK's name for each connector's rating, in kW.
        "supported_kwh": connector_ratings_kw(model),
        "connector_types": connector_types(model),
        # voltlab's catalog entry as GET /ocpp/models shows it.
        "catalog": model.to_json(),
    }


def _page(items: list[dict[str, Any]], page: int, limit: int) -> dict[str, Any]:
    # The SDK's pager asks for the next page until one comes back empty.
    start = (page - 1) * limit
    return {"data": items[start : start + limit], "total": len(items), "page": page, "limit": limit}


@router.get("")
async def list_brands(
    principal: CurrentPrincipal, page: Page = 1, limit: Limit = 20
) -> JSONResponse:
    items = [{"id": slug, "slug": slug, "name": name} for slug, name in brands().items()]
    return JSONResponse(_page(items, page, limit))


def _brand_models(slug: str) -> list[ChargerModel]:
    found = models_of(slug)
    if not found:
        raise not_found("brand", slug)
    return found


@router.get("/{brand}/models")
async def list_models(
    brand: str, principal: CurrentPrincipal, page: Page = 1, limit: Limit = 20
) -> JSONResponse:
    items = [model_json(model) for model in _brand_models(brand)]
    return JSONResponse(_page(items, page, limit))


@router.get("/{brand}/models/{model}")
async def get_model(brand: str, model: str, principal: CurrentPrincipal) -> JSONResponse:
    for found in _brand_models(brand):
        if found.slug == model:
            return JSONResponse(model_json(found))
    raise not_found("model", model)
