"""Pushes to the eMSP, from the durable outbox (`voltlab.ocpi.outbox`, issue 14).

A push is a row written in the same database transaction as the change it reports (the caller
uses `PushQueue.enqueue` inside its unit of work, then `wake`); this dispatcher claims due rows
and sends each, one attempt per claim:
- ordered per object: a row is claimed only when every earlier row of its object (one
  location, one session, one CDR, one command response URL) has ended, so a PATCH never
  overtakes its PUT, across processes and restarts too;
- retried with exponential backoff (`retry_base_delay` doubled per attempt, capped at
  `retry_max_delay`), `max_attempts` per request; the row keeps its counts, so a restart
  continues the schedule instead of starting it over. A push that failed `judge_after` times
  is a finding about the eMSP (once per push) while the row keeps trying;
- when its predecessor failed for good, or the eMSP answers a PATCH with a client error (it
  lacks the object), the row sends its full-object fallback (a PUT) instead, which is what the
  transport chapter asks a client to do after a failed PATCH;
- in a cluster exactly one process holds a row while it sends it (`FOR UPDATE SKIP LOCKED`,
  then the process's presence token); a process that dies frees its rows at once.

Delivery is at least once: a process killed after the eMSP received a request and before the
row was marked done sends it again after the restart (the window is one HTTP exchange).
Shutdown stops claiming, lets attempts in flight finish within a bound, and cancels the rest
(logged ``dropped``; their rows stay pending for the next process).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy.orm import Session

from voltlab.clock import wall_now
from voltlab.log_context import bind
from voltlab.ocpi import outbox, repo
from voltlab.ocpi import traffic as traffic_repo
from voltlab.ocpi.core import OcpiCore, exchange_evidence, ocpi_status_of
from voltlab.ocpi.credentials_tokens import authorization_header
from voltlab.ocpi.findings import OcpiObservation
from voltlab.ocpi.outbox import ClaimedRow, PushJob, PushRequest
from voltlab.ocpi.peer import CpoLink
from voltlab.ocpi.peer_address import UNREACHABLE, PeerAddressRefused, PeerUnreachable
from voltlab.ocpi.web import routing_headers
from voltlab.store.presence import Presence
from voltlab.store.times import as_utc
from voltlab.tasks import BackgroundTasks

__all__ = ["PushJob", "PushQueue", "PushRequest"]

log = logging.getLogger(__name__)

DROPPED = (
    "the server shut down before the push was delivered; it stays in the outbox for the next "
    "process"
)
# Rows another process may have written are looked for at least this often (seconds).
POLL_INTERVAL = 1.0
CONCURRENCY = 32  # attempts in flight per process
# A push still failing after this many attempts is a finding about the eMSP (it keeps trying).
JUDGE_AFTER = 5


@dataclass
class AttemptResult:
    http_status: int | None = None
    ocpi_status: int | None = None
    error: str | None = None
    refused: bool = False  # the address policy forbids the URL: retrying cannot help
    # What was sent and what came (evidence when the push fails for good).
    sent: dict[str, str] = field(default_factory=dict)
    response: httpx.Response | None = None

    @property
    def ok(self) -> bool:
        return (
            self.http_status is not None
            and 200 <= self.http_status < 300
            and (self.ocpi_status is None or 1000 <= self.ocpi_status < 2000)
        )

    @property
    def retryable(self) -> bool:
        if self.refused:
            return False
        if self.http_status is None:  # transport error or timeout
            return True
        if self.http_status >= 500 or self.http_status in (408, 429):
            return True
        return 200 <= self.http_status < 300 and (self.ocpi_status or 0) >= 3000


class PushQueue:
    def __init__(
        self,
        core: OcpiCore,
        presence: Presence,
        *,
        max_attempts: int = 5,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        judge_after: int = JUDGE_AFTER,
        now: Callable[[], datetime] = wall_now,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self._core = core
        self._presence = presence
        self._max_attempts = max(1, max_attempts)
        self._judge_after = max(1, judge_after)
        self._base_delay = retry_base_delay
        self._max_delay = retry_max_delay
        self._now = now
        self._poll_interval = poll_interval
        self._tasks = BackgroundTasks("OCPI pushes")
        self._inflight: set[int] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None
        self._stopped = False
        self._push_ids: dict[int, int] = {}  # row id -> push log id, while in flight

    # -- writing ------------------------------------------------------------------------------

    def enqueue(self, session: Session, job: PushJob) -> int:
        """Add `job` to the outbox in the caller's transaction; call `wake` after it commits."""
        return outbox.enqueue(session, job, str(uuid.uuid4()), self._now())

    def wake(self) -> None:
        """New rows (or a start): claim now rather than at the next poll."""
        if self._stopped:
            return
        if self._wakeup is None:
            self._wakeup, self._progress = asyncio.Event(), asyncio.Event()
        self._wakeup.set()
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(
                self._run(), name="ocpi-outbox"
            )

    # -- shutdown and tests -------------------------------------------------------------------

    async def drain(self, timeout: float | None = None) -> int:
        """Without `timeout`: wait until the outbox holds no pending row (tests). With one
        (shutdown): stop claiming, give the attempts in flight `timeout` seconds, cancel the
        rest (each logs itself ``dropped``, its row stays pending); returns how many."""
        if timeout is None:
            while not self._stopped:
                if not self._inflight and await self._core.db(outbox.pending_count) == 0:
                    break
                self.wake()
                assert self._progress is not None
                self._progress.clear()
                try:
                    async with asyncio.timeout(self._poll_interval):
                        await self._progress.wait()
                except TimeoutError:
                    pass
            return 0
        await self._stop_loop()
        return await self._tasks.drain(timeout)

    async def cancel_all(self) -> int:
        await self._stop_loop()
        return await self._tasks.cancel()

    async def _stop_loop(self) -> None:
        self._stopped = True
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    # -- the dispatcher -----------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wakeup is not None and self._progress is not None
        if not self._presence.clustered:
            # One process: claims left by a previous run of it (kill -9) are its own.
            await self._core.db(outbox.release_all, self._presence.token)
        while not self._stopped:
            self._wakeup.clear()
            claimed: list[ClaimedRow] = []
            try:
                token = await anyio.to_thread.run_sync(self._presence.current_token)
                free = CONCURRENCY - len(self._inflight)
                claimed = await self._core.db(outbox.claim, token, free, self._now())
                for row in claimed:
                    self._inflight.add(row.id)
                    self._tasks.spawn(self._deliver(row))
                due = await self._core.db(outbox.next_due)
            except Exception:  # noqa: BLE001 - the database is away: try again later
                log.warning("OCPI outbox: claiming failed; retrying", exc_info=True)
                due = None
            self._progress.set()
            delay = self._poll_interval
            if due is not None:
                until_due = (as_utc(due) - self._now()).total_seconds()
                if until_due > 0:
                    delay = min(delay, until_due)
            try:
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    async def _deliver(self, row: ClaimedRow) -> None:
        bind(cpo_id=row.job.cpo_id)  # a task of its own: its log lines name the CPO
        try:
            await self._send(row)
        except asyncio.CancelledError:
            # Shutdown: the log says so instead of showing it pending for ever; the row stays.
            self._core.metrics.push(row.job.module, "dropped")
            push_id = self._push_ids.get(row.id, row.push_log_id)
            await self._core.db(_dropped, row.id, push_id, row.attempts)
            raise
        except Exception:  # never let a delivery die with the row claimed
            self._core.metrics.push(row.job.module, "error")
            log.exception("OCPI push %s %s failed unexpectedly", row.job.module, row.job.object_key)
            await self._core.db(
                outbox.retry_later,
                row.id,
                attempts=row.attempts,
                phase_attempts=row.phase_attempts,
                use_fallback=row.use_fallback,
                next_attempt_at=self._now() + outbox.backoff(1, self._base_delay, self._max_delay),
                error="internal error",
            )
        finally:
            self._inflight.discard(row.id)
            self._push_ids.pop(row.id, None)
            if self._wakeup is not None:
                self._wakeup.set()
            if self._progress is not None:
                self._progress.set()

    async def _send(self, row: ClaimedRow) -> None:
        job = row.job
        link = await self._core.db(repo.get_link, job.cpo_id)
        request = row.request
        base_url = job.absolute_url
        if base_url is None and link is not None:
            base_url = link.endpoint(job.module)
        url = _join(base_url, request.path)
        if link is None or not link.can_push or url is None:
            reason = "not registered" if link is None or not link.can_push else "no endpoint"
            # Nothing was sent, so a later PATCH must fall back to the full object.
            state = "failed" if reason == "not registered" else "skipped"
            await self._core.db(_skip, row, request, url or "", reason, state, self._now())
            self._core.metrics.push(job.module, "unregistered" if state == "failed" else state)
            return
        push_id = row.push_log_id
        if push_id is None:
            push_id = await self._core.db(_start_log, row, request, url)
        self._push_ids[row.id] = push_id
        result = await self._attempt(link, job, request, url, row.correlation_id)
        await self._core.count(
            job.cpo_id,
            "out",
            job.module,
            result.http_status,
            result.ocpi_status,
            method=request.method,
            url=url,
        )
        attempts, phase = row.attempts + 1, row.phase_attempts + 1
        if result.ok:
            await self._core.db(_end, row.id, push_id, "succeeded", attempts, result, self._now())
            self._core.metrics.push(job.module, "succeeded")
        elif not row.use_fallback and job.fallback is not None and not result.retryable:
            # The eMSP refused the PATCH (likely it lacks the object): send the whole object.
            await self._core.db(_again, row.id, push_id, attempts, 0, True, self._now(), result)
            self._core.metrics.push(job.module, "fallback")
        elif result.retryable and phase < self._max_attempts:
            if phase == self._judge_after:
                # The eMSP is judged once per push, after as many attempts as a push had
                # before the outbox (a finding in seconds); the row keeps trying after it.
                await self._judge_failure(link, job, request, url, attempts, result)
            wait = outbox.backoff(phase, self._base_delay, self._max_delay)
            await self._core.db(
                _again,
                row.id,
                push_id,
                attempts,
                phase,
                row.use_fallback,
                self._now() + wait,
                result,
            )
            self._core.metrics.push(job.module, "retry")
        else:
            if phase <= self._judge_after:  # not judged yet
                await self._judge_failure(link, job, request, url, attempts, result)
            await self._core.db(_end, row.id, push_id, "failed", attempts, result, self._now())
            self._core.metrics.push(job.module, "failed")

    async def _attempt(
        self, link: CpoLink, job: PushJob, request: PushRequest, url: str, correlation_id: str
    ) -> AttemptResult:
        assert link.token_b is not None  # can_push guarantees it
        headers = {
            "Authorization": authorization_header(link.token_b, base64_encoded=link.token_b_base64),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": correlation_id,
        }
        if link.version == "2.2.1":
            headers.update(routing_headers(link))
        policy = self._core.peer_policy
        try:
            await policy.check_url(url)
            # Never follow a redirect: it could lead anywhere, past the address policy too.
            response = await self._core.http.request(
                request.method, url, json=request.body, headers=headers, follow_redirects=False
            )
            policy.check_connected(response)
        except PeerAddressRefused as exc:
            return AttemptResult(error=f"refused: {exc.reason}", refused=True, sent=headers)
        except (httpx.HTTPError, PeerUnreachable):
            # The same text whatever failed: the push log is no port scanner (item 8).
            return AttemptResult(error=UNREACHABLE, sent=headers)
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        await self._core.judge_answer(
            job.cpo_id, link.version, headers, request.body, response, payload
        )
        result = AttemptResult(
            http_status=response.status_code,
            ocpi_status=ocpi_status_of(payload),
            sent=headers,
            response=response,
        )
        if not result.ok:
            message = payload.get("status_message") if isinstance(payload, dict) else None
            result.error = message or response.text[:500] or f"HTTP {response.status_code}"
        return result

    async def _judge_failure(
        self,
        link: CpoLink,
        job: PushJob,
        request: PushRequest,
        url: str,
        attempts: int,
        result: AttemptResult,
    ) -> None:
        """A push that failed for good is a finding about the eMSP, except a refused PATCH
        (it may lack the object; its full-object fallback is judged) and a URL our own address
        policy refused."""
        if result.refused or (request.method == "PATCH" and result.http_status is not None):
            return
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if job.module == "commands" and job.absolute_url is not None:
            rule = "ocpi-command-result-failed"
        elif result.http_status is None:
            rule = "ocpi-push-unreachable"
        else:
            rule = "ocpi-push-rejected"
        if result.http_status is None:
            detail = (
                f"expected the eMSP to answer {request.method} {url} ({job.module}); no answer "
                f"came {tries} ({result.error})"
            )
        else:
            detail = (
                f"expected HTTP 2xx and status_code 1000 for the valid {job.module} object "
                f"({request.method} {url}); came HTTP {result.http_status}, status_code "
                f"{result.ocpi_status} ({result.error}) {tries}"
            )
        evidence = exchange_evidence(
            result.sent,
            request.body,
            result.response,
            method=request.method,
            url=url,
            error=result.error if result.response is None else None,
        )
        await self._core.record_findings(
            job.cpo_id, link.version, [OcpiObservation(rule, detail)], [evidence]
        )


