"""Exception handlers: every failure a client can cause maps to a 4xx/503, never a 500."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError

log = logging.getLogger(__name__)


def _json_safe(value: Any) -> Any:
    """Python's JSON reader accepts NaN/Infinity but a strict JSON response cannot carry them;
    echo them back as strings inside the 422 instead of failing the error response itself."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = _json_safe(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": detail}, status_code=422)


async def conflict(_request: Request, exc: Exception) -> JSONResponse:
    # Reached when a concurrent request won a uniqueness race the pre-checks could not see.
    log.info("integrity conflict: %s", exc)
    return JSONResponse({"detail": "conflict with an existing record"}, status_code=409)


async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return JSONResponse(
        {"detail": "database unavailable"}, status_code=503, headers={"Retry-After": "1"}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(OperationalError, database_unavailable)
