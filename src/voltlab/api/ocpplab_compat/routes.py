"""Every router of the SDK compatibility layer, for the app (api/app.py) to include one by one:
each is a `GatewayRouter`, which turns other paths away on its literal prefixes. Their routes
are left out of the Gateway API's OpenAPI description (docs/ocpplab-sdk.md says why)."""

from __future__ import annotations

from voltlab.api.ocpplab_compat import (
    catalog,
    commands,
    deployments,
    diagnostics,
    health,
    logs,
    runtime_ops,
    templates,
)
from voltlab.api.routing import GatewayRouter

ROUTERS: tuple[GatewayRouter, ...] = tuple(
    module.router
    for module in (
        catalog,
        templates,
        deployments,
        runtime_ops,
        diagnostics,
        commands,
        logs,
        health,
    )
)
