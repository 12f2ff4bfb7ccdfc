"""Every route of the SDK compatibility layer, as one router for the app (api/app.py), which
leaves them out of the Gateway API's OpenAPI description (docs/ocpplab-sdk.md says why)."""

from __future__ import annotations

from fastapi import APIRouter

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

router = APIRouter(tags=["ocpplab-sdk"])
for _module in (catalog, templates, deployments, runtime_ops, diagnostics, commands, logs, health):
    router.include_router(_module.router)
