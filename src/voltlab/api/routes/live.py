"""The dashboard's live channel, `GET /events` (Server-Sent Events), and `GET /me`.

A stream subscribes to the org's topics on the hub the store carries (`database.live`, see
`voltlab.live`) and writes what arrives: `event:`, `id:`, `data:` per event, a comment line when
nothing happened for `HEARTBEAT_SECONDS` (proxies close silent connections). It ends when the
client goes away (the ASGI server cancels it) and when the server shuts down
(`LiveHub.close_all`, see `api/serving.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltlab.api.auth import AuthenticatedRoute, CurrentPrincipal
from voltlab.api.context import get_database, in_session, invalid, not_found
from voltlab.api.responses.declare import AUTHENTICATED, READ, answers
from voltlab.api.responses.errors import error_responses
from voltlab.api.responses.events import event_stream_schema
from voltlab.api.responses.system import MeView
from voltlab.api.routing import GatewayRouter
from voltlab.live import LiveEvent, LiveHub
from voltlab.store.models import Charger, Org

router = GatewayRouter(tags=["live"], route_class=AuthenticatedRoute)

HEARTBEAT_SECONDS = 15.0
TOPICS = frozenset({"fleet", "commands", "cpos", "scenarios", "findings"})
CHARGER_TOPIC = "charger:"
MAX_TOPICS = 50


@router.get(
    "/me",
    summary="The caller's key, org and role",
    **answers(MeView, *AUTHENTICATED, description="The key's org and role."),
)
async def me(principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    def org_name(session: Session) -> str | None:
        org = session.get(Org, principal.org_id)
        return None if org is None else org.name

    name = await in_session(get_database(request), org_name)
    return {
        "key_id": principal.key_id,
        "org_id": principal.org_id,
        "org_name": name,
        "role": principal.role,
        "can_write": principal.can_write,
    }


def parse_topics(raw: str) -> tuple[list[str], list[str]]:
    """(topics, charger ids named by `charger:{id}` topics); 422 naming `topics` otherwise."""
    topics: list[str] = []
    chargers: list[str] = []
    for part in raw.split(","):
        topic = part.strip()
        if not topic or topic in topics:
            continue
        if topic.startswith(CHARGER_TOPIC) and 0 < len(topic) - len(CHARGER_TOPIC) <= 40:
            chargers.append(topic[len(CHARGER_TOPIC) :])
        elif topic not in TOPICS:
            allowed = ", ".join(sorted(TOPICS)) + ", charger:{id}"
            raise invalid(("query", "topics"), f"unknown topic {topic!r} (one of {allowed})", raw)
        topics.append(topic)
    if not topics:
        raise invalid(("query", "topics"), "name at least one topic", raw)
    if len(topics) > MAX_TOPICS:
        raise invalid(("query", "topics"), f"at most {MAX_TOPICS} topics", raw)
    return topics, chargers


def _require_chargers(session: Session, org_id: str, charger_ids: list[str]) -> None:
    found = set(
        session.scalars(
            select(Charger.id).where(Charger.org_id == org_id, Charger.id.in_(charger_ids))
        )
    )
    for charger_id in charger_ids:
        if charger_id not in found:
            raise not_found("charger", charger_id)


def sse_lines(event: LiveEvent) -> str:
    return f"event: {event.type}\nid: {event.seq}\ndata: {event.encoded()}\n\n"


async def _stream(
    hub: LiveHub, org_id: str, topics: list[str], heartbeat: float
) -> AsyncIterator[str]:
    with hub.subscribe(org_id, topics) as subscription:
        # Sent at once: the client knows from here on that nothing is missed.
        yield ": subscribed\n\n"
        while True:
            batch = await subscription.next_batch(heartbeat)
            if batch is None:
                return
            if not batch:
                yield ": keep-alive\n\n"
                continue
            yield "".join(sse_lines(event) for event in batch)


@router.get(
    "/events",
    summary="Live events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An endless stream: `event:`, `id:` and `data:` (JSON) per event, "
            "a comment line as keep-alive.",
            "content": {"text/event-stream": {"schema": event_stream_schema()}},
        },
        **error_responses(*READ, 404),
    },
)
async def events(
    principal: CurrentPrincipal,
    request: Request,
    topics: Annotated[
        str,
        Query(
            max_length=4000,
            description="comma list: fleet, charger:{id}, commands, cpos, scenarios, findings",
        ),
    ],
) -> StreamingResponse:
    chosen, charger_ids = parse_topics(topics)
    database = get_database(request)
    if charger_ids:
        await in_session(database, lambda s: _require_chargers(s, principal.org_id, charger_ids))
    heartbeat = float(getattr(request.app.state, "events_heartbeat", HEARTBEAT_SECONDS))
    return StreamingResponse(
        _stream(database.live, principal.org_id, chosen, heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
