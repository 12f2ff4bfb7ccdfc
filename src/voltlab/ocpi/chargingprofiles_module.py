"""ChargingProfiles receiver interface of our CPO (OCPI 2.2.1 only): validate, check the session,
hand the request to the registered handler and answer the ChargingProfileResponse at once.

The asynchronous result (ActiveChargingProfileResult, ChargingProfileResult or
ClearProfileResult) goes out later via `OcpiService.send_result` to the eMSP's response_url.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import Enum
from typing import Any, Literal, Protocol, TypeGuard

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from voltlab.ocpi import repo
from voltlab.ocpi.core import OcpiCore
from voltlab.ocpi.envelope import OcpiError, OcpiReply, OcpiStatus, invalid
from voltlab.ocpi.validation import FieldChecker
from voltlab.ocpi.web import Caller, read_json_object, run_endpoint

log = logging.getLogger(__name__)

VERSION = "2.2.1"
MODULE = "chargingprofiles"
RESPONSE_TYPES = frozenset(
    {"ACCEPTED", "NOT_SUPPORTED", "REJECTED", "TOO_OFTEN", "UNKNOWN_SESSION"}
)
RESULT_TYPES = frozenset({"ACCEPTED", "REJECTED", "UNKNOWN"})
RATE_UNITS = frozenset({"W", "A"})
DEFAULT_TIMEOUT = 30
HANDLER_TIMEOUT_S = 10.0  # the handler must answer "at once"; this bounds a hung one

ProfileAction = Literal["GET", "SET", "CLEAR"]


class ChargingProfileHandler(Protocol):
    async def __call__(
        self, cpo_id: str, action: ProfileAction, session_id: str, request: dict[str, Any]
    ) -> tuple[str, int]:
        """Immediate ChargingProfileResponse: (result, timeout seconds).

        `request` is, per action:
          GET   {"duration": int seconds, "response_url": str}
          SET   {"charging_profile": ChargingProfile, "response_url": str}
          CLEAR {"response_url": str}
        result is one of ACCEPTED / NOT_SUPPORTED / REJECTED / TOO_OFTEN / UNKNOWN_SESSION.
        On ACCEPTED the handler later POSTs the matching *Result object to response_url."""
        ...


def profile_response(result: str, timeout: int) -> dict[str, Any]:
    return {"result": result, "timeout": timeout}


def validate_charging_profile(checker: FieldChecker) -> None:
    """A ChargingProfile object (OCPI 2.2.1, module ChargingProfiles, class ChargingProfile)."""
    profile = checker.nested("charging_profile")
    if profile is None:
        return
    profile.datetime("start_date_time", required=False)
    duration = profile.integer("duration", required=False)
    if duration is not None and duration < 0:
        profile.errors.append("charging_profile.duration: must not be negative")
    profile.enum("charging_rate_unit", RATE_UNITS)
    rate = profile.body.get("min_charging_rate")
    if rate is not None and not _is_number(rate):
        profile.errors.append("charging_profile.min_charging_rate: must be a number")
    periods = profile.body.get("charging_profile_period")
    if periods is None:
        return
    if not isinstance(periods, list):
        profile.errors.append("charging_profile.charging_profile_period: must be a list")
        return
    previous = -1
    for index, period in enumerate(periods):
        where = f"charging_profile.charging_profile_period[{index}]"
        if not isinstance(period, dict):
            profile.errors.append(f"{where}: must be an object")
            continue
        start = period.get("start_period")
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            profile.errors.append(f"{where}.start_period: must be a non-negative integer")
        elif start <= previous:
            profile.errors.append(f"{where}.start_period: must be increasing")
        else:
            previous = start
        limit = period.get("limit")
        if not _is_number(limit) or limit < 0:
            profile.errors.append(f"{where}.limit: must be a non-negative number")


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_set(body: dict[str, Any]) -> None:
    checker = FieldChecker(body)
    checker.url("response_url")
    validate_charging_profile(checker)
    checker.fail_if_errors("SetChargingProfile")


def query_request(request: Request, *, with_duration: bool) -> dict[str, Any]:
    """The GET/DELETE query parameters as the handler's request dict (2001 when wrong)."""
    params: dict[str, Any] = {"response_url": request.query_params.get("response_url")}
    if with_duration:
        raw = request.query_params.get("duration")
        try:
            params["duration"] = int(raw) if raw is not None else None
        except ValueError:
            raise invalid(f"duration must be an integer number of seconds, not {raw!r}") from None
    checker = FieldChecker(params)
    checker.url("response_url")
    if with_duration:
        duration = checker.integer("duration")
        if duration is not None and duration <= 0:
            checker.errors.append("duration: must be positive")
    checker.fail_if_errors("query")
    return params


