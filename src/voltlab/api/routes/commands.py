"""/ocpp/commands: the command endpoints (COMMAND_KINDS) and the command records they create.

One path for every command (docs/architecture.md): validate -> one `commands` row per targeted
charger -> commit -> `fleet.submit_command(id)`. The dispatcher reports the outcome on the row."""

# No `from __future__ import annotations` here: the per-slug endpoints are built in a closure and
# FastAPI must see their body annotation as a class, not as a string it cannot resolve.

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.command_events import (
    COMMAND_KINDS,
    CommandKind,
    CommandTarget,
    EventModel,
    id_tag_too_long_for,
)
from voltlab.api.context import get_database, get_fleet, in_session, invalid, not_found
from voltlab.api.errors import SafeJSONResponse
from voltlab.api.openapi_examples import (
    SEED_START_SESSION_RESPONSE,
    command_examples,
    request_examples,
)
from voltlab.api.pagination import (
    DEFAULT_PAGE_SIZE,
    CursorKey,
    PageCursor,
    PageLimit,
    decode_cursor,
    encode_cursor,
    page_body,
)
from voltlab.api.responses.commands import CommandAccepted, CommandPage, CommandView
from voltlab.api.responses.declare import READ, WRITE, answers
from voltlab.api.routing import GatewayRouter
from voltlab.api.serialize import command_json, command_summary
from voltlab.api.shared_reads import shared_read
from voltlab.clock import wall_now
from voltlab.fleet.hosting.command_limits import connector_rating_kw
from voltlab.fleet.model.catalog import get_model
from voltlab.live import LiveEvent, LiveHub, stamp
from voltlab.store import repo
from voltlab.store.models import Charger, Command
from voltlab.store.views import QueuedCommand

router = GatewayRouter(prefix="/ocpp/commands", tags=["commands"], route_class=AuthenticatedRoute)


# --- target resolution -------------------------------------------------------------------------


@dataclass
class Resolution:
    location_id: str | None
    targets: list[Charger] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, charger_id: str, identity: str | None, code: str, message: str) -> None:
        self.failed.append(
            {
                "charger_id": charger_id,
                "identity": identity,
                "error": {"code": code, "message": message},
            }
        )


def check_target_shape(target: CommandTarget) -> None:
    """The either/or rules of a target, as 422s whose `loc` names the field at fault."""
    base = ("body", "target")
    if target.charger_ids is not None and target.location_id is None:
        raise invalid((*base, "charger_ids"), "charger_ids is only valid with location_id")
    if target.charger_id is not None and target.location_id is not None:
        raise invalid(
            (*base, "location_id"), "give exactly one of charger_id or location_id, not both"
        )
    if target.charger_id is None and target.location_id is None:
        raise invalid((*base, "charger_id"), "give exactly one of charger_id or location_id")


def _resolve(session: Session, org_id: str, target: CommandTarget) -> Resolution:
    if target.charger_id is not None:
        charger = repo.get_charger(session, org_id, target.charger_id)
        if charger is None:
            raise not_found("charger", target.charger_id)
        return Resolution(location_id=charger.location_id, targets=[charger])
    location_id = target.location_id or ""
    if repo.get_location(session, org_id, location_id) is None:
        raise not_found("location", location_id)
    members = repo.chargers_of_location(session, org_id, location_id, addressing_only=True)
    resolution = Resolution(location_id=location_id)
    if target.charger_ids is None:
        resolution.targets = members
        return resolution
    by_id = {charger.id: charger for charger in members}
    for charger_id in dict.fromkeys(target.charger_ids):  # de-duplicated, order kept
        if charger_id in by_id:
            resolution.targets.append(by_id[charger_id])
            continue
        # Name the identity only when the charger is the caller's own (never a foreign one).
        outsider = repo.get_charger(session, org_id, charger_id)
        resolution.fail(
            charger_id,
            outsider.identity if outsider else None,
            "not_in_location",
            f"charger {charger_id!r} is not in location {location_id!r}",
        )
    return resolution


def _connector_fits(charger: Charger, connector_id: int) -> bool:
    model = get_model(charger.model)
    return model is None or connector_id <= len(model.connectors)


