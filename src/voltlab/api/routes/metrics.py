"""`GET /metrics`: Prometheus' text format, for admin keys (other roles 403). The same text
is served without a key on the opt-in metrics listener (api/metrics_listener.py)."""

from __future__ import annotations

from fastapi import HTTPException, Request, Response

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.metrics import AppMetrics
from voltlab.api.responses.declare import AUTHENTICATED
from voltlab.api.responses.errors import error_responses
from voltlab.api.routing import GatewayRouter

router = GatewayRouter(tags=["metrics"], route_class=AuthenticatedRoute)


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process (admin)",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format 0.0.4, or OpenMetrics when the Accept header "
            "asks for it (docs/observability.md)",
            # Media types without their parameters: the version and escaping follow Accept.
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/openmetrics-text": {"schema": {"type": "string"}},
            },
        },
        **error_responses(*AUTHENTICATED, 403),
    },
)
async def get_metrics(principal: CurrentPrincipal, request: Request) -> Response:
    if principal.role != "admin":
        raise HTTPException(status_code=403, detail=f"role {principal.role!r}: admin only")
    return await metrics_response(request.app.state.metrics, request.headers.get("accept"))


async def metrics_response(metrics: AppMetrics, accept: str | None) -> Response:
    body, content_type = await metrics.scrape(accept)
    return Response(body, headers={"Content-Type": content_type})
