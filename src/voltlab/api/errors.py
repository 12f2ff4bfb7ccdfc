"""Exception handlers: every failure a client can cause maps to a 4xx/503, never a 500."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticSerializationError, to_json
from sqlalchemy.exc import IntegrityError, OperationalError

log = logging.getLogger(__name__)


class SafeJSONResponse(JSONResponse):
    """Starlette's JSON response (compact, UTF-8), written by pydantic's serializer: one pass in
    Rust where the standard library's encoder takes three to four times as long for a page of
    chargers. Text which cannot be encoded as UTF-8 (a lone surrogate stored before input was
    checked) is sent \\u-escaped instead of failing the whole response, and a NaN or infinite
    float as null: one bad record must not make an org's list unreadable."""

    def render(self, content: Any) -> bytes:
        try:
            return to_json(content, inf_nan_mode="null")
        except PydanticSerializationError:
            return json.dumps(
                content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
            ).encode("ascii")


def _json_safe(value: Any) -> Any:
    """Python's JSON reader accepts NaN/Infinity but a strict JSON response cannot carry them;
    echo them back as strings inside the 422 instead of failing the error response itself.
    Strings are made encodable (a lone surrogate is shown escaped, never echoed raw)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _error_entry(error: dict[str, Any]) -> dict[str, Any]:
    entry = {key: error[key] for key in ("type", "loc", "msg", "input", "ctx") if key in error}
    safe: dict[str, Any] = _json_safe(jsonable_encoder(entry))
    return safe


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail: list[dict[str, Any]] = []
    for error in exc.errors():
        try:
            detail.append(_error_entry(error))
        except Exception:  # noqa: BLE001 - the error answer itself must never become a 500
            loc = [str(part) for part in error.get("loc", ())]
            detail.append(
                {"type": str(error.get("type")), "loc": _json_safe(loc), "msg": str(error["msg"])}
            )
    try:
        return JSONResponse({"detail": detail}, status_code=422)
    except (TypeError, ValueError):
        # Something in an echoed input still cannot be written as JSON: drop the echoes.
        kept = ("type", "loc", "msg")
        plain = [{key: entry[key] for key in kept if key in entry} for entry in detail]
        return JSONResponse({"detail": plain}, status_code=422)


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