def _power_problem(charger: Charger, connector_id: int, power_kw: float) -> str | None:
    """`power_kw` above the targeted connector's rating: the charger's physics, per model."""
    model = get_model(charger.model)
    rating_kw = None if model is None else connector_rating_kw(model, connector_id)
    if model is None or rating_kw is None or power_kw <= rating_kw:
        return None
    return (
        f"power_kw {power_kw:g} is above connector {connector_id}'s rating of {rating_kw:g} kW "
        f"on charger {charger.identity!r} ({model.slug})"
    )


def _queue(
    session: Session,
    org_id: str,
    kind: CommandKind,
    target: CommandTarget,
    payload: dict[str, Any],
) -> tuple[Resolution, list[QueuedCommand]]:
    resolution = _resolve(session, org_id, target)
    # Refused whole, before any row: an id tag a targeted 1.6 charger could not send.
    refusal = id_tag_too_long_for(
        payload, [(c.identity, c.ocpp_version) for c in resolution.targets]
    )
    if refusal is not None:
        raise invalid(refusal.loc, refusal.message, refusal.value)
    connector_id = payload.get("connector_id") if kind.connector_field else None
    power_kw = payload.get("power_kw")
    now = wall_now()
    commands: list[QueuedCommand] = []
    for charger in resolution.targets:
        if kind.versions is not None and charger.ocpp_version not in kind.versions:
            resolution.fail(
                charger.id,
                charger.identity,
                "not_supported",
                f"{kind.slug} needs a charger speaking {' or '.join(kind.versions)}; "
                f"{charger.identity!r} speaks {charger.ocpp_version}",
            )
            continue
        if isinstance(connector_id, int) and not _connector_fits(charger, connector_id):
            resolution.fail(
                charger.id,
                charger.identity,
                "unknown_connector",
                f"charger {charger.identity!r} has no connector {connector_id}",
            )
            continue
        if isinstance(connector_id, int) and isinstance(power_kw, int | float):
            problem = _power_problem(charger, connector_id, float(power_kw))
            if problem is not None:
                resolution.fail(charger.id, charger.identity, "power_above_rating", problem)
                continue
        commands.append(
            QueuedCommand(
                id=repo.new_id(),
                org_id=org_id,
                charger_id=charger.id,
                identity=charger.identity,
                location_id=charger.location_id,
                event_type=kind.event_type,
                ocpp_version=charger.ocpp_version,
                payload=payload,
                status="queued",
                created_at=now,
                updated_at=now,
            )
        )
    if commands:
        # One Core executemany: a 1 000-charger location answers in well under 200 ms.
        table = Command.metadata.tables[Command.__tablename__]
        session.connection().execute(insert(table), [vars(c) for c in commands])
    return resolution, commands


def _announce_queued(live: LiveHub, org_id: str, commands: list[QueuedCommand]) -> None:
    """New records are `queued`: the live channel's first word about each (the dispatcher
    announces the later ones)."""
    if not commands or not live.wants_org(org_id, "commands"):
        return
    at = stamp()
    for command in commands:
        body = command_json(command) | {"at": at}
        live.publish(LiveEvent(org_id, "commands", "command", body))


