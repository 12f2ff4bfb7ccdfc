"""`/evcharger/commands`: the SDK's 15 command methods, `get_status` and `list_results`.

Each command takes the one path of voltlab's commands (`routes.commands.queue_commands`, the
same as `POST /ocpp/commands/{slug}`): the SDK's body is checked, translated (payloads.py,
targets.py) and queued as the voltlab command of the same slug. Errors: 422 for a body the
models refuse, 400 for a target or payload voltlab cannot carry out as given, 404 for a charger
or location that is not the caller's."""

# No `from __future__ import annotations`: the per-slug endpoints are built in a closure and
# FastAPI must see their body annotation as a class.

from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.command_events import COMMAND_KINDS, CommandKind
from voltlab.api.context import get_database, in_session, invalid, not_found
from voltlab.api.errors import SafeJSONResponse
from voltlab.api.ocpplab_compat.lookup import OptionalQueryText
from voltlab.api.ocpplab_compat.payloads import (
    SDK_COMMANDS,
    PayloadProblem,
    SdkCommand,
    SdkPayload,
)
from voltlab.api.ocpplab_compat.results import accepted_body, command_result
from voltlab.api.ocpplab_compat.targets import (
    SdkTarget,
    bad_request,
    check_target,
    voltlab_target,
)
from voltlab.api.routes.commands import queue_commands
from voltlab.api.routing import GatewayRouter
from voltlab.store import repo
from voltlab.store.models import Command

router = GatewayRouter(
    prefix="/evcharger/commands", route_class=AuthenticatedRoute, include_in_schema=False
)

KINDS: dict[str, CommandKind] = {kind.slug: kind for kind in COMMAND_KINDS}
DEFAULT_RESULTS = 20
MAX_RESULTS = 500


class _SdkCommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: SdkTarget
    payload: SdkPayload | None  # each command's body narrows it (_body_model)


def _body_model(command: SdkCommand) -> type[_SdkCommandBody]:
    name = "Sdk" + "".join(part.capitalize() for part in command.method.split("_"))
    payload_field: Any = (
        (command.payload_model | None, None)
        if command.payload_optional
        else (command.payload_model, Field(...))
    )
    return create_model(name, __base__=_SdkCommandBody, payload=payload_field)


def _sdk_locations(exc: RequestValidationError) -> RequestValidationError:
    """voltlab's 422 names `body.event.*`; the SDK's request calls it `body.payload.*`."""
    errors = []
    for error in exc.errors():
        loc = tuple("payload" if part == "event" else part for part in error.get("loc", ()))
        message = str(error.get("msg", "")).replace("event.", "payload.")
        errors.append({**error, "loc": loc, "msg": message})
    return RequestValidationError(errors)


def _event(command: SdkCommand, kind: CommandKind, payload: SdkPayload | None) -> dict[str, Any]:
    """The voltlab event for the SDK's payload, checked by voltlab's own event model."""
    given = payload if payload is not None else command.payload_model()
    try:
        event = kind.event_model.model_validate(command.to_event(given))
    except PayloadProblem as problem:
        raise bad_request(f"payload: {problem}") from None
    except ValidationError as exc:
        # The SDK models carry voltlab's bounds, so this is a rule they do not express.
        raise invalid(("body", "payload"), str(exc.errors()[0]["msg"]), None) from None
    return event.model_dump(mode="json", exclude_unset=True)


def _add_command_route(command: SdkCommand) -> None:
    body_model = _body_model(command)
    kind = KINDS[command.slug]

    async def submit(
        body: body_model,  # type: ignore[valid-type]
        principal: CurrentPrincipal,
        request: Request,
    ) -> Response:
        sdk_body: _SdkCommandBody = body
        check_target(sdk_body.target)
        event = _event(command, kind, sdk_body.payload)
        org_id = principal.org_id
        target = await in_session(
            get_database(request), lambda s: voltlab_target(s, org_id, sdk_body.target)
        )
        try:
            accepted = await queue_commands(request, org_id, kind, target, event)
        except RequestValidationError as exc:
            raise _sdk_locations(exc) from None
        return SafeJSONResponse(accepted_body(accepted), status_code=202)

    submit.__name__ = f"evcharger_{command.method}"
    router.add_api_route(f"/{command.slug}", submit, methods=["POST"], status_code=202)


def _results(
    session: Session, org_id: str, deployment_id: str | None, identity: str | None, limit: int
) -> list[Command]:
    query = select(Command).where(Command.org_id == org_id)
    # A filter, as on GET /ocpp/commands: a deleted charger's records stay listed.
    if deployment_id is not None:
        query = query.where(Command.charger_id == deployment_id)
    else:
        query = query.where(Command.identity == identity)
    query = query.order_by(Command.created_at.desc(), Command.id.desc()).limit(limit)
    return list(session.scalars(query))


@router.get("")
async def list_results(
    principal: CurrentPrincipal,
    request: Request,
    deployment_id: OptionalQueryText = None,
    identity: OptionalQueryText = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = DEFAULT_RESULTS,
) -> Response:
    if (deployment_id is None) == (identity is None):
        raise invalid(("query", "deployment_id"), "give exactly one of deployment_id or identity")
    org_id = principal.org_id
    rows = await in_session(
        get_database(request), lambda s: _results(s, org_id, deployment_id, identity, limit)
    )
    return SafeJSONResponse({"data": [command_result(row) for row in rows]})


@router.get("/{command_id}")
async def get_status(command_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    def load(session: Session) -> Command:
        command = repo.get_command(session, principal.org_id, command_id)
        if command is None:
            raise not_found("command", command_id)
        return command

    return SafeJSONResponse(command_result(await in_session(get_database(request), load)))


# After the record routes: a GET of a record then matches before the 15 command routes are
# tried (as in routes/commands.py; a path matched there is never one of theirs).
for _command in SDK_COMMANDS:
    _add_command_route(_command)
