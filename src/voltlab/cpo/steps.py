"""Bookkeeping of CPO status and provisioning steps in the store (what GET .../status shows),
each change announced on the live channel (`cpos` topic) once it is committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.cpo.views import status_json
from voltlab.live import LiveEvent, stamp
from voltlab.store.db import Database
from voltlab.store.models import Cpo, CpoStep


def create_steps(session: Session, cpo_id: str, names: tuple[str, ...], offset: int = 0) -> None:
    for position, name in enumerate(names, start=offset):
        session.add(CpoStep(cpo_id=cpo_id, position=position, name=name, state="pending"))


def _step(session: Session, cpo_id: str, name: str) -> CpoStep:
    step = session.scalar(select(CpoStep).where(CpoStep.cpo_id == cpo_id, CpoStep.name == name))
    if step is None:
        count = len(session.scalars(select(CpoStep.id).where(CpoStep.cpo_id == cpo_id)).all())
        step = CpoStep(cpo_id=cpo_id, position=count, name=name, state="pending", attempts=0)
        session.add(step)
    return step


def _status_event(database: Database, session: Session, cpo_id: str) -> LiveEvent | None:
    """The CPO's status as GET .../status shows it, when someone of its org listens."""
    live = database.live
    if not live.wants("cpos"):
        return None
    cpo = session.get(Cpo, cpo_id)
    if cpo is None or not live.wants_org(cpo.org_id, "cpos"):
        return None
    session.flush()
    body = status_json(session, cpo) | {"at": stamp()}
    return LiveEvent(cpo.org_id, "cpos", "cpo", body, key=cpo_id)


def _announce(database: Database, event: LiveEvent | None) -> None:
    if event is not None:
        database.live.publish(event)


def begin(database: Database, cpo_id: str, name: str) -> None:
    with database.session() as session:
        step = _step(session, cpo_id, name)
        step.state = "running"
        step.attempts = (step.attempts or 0) + 1
        step.started_at = step.started_at or wall_now()
        step.finished_at = None
        event = _status_event(database, session, cpo_id)
    _announce(database, event)


def finish(database: Database, cpo_id: str, name: str, detail: dict[str, Any] | None) -> None:
    with database.session() as session:
        step = _step(session, cpo_id, name)
        step.state = "done"
        step.finished_at = wall_now()
        if detail is not None:
            step.detail = detail
        event = _status_event(database, session, cpo_id)
    _announce(database, event)


def fail(database: Database, cpo_id: str, name: str, error: str) -> None:
    with database.session() as session:
        step = _step(session, cpo_id, name)
        step.state = "failed"
        step.last_error = error[:2000]
        step.finished_at = wall_now()
        event = _status_event(database, session, cpo_id)
    _announce(database, event)


def set_status(database: Database, cpo_id: str, status: str, error: str | None = None) -> None:
    with database.session() as session:
        cpo = session.get(Cpo, cpo_id)
        if cpo is None:
            return
        # A destroyed CPO stays destroyed, whatever a late provisioning step says.
        if cpo.status in ("DESTROYING", "DESTROYED") and status in (
            "PROVISIONING",
            "READY",
            "FAILED",
        ):
            return
        cpo.status = status
        if error is not None:
            cpo.error = error[:2000]
        if status == "READY":
            cpo.ready_at = wall_now()
        if status == "DESTROYED":
            cpo.destroyed_at = wall_now()
        event = _status_event(database, session, cpo_id)
    _announce(database, event)
