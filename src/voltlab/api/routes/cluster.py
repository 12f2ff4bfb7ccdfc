"""/cluster: the installation's live processes (issue 14), for admins."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.cluster_view import cluster_view
from voltlab.api.responses.declare import AUTHENTICATED, answers
from voltlab.api.responses.system import ClusterView
from voltlab.api.routing import GatewayRouter

router = GatewayRouter(prefix="/cluster", tags=["cluster"], route_class=AuthenticatedRoute)


@router.get(
    "",
    summary="Live workers, their chargers and lease ages (admin)",
    **answers(ClusterView, *AUTHENTICATED, 403, description="The installation's processes."),
)
async def get_cluster(principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    if principal.role != "admin":
        raise HTTPException(status_code=403, detail=f"role {principal.role!r}: admin only")
    return await cluster_view(request.app, detailed=True)