async def queue_commands(
    request: Request,
    org_id: str,
    kind: CommandKind,
    target: CommandTarget,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The one path of every command (the /ocpp/commands endpoints and the OCPPLAB SDK's
    /evcharger/commands, api/ocpplab_compat): a `commands` row per targeted charger, committed,
    announced, handed to the fleet's dispatcher. `target` has passed `check_target_shape`;
    `payload` is a valid event of `kind`. Returns the seed's 202 body."""
    database = get_database(request)
    resolution, commands = await in_session(
        database, lambda s: _queue(s, org_id, kind, target, payload)
    )
    _announce_queued(database.live, org_id, commands)
    fleet = get_fleet(request)
    for command in commands:
        fleet.submit_command(command.id)
    results = [
        {"charger_id": c.charger_id, "identity": c.identity, "command": command_summary(c)}
        for c in commands
    ]
    return {
        "targeted_count": len(commands) + len(resolution.failed),
        "queued_count": len(commands),
        "failed_count": len(resolution.failed),
        "results": results,
        "failed": resolution.failed,
    }


# --- the command endpoints (COMMAND_KINDS) -----------------------------------------------------


class _CommandBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: CommandTarget
    event: EventModel  # each command's body narrows it to its own event model (_body_model)


def _body_model(kind: CommandKind) -> type[_CommandBody]:
    name = "".join(part.capitalize() for part in kind.event_type.split("_")) + "Command"
    has_fields = bool(kind.event_model.model_fields)
    # Field-less commands may omit `event` entirely.
    event_field = (
        (kind.event_model, Field(...))
        if has_fields
        else (kind.event_model, Field(default_factory=kind.event_model))
    )
    return create_model(name, __base__=_CommandBody, event=event_field)


def _add_command_route(kind: CommandKind) -> None:
    body_model = _body_model(kind)

    async def submit(
        body: body_model,  # type: ignore[valid-type]
        principal: CurrentPrincipal,
        request: Request,
    ) -> dict[str, Any]:
        command_body: _CommandBody = body
        check_target_shape(command_body.target)
        event = command_body.event
        # "As given": only the fields the client sent, so the record shows its request.
        payload = event.model_dump(mode="json", exclude_unset=True)
        return await queue_commands(request, principal.org_id, kind, command_body.target, payload)

    submit.__name__ = f"command_{kind.event_type}"
    example = SEED_START_SESSION_RESPONSE if kind.slug == "start-session" else None
    router.add_api_route(
        f"/{kind.slug}",
        submit,
        methods=["POST"],
        summary=kind.summary,
        description=(
            "Target one charger (`charger_id`), a whole location (`location_id`) or a subset "
            "of it (`location_id` + `charger_ids`). Answers 202 once the commands are queued; "
            "a targeted charger the command cannot apply to is listed in `failed`."
        ),
        openapi_extra=request_examples(command_examples(kind.slug)),
        **answers(
            CommandAccepted,
            *WRITE,
            404,
            status=202,
            description="Queued (404: unknown charger_id or location_id).",
            example=example,
        ),
    )


# --- command records ---------------------------------------------------------------------------


def _command_page(
    session: Session,
    org_id: str,
    charger_id: str | None,
    location_id: str | None,
    limit: int,
    key: CursorKey | None,
) -> tuple[list[Command], bool]:
    query = select(Command).where(Command.org_id == org_id)
    if charger_id is not None:
        query = query.where(Command.charger_id == charger_id)
    if location_id is not None:
        query = query.where(Command.location_id == location_id)
    if key is not None:
        query = query.where(
            or_(
                Command.created_at < key.created_at,
                and_(Command.created_at == key.created_at, Command.id < key.tiebreak),
            )
        )
    query = query.order_by(Command.created_at.desc(), Command.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    return rows[:limit], len(rows) > limit


IdFilter = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]


@router.get(
    "",
    summary="List command records, newest first",
    **answers(CommandPage, *READ, description="A page, newest first."),
)
async def list_commands(
    principal: CurrentPrincipal,
    request: Request,
    charger_id: IdFilter = None,
    location_id: IdFilter = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    key = decode_cursor(cursor)
    # A deleted charger's commands stay listed, so an unknown id filters to nothing, not 404.
    page, more = await in_session(
        get_database(request),
        lambda s: _command_page(s, principal.org_id, charger_id, location_id, limit, key),
    )
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return page_body([command_json(command) for command in page], next_cursor)


@router.get(
    "/{command_id}",
    summary="Get one command record",
    **answers(CommandView, *READ, 404, description="The record."),
)
async def get_command(command_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    def load(session: Session) -> Command:
        command = repo.get_command(session, principal.org_id, command_id)
        if command is None:
            raise not_found("command", command_id)
        return command

    async def compute() -> Response:
        return SafeJSONResponse(command_json(await in_session(get_database(request), load)))

    return await shared_read(request, principal.org_id, compute)


# After the record routes: a GET of a record then matches before the command routes are
# tried (a path matched here is never one of theirs, so the order changes no answer).
for _kind in COMMAND_KINDS:
    _add_command_route(_kind)
