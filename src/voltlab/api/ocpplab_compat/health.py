"""The SDK's `health` calls: `GET /health` is voltlab's own (api/app.py), and these two.

`/health/live` answers while the process serves HTTP; `/health/ready` as `/health` does (200
once the server accepts work and its database answers, else 503). The SDK's `mqtt` field names
a broker voltlab does not have: always `not_used`."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from voltlab import __version__
from voltlab.api.context import get_database, in_session
from voltlab.api.routing import GatewayRouter

router = GatewayRouter(prefix="/health", include_in_schema=False)


@router.get("/live")
async def live() -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    body = {"status": "starting", "database": "unknown", "mqtt": "not_used"}
    if not request.app.state.ready:
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
    database = get_database(request)
    try:
        await in_session(database, lambda s: s.execute(text("SELECT 1")))
    except Exception:  # noqa: BLE001 - the database is down: say so, not a 500
        body |= {"status": "degraded", "database": "unavailable"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
    body |= {"status": "ok", "database": database.engine.dialect.name}
    return JSONResponse(body)