def _join(base_url: str | None, path: str) -> str | None:
    if not base_url:
        return None
    return base_url.rstrip("/") + path if path else base_url


def _start_log(session: Session, row: ClaimedRow, request: PushRequest, url: str) -> int:
    job = row.job
    push_id = traffic_repo.start_push(
        session, job.cpo_id, job.module, request.method, url, job.object_key
    )
    outbox.set_push_log(session, row.id, push_id)
    return push_id


def _skip(
    session: Session,
    row: ClaimedRow,
    request: PushRequest,
    url: str,
    reason: str,
    state: str,
    now: datetime,
) -> None:
    job = row.job
    push_id = traffic_repo.start_push(
        session, job.cpo_id, job.module, request.method, url, job.object_key
    )
    traffic_repo.finish_push(
        session,
        push_id,
        outcome="skipped",
        attempts=0,
        http_status=None,
        ocpi_status=None,
        error=reason,
    )
    outbox.finish(session, row.id, state=state, attempts=row.attempts, error=reason, now=now)


def _end(
    session: Session,
    row_id: int,
    push_id: int,
    outcome: str,
    attempts: int,
    result: AttemptResult,
    now: datetime,
) -> None:
    outbox.finish(session, row_id, state=outcome, attempts=attempts, error=result.error, now=now)
    traffic_repo.finish_push(
        session,
        push_id,
        outcome=outcome,
        attempts=attempts,
        http_status=result.http_status,
        ocpi_status=result.ocpi_status,
        error=result.error,
    )


def _again(
    session: Session,
    row_id: int,
    push_id: int,
    attempts: int,
    phase_attempts: int,
    use_fallback: bool,
    next_attempt_at: datetime,
    result: AttemptResult,
) -> None:
    outbox.retry_later(
        session,
        row_id,
        attempts=attempts,
        phase_attempts=phase_attempts,
        use_fallback=use_fallback,
        next_attempt_at=next_attempt_at,
        error=result.error,
    )
    traffic_repo.finish_push(
        session,
        push_id,
        outcome="pending",
        attempts=attempts,
        http_status=result.http_status,
        ocpi_status=result.ocpi_status,
        error=result.error,
    )


def _dropped(session: Session, row_id: int, push_id: int | None, attempts: int) -> None:
    if push_id is not None:
        traffic_repo.finish_push(
            session,
            push_id,
            outcome="dropped",
            attempts=attempts,
            http_status=None,
            ocpi_status=None,
            error=DROPPED,
        )
    outbox.release_claim(session, row_id)