def session_is_active(session: Session, cpo_id: str, session_id: str) -> bool:
    stored = repo.get_object(session, cpo_id, "session", session_id)
    return stored is not None and stored.get("status") == "ACTIVE"


async def _call_handler(
    handler: ChargingProfileHandler | None,
    cpo_id: str,
    action: ProfileAction,
    session_id: str,
    request: dict[str, Any],
) -> tuple[str, int]:
    if handler is None:
        return "NOT_SUPPORTED", 0
    try:
        result, timeout = await asyncio.wait_for(
            handler(cpo_id, action, session_id, request), timeout=HANDLER_TIMEOUT_S
        )
    except TimeoutError:
        log.warning("charging profile handler timed out on %s for %s", action, cpo_id)
        return "REJECTED", 0
    if result not in RESPONSE_TYPES:
        log.warning("charging profile handler returned unknown result %r; REJECTED", result)
        return "REJECTED", int(timeout)
    return result, int(timeout)


def add_chargingprofiles_routes(
    router: APIRouter,
    core: OcpiCore,
    handler_getter: Callable[[], ChargingProfileHandler | None],
) -> None:
    """Routes under /ocpi/2.2.1/chargingprofiles/{session_id} (the module is 2.2.1-only)."""
    tags: list[str | Enum] = [f"OCPI {VERSION}"]  # FastAPI\'s type
    path = f"/ocpi/{VERSION}/{MODULE}/{{session_id}}"

    async def dispatch(
        request: Request, session_id: str, action: ProfileAction, read: Any
    ) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            payload: dict[str, Any] = await read()
            if len(session_id) > 36 or not await core.db(
                session_is_active, caller.cpo_id, session_id
            ):
                return OcpiReply(data=profile_response("UNKNOWN_SESSION", 0))
            try:
                result, timeout = await _call_handler(
                    handler_getter(), caller.cpo_id, action, session_id, payload
                )
            except Exception:  # the handler is the cpo layer's code; its failure is ours
                log.exception("charging profile handler failed on %s for %s", action, caller.cpo_id)
                raise OcpiError(
                    OcpiStatus.SERVER_ERROR,
                    "The CPO failed to process the charging profile request",
                    data=profile_response("REJECTED", 0),
                ) from None
            return OcpiReply(data=profile_response(result, timeout))

        return await run_endpoint(core, request, version=VERSION, module=MODULE, handler=handle)

    @router.get(path, tags=tags, summary="Get the active charging profile of a session")
    async def get_profile(request: Request, session_id: str) -> Response:
        async def read() -> dict[str, Any]:
            return query_request(request, with_duration=True)

        return await dispatch(request, session_id, "GET", read)

    @router.put(path, tags=tags, summary="Set a charging profile on a session")
    async def put_profile(request: Request, session_id: str) -> Response:
        async def read() -> dict[str, Any]:
            body = await read_json_object(request)
            validate_set(body)
            return {
                "charging_profile": body["charging_profile"],
                "response_url": body["response_url"],
            }

        return await dispatch(request, session_id, "SET", read)

    @router.delete(path, tags=tags, summary="Clear the charging profile of a session")
    async def delete_profile(request: Request, session_id: str) -> Response:
        async def read() -> dict[str, Any]:
            return query_request(request, with_duration=False)

        return await dispatch(request, session_id, "CLEAR", read)
