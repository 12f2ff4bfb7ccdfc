"""Commands receiver interface of our CPO: validate, hand to the registered handler, answer the
CommandResponse at once. The asynchronous result goes out later via
`OcpiService.send_command_result`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import Enum
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from voltlab.ocpi import repo
from voltlab.ocpi.core import OcpiCore
from voltlab.ocpi.envelope import OcpiError, OcpiReply, OcpiStatus
from voltlab.ocpi.validation import FieldChecker
from voltlab.ocpi.web import Caller, read_json_object, run_endpoint

log = logging.getLogger(__name__)

COMMANDS: dict[str, frozenset[str]] = {
    "2.2.1": frozenset(
        {"START_SESSION", "STOP_SESSION", "RESERVE_NOW", "CANCEL_RESERVATION", "UNLOCK_CONNECTOR"}
    ),
    "2.1.1": frozenset({"START_SESSION", "STOP_SESSION", "RESERVE_NOW", "UNLOCK_CONNECTOR"}),
}
RESPONSE_TYPES = frozenset({"ACCEPTED", "REJECTED", "UNKNOWN_SESSION", "NOT_SUPPORTED"})
HANDLER_TIMEOUT_S = 10.0  # the handler must answer "at once"; this bounds a hung one


class CommandHandler(Protocol):
    async def __call__(
        self, cpo_id: str, command: str, body: dict[str, Any]
    ) -> tuple[str, int, str | None]:
        """Immediate CommandResponse: (result e.g. "ACCEPTED"/"REJECTED"/"UNKNOWN_SESSION"/
        "NOT_SUPPORTED", timeout seconds, message)."""
        ...


def command_response(
    version: str, result: str, timeout: int, message: str | None
) -> dict[str, Any]:
    if version == "2.1.1":
        return {"result": result}  # 2.1.1 CommandResponse has no timeout nor message
    response: dict[str, Any] = {"result": result, "timeout": timeout}
    if message:
        response["message"] = [{"language": "en", "text": message[:512]}]
    return response


def validate_command(command: str, body: dict[str, Any], version: str) -> None:
    checker = FieldChecker(body)
    checker.url("response_url")
    id_len = 36 if version == "2.2.1" else 39
    if command in ("START_SESSION", "RESERVE_NOW"):
        token = checker.nested("token")
        if token is not None:
            token.string("uid", max_len=36)
            token.enum("type", {"AD_HOC_USER", "APP_USER", "OTHER", "RFID"})
            token.string("contract_id" if version == "2.2.1" else "auth_id", max_len=36)
        checker.string("location_id", max_len=id_len)
        checker.string("evse_uid", max_len=id_len, required=False)
        checker.string("authorization_reference", max_len=36, required=False)
    if command == "START_SESSION":
        connector_id = checker.string("connector_id", max_len=36, required=False)
        if connector_id is not None and body.get("evse_uid") is None:
            checker.errors.append("evse_uid: required when connector_id is set")
    elif command == "STOP_SESSION":
        checker.string("session_id", max_len=36)
    elif command == "RESERVE_NOW":
        checker.datetime("expiry_date")
        if version == "2.2.1":
            checker.string("reservation_id", max_len=36)
        else:
            checker.integer("reservation_id")
    elif command == "CANCEL_RESERVATION":
        checker.string("reservation_id", max_len=36)
    elif command == "UNLOCK_CONNECTOR":
        checker.string("location_id", max_len=id_len)
        checker.string("evse_uid", max_len=id_len)
        checker.string("connector_id", max_len=36)
    checker.fail_if_errors(command)


def check_target(session: Session, cpo_id: str, body: dict[str, Any]) -> str | None:
    """Why the command's location/EVSE/connector does not exist here, or None."""
    location_id = body.get("location_id")
    if location_id is None:
        return None
    location = repo.get_object(session, cpo_id, "location", str(location_id))
    if location is None:
        return f"Unknown location {location_id!r}"
    evse_uid = body.get("evse_uid")
    if evse_uid is None:
        return None
    evse = next((e for e in location.get("evses") or [] if e.get("uid") == evse_uid), None)
    if evse is None:
        return f"Unknown EVSE {evse_uid!r} at location {location_id!r}"
    connector_id = body.get("connector_id")
    if connector_id is not None and not any(
        str(c.get("id")) == str(connector_id) for c in evse.get("connectors") or []
    ):
        return f"Unknown connector {connector_id!r} on EVSE {evse_uid!r}"
    return None


async def _call_handler(
    handler: CommandHandler | None, cpo_id: str, command: str, body: dict[str, Any]
) -> tuple[str, int, str | None]:
    if handler is None:
        return "NOT_SUPPORTED", 0, "No command handler is registered for this CPO"
    try:
        result, timeout, message = await asyncio.wait_for(
            handler(cpo_id, command, body), timeout=HANDLER_TIMEOUT_S
        )
    except TimeoutError:
        log.warning("command handler timed out on %s for %s", command, cpo_id)
        return "REJECTED", 0, "The CPO could not accept the command in time"
    if result not in RESPONSE_TYPES:
        log.warning("command handler returned unknown result %r; answering REJECTED", result)
        return "REJECTED", 0, message
    return result, int(timeout), message


def add_commands_routes(
    router: APIRouter,
    core: OcpiCore,
    version: str,
    handler_getter: Callable[[], CommandHandler | None],
) -> None:
    tags: list[str | Enum] = [f"OCPI {version}"]  # FastAPI\'s type

    @router.post(f"/ocpi/{version}/commands/{{command}}", tags=tags, summary="Send a command")
    async def post_command(request: Request, command: str) -> Response:
        async def handle(caller: Caller) -> OcpiReply:
            body = await read_json_object(request)
            if command not in COMMANDS[version]:
                return OcpiReply(
                    data=command_response(
                        version, "NOT_SUPPORTED", 0, f"Command {command!r} is not supported"
                    )
                )
            validate_command(command, body, version)
            problem = await core.db(check_target, caller.cpo_id, body)
            if problem is not None:
                raise OcpiError(
                    OcpiStatus.UNKNOWN_LOCATION,
                    problem,
                    data=command_response(version, "REJECTED", 0, problem),
                )
            try:
                result, timeout, message = await _call_handler(
                    handler_getter(), caller.cpo_id, command, body
                )
            except Exception:  # the handler is the lead's code; its failure is ours, not theirs
                log.exception("command handler failed on %s for %s", command, caller.cpo_id)
                raise OcpiError(
                    OcpiStatus.SERVER_ERROR,
                    "The CPO failed to process the command",
                    data=command_response(version, "REJECTED", 0, "internal error"),
                ) from None
            return OcpiReply(data=command_response(version, result, timeout, message))

        return await run_endpoint(core, request, version=version, module="commands", handler=handle)
