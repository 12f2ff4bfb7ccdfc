"""The rows of the OCPI push outbox (`store.outbox_models.OcpiOutbox`): written in the caller's
transaction, claimed by one process at a time, finished or rescheduled after each attempt.

Claims (`claim`): the oldest due rows whose object has no earlier pending row, and which no
live process holds; on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so processes claiming at the
same moment never get the same row, and a row held by a process whose presence lock is gone
(`store.presence`) is free at once. Times are the caller's `now` (the wall clock in service,
a fixed one in the unit tests): backoff is relative, so hosts need not agree on the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from voltlab.store.outbox_models import FINAL_STATES, PENDING, OcpiOutbox
from voltlab.store.presence import PRESENCE_SPACE


@dataclass(frozen=True)
class PushRequest:
    method: str
    path: str  # appended to the eMSP's module endpoint URL ("" for the endpoint itself)
    body: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body}


@dataclass(frozen=True)
class PushJob:
    cpo_id: str
    module: str  # eMSP endpoint identifier, also the traffic counter's module
    object_key: str  # ordering key within the CPO
    request: PushRequest
    # Full-object PUT to send instead of a PATCH whose object the eMSP may not have.
    fallback: PushRequest | None = None
    # Command results go to the response_url the eMSP gave, not to a module endpoint.
    absolute_url: str | None = None


@dataclass(frozen=True)
class ClaimedRow:
    """A row as claimed: what to send, and where the row stands."""

    id: int
    job: PushJob
    correlation_id: str
    use_fallback: bool
    attempts: int
    phase_attempts: int
    push_log_id: int | None

    @property
    def request(self) -> PushRequest:
        if self.use_fallback and self.job.fallback is not None:
            return self.job.fallback
        return self.job.request


def enqueue(session: Session, job: PushJob, correlation_id: str, now: datetime) -> int:
    """Add a push in the caller's transaction (the one storing the change it reports)."""
    row = OcpiOutbox(
        cpo_id=job.cpo_id,
        module=job.module,
        object_key=job.object_key,
        method=job.request.method,
        path=job.request.path,
        body=job.request.body,
        fallback=job.fallback.as_json() if job.fallback is not None else None,
        absolute_url=job.absolute_url,
        correlation_id=correlation_id,
        state=PENDING,
        use_fallback=False,
        attempts=0,
        phase_attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


_CLAIM_POSTGRESQL = text(
    """
    WITH due AS (
        SELECT o.id FROM ocpi_outbox AS o
        WHERE o.state = 'pending' AND o.next_attempt_at <= :now
          AND (o.claimed_by IS NULL OR NOT EXISTS (
                SELECT 1 FROM pg_locks AS l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.classid = CAST(:space AS oid) AND l.objid = CAST(o.claimed_by AS oid)))
          AND NOT EXISTS (
                SELECT 1 FROM ocpi_outbox AS p
                WHERE p.cpo_id = o.cpo_id AND p.object_key = o.object_key
                  AND p.state = 'pending' AND p.id < o.id)
        ORDER BY o.id
        LIMIT :limit
        FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE ocpi_outbox SET claimed_by = :token FROM due WHERE ocpi_outbox.id = due.id
    RETURNING ocpi_outbox.id
    """
).bindparams(bindparam("now", type_=DateTime(timezone=True)))

_CLAIM_SQLITE = text(
    """
    UPDATE ocpi_outbox SET claimed_by = :token WHERE id IN (
        SELECT o.id FROM ocpi_outbox AS o
        WHERE o.state = 'pending' AND o.next_attempt_at <= :now AND o.claimed_by IS NULL
          AND NOT EXISTS (
                SELECT 1 FROM ocpi_outbox AS p
                WHERE p.cpo_id = o.cpo_id AND p.object_key = o.object_key
                  AND p.state = 'pending' AND p.id < o.id)
        ORDER BY o.id
        LIMIT :limit)
    RETURNING id
    """
).bindparams(bindparam("now", type_=DateTime(timezone=True)))


def claim(session: Session, token: int, limit: int, now: datetime) -> list[ClaimedRow]:
    """Claim up to `limit` due rows for the process holding presence `token`."""
    if limit <= 0:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = _CLAIM_POSTGRESQL if postgres else _CLAIM_SQLITE
    params: dict[str, Any] = {"now": now, "limit": limit, "token": token}
    if postgres:
        params["space"] = PRESENCE_SPACE
    ids = sorted(session.execute(statement, params).scalars())
    claimed = []
    for row in session.scalars(select(OcpiOutbox).where(OcpiOutbox.id.in_(ids))):
        if row.attempts == 0 and not row.use_fallback and row.fallback is not None:
            # Its predecessor failed for good: the eMSP may lack the object, send it whole.
            row.use_fallback = _previous_failed(session, row)
        claimed.append(_claimed(row))
    return sorted(claimed, key=lambda c: c.id)


def release_all(session: Session, token: int) -> int:
    """Hand back this process's claims (SQLite at start: a previous run's claims; shutdown)."""
    result = session.execute(
        update(OcpiOutbox)
        .where(OcpiOutbox.claimed_by == token, OcpiOutbox.state == PENDING)
        .values(claimed_by=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _previous_failed(session: Session, row: OcpiOutbox) -> bool:
    state = session.scalar(
        select(OcpiOutbox.state)
        .where(
            OcpiOutbox.cpo_id == row.cpo_id,
            OcpiOutbox.object_key == row.object_key,
            OcpiOutbox.id < row.id,
        )
        .order_by(OcpiOutbox.id.desc())
        .limit(1)
    )
    return state == "failed"


def _claimed(row: OcpiOutbox) -> ClaimedRow:
    fallback = row.fallback
    job = PushJob(
        cpo_id=row.cpo_id,
        module=row.module,
        object_key=row.object_key,
        request=PushRequest(row.method, row.path, dict(row.body)),
        fallback=PushRequest(fallback["method"], fallback["path"], dict(fallback["body"]))
        if fallback is not None
        else None,
        absolute_url=row.absolute_url,
    )
    return ClaimedRow(
        id=row.id,
        job=job,
        correlation_id=row.correlation_id,
        use_fallback=row.use_fallback,
        attempts=row.attempts,
        phase_attempts=row.phase_attempts,
        push_log_id=row.push_log_id,
    )


def set_push_log(session: Session, row_id: int, push_log_id: int) -> None:
    session.execute(
        update(OcpiOutbox).where(OcpiOutbox.id == row_id).values(push_log_id=push_log_id)
    )


def retry_later(
    session: Session,
    row_id: int,
    *,
    attempts: int,
    phase_attempts: int,
    use_fallback: bool,
    next_attempt_at: datetime,
    error: str | None,
) -> None:
    """After an attempt that did not end the row: its counts, when to try next, claim freed."""
    session.execute(
        update(OcpiOutbox)
        .where(OcpiOutbox.id == row_id)
        .values(
            attempts=attempts,
            phase_attempts=phase_attempts,
            use_fallback=use_fallback,
            next_attempt_at=next_attempt_at,
            last_error=error[:2000] if error else None,
            claimed_by=None,
        )
    )


def finish(
    session: Session, row_id: int, *, state: str, attempts: int, error: str | None, now: datetime
) -> None:
    if state not in FINAL_STATES:
        raise ValueError(f"state must be one of {FINAL_STATES}, not {state!r}")
    session.execute(
        update(OcpiOutbox)
        .where(OcpiOutbox.id == row_id)
        .values(
            state=state,
            attempts=attempts,
            last_error=error[:2000] if error else None,
            finished_at=now,
            claimed_by=None,
        )
    )


def pending_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(OcpiOutbox.state == PENDING)) or 0)


def next_due(session: Session) -> datetime | None:
    """When the earliest pending row is due (None: nothing pending)."""
    return session.scalar(
        select(func.min(OcpiOutbox.next_attempt_at)).where(OcpiOutbox.state == PENDING)
    )


def prune(session: Session, finished_before: datetime) -> int:
    """Delete rows finished before `finished_before` (the push log keeps their story)."""
    result = session.execute(
        delete(OcpiOutbox).where(
            OcpiOutbox.state.in_(FINAL_STATES), OcpiOutbox.finished_at < finished_before
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_cpo_rows(session: Session, cpo_id: str) -> None:
    session.execute(delete(OcpiOutbox).where(OcpiOutbox.cpo_id == cpo_id))


def backoff(attempt: int, base: float, cap: float) -> timedelta:
    """The wait after the `attempt`-th failed attempt (1-based): base·2^(attempt-1), capped."""
    return timedelta(seconds=min(base * 2 ** max(0, attempt - 1), cap))


def release_claim(session: Session, row_id: int) -> None:
    session.execute(
        update(OcpiOutbox)
        .where(OcpiOutbox.id == row_id, OcpiOutbox.state == PENDING)
        .values(claimed_by=None)
    )
