"""GET /ocpp/models: the charger model catalog."""

from __future__ import annotations

from typing import Any

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.responses.chargers import ChargerModelView
from voltlab.api.responses.declare import AUTHENTICATED, answers
from voltlab.api.routing import GatewayRouter
from voltlab.fleet.model.catalog import CATALOG

router = GatewayRouter(tags=["chargers"], route_class=AuthenticatedRoute)


@router.get(
    "/ocpp/models",
    summary="List charger models",
    **answers(list[ChargerModelView], *AUTHENTICATED, description="The catalog."),
)
async def list_models(principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [model.to_json() for model in CATALOG.values()]
